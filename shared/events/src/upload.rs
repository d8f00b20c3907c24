//! The upload aggregate (`nt.ev.upload.<id>.*`): a file a project uploaded
//! for its messages, kept sealed in NATS object storage until every send
//! that uses it has ended or expired, then removed.

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;

/// The file was stored, sealed in chunks under its own data key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadStored {
    /// `upl_<random>`, also the object's name in the `uploads` bucket.
    pub upload_id: String,
    pub project_id: String,
    /// Bytes of the file as uploaded.
    pub size: u64,
    /// As the client declared it (`application/octet-stream` when it did not).
    pub content_type: String,
    /// The file name the client gave, sealed (purpose `upload_filename`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<Sealed>,
    /// The data key the chunks are sealed with, wrapped by the master key (purpose `upload_key`).
    pub key: Sealed,
    /// How many sealed chunks the object holds, so a truncated object is noticed.
    pub chunks: u32,
    /// Removed unused after this instant, unless a send claims it first.
    pub unused_until: DateTime<Utc>,
}

impl Event for UploadStored {
    const AGGREGATE: &'static str = "upload";
    const NAME: &'static str = "stored";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.upload_id
    }
}

/// A send or broadcast (`user`) will use the file: it is kept until that
/// user has ended, or until `until` (when its message expires) at the latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadClaimed {
    pub upload_id: String,
    /// A send id (`snd_…`) or a broadcast id (`brd_…`).
    pub user: String,
    pub until: DateTime<Utc>,
}

impl Event for UploadClaimed {
    const AGGREGATE: &'static str = "upload";
    const NAME: &'static str = "claimed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.upload_id
    }
}

/// Telegram stored the file for a bot: that bot's later sends use this
/// `file_id` instead of uploading it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadFileIdLearned {
    pub upload_id: String,
    pub bot_key: String,
    /// Sealed (purpose `file_id`): with the bot's token, it fetches the file.
    pub file_id: Sealed,
}

impl Event for UploadFileIdLearned {
    const AGGREGATE: &'static str = "upload";
    const NAME: &'static str = "file_id_learned";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.upload_id
    }
}

crate::labelled_enum! {
    pub enum UploadRemovalReason {
        /// Every send that used it has ended or expired.
        UsesEnded = "uses_ended",
        /// No send used it before `unused_until`.
        Unused = "unused",
    }
}

/// The file is gone from object storage; later sends naming it are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UploadRemoved {
    pub upload_id: String,
    pub reason: UploadRemovalReason,
}

impl Event for UploadRemoved {
    const AGGREGATE: &'static str = "upload";
    const NAME: &'static str = "removed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.upload_id
    }
}
