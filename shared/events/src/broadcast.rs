//! The broadcast aggregate (`nt.ev.broadcast.<id>.*`): one message to many
//! connected recipients of an integration, fixed when it is created, sent as
//! bulk traffic, with progress and cancel.

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::send::{Clearance, FailureReason, PaymentClaim};
use crate::Event;

/// The most recipients one broadcast may have.
pub const MAX_RECIPIENTS: usize = 10_000;

/// What each recipient is sent, sealed as a whole (purpose
/// `broadcast_content`) with the data key of its expiry epoch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct BroadcastContent {
    /// The variables every recipient's message is rendered with.
    #[serde(default)]
    pub template_vars: serde_json::Map<String, serde_json::Value>,
    /// Per recipient (by recipient id), variables on top of those.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub per_recipient: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    /// The file or album every recipient gets; the rendered template is
    /// the (first item's) caption.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<crate::media::MediaItem>,
}

/// A project created a broadcast; its recipients are fixed from now on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BroadcastCreated {
    /// `brd_<keyed hash of project and idempotency key>`.
    pub broadcast_id: String,
    pub project_id: String,
    pub integration_id: String,
    pub bot_key: String,
    pub template: String,
    /// `ru` or `en`.
    pub locale: String,
    /// [`BroadcastContent`], sealed.
    pub content: Sealed,
    /// The recipient ids, each connected when the broadcast was created.
    pub recipients: Vec<String>,
    /// Keyed hash of the canonical request: the same idempotency key with
    /// another body is a conflict.
    pub request_hash: String,
    /// Present in payment mode `dsr`: price × `recipients.len()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentClaim>,
    /// Not before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<DateTime<Utc>>,
}

impl Event for BroadcastCreated {
    const AGGREGATE: &'static str = "broadcast";
    const NAME: &'static str = "created";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.broadcast_id
    }
}

/// Its payment is verified (or it needs none): it may go out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BroadcastCleared {
    pub broadcast_id: String,
    pub clearance: Clearance,
}

impl Event for BroadcastCleared {
    const AGGREGATE: &'static str = "broadcast";
    const NAME: &'static str = "cleared";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.broadcast_id
    }
}

/// Its payment was refused: nothing is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BroadcastRefused {
    pub broadcast_id: String,
    pub reason: FailureReason,
    pub detail: String,
}

impl Event for BroadcastRefused {
    const AGGREGATE: &'static str = "broadcast";
    const NAME: &'static str = "refused";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.broadcast_id
    }
}

/// Its sends were queued, one per recipient still connected; the others
/// were skipped, counted by why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BroadcastQueued {
    pub broadcast_id: String,
    pub queued: u32,
    /// Recipients not connected any more, or their chat unreadable, by reason.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped: std::collections::BTreeMap<String, u32>,
}

impl Event for BroadcastQueued {
    const AGGREGATE: &'static str = "broadcast";
    const NAME: &'static str = "queued";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.broadcast_id
    }
}

/// The project cancelled it: no send of it is taken off the queue any more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BroadcastCancelled {
    pub broadcast_id: String,
}

impl Event for BroadcastCancelled {
    const AGGREGATE: &'static str = "broadcast";
    const NAME: &'static str = "cancelled";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.broadcast_id
    }
}
