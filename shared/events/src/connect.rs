//! The connect-code aggregate: one-time deep-link codes binding a chat to a user.
//!
//! The aggregate id is a keyed hash of the code, so the log never holds a code
//! that could be redeemed by whoever reads it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;

/// A code was issued for `public_user_ref` of an integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectCodeIssued {
    /// `cc_<keyed hash of the code>`.
    pub code_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub bot_key: String,
    pub public_user_ref: String,
    pub expires_at: DateTime<Utc>,
}

impl Event for ConnectCodeIssued {
    const AGGREGATE: &'static str = "connect_code";
    const NAME: &'static str = "issued";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.code_id
    }
}

/// The code was used by a chat. Appended with a fence on the code's aggregate, so
/// a code is redeemed at most once however many connect instances race.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectCodeRedeemed {
    pub code_id: String,
    pub integration_id: String,
    pub recipient_id: String,
    /// Keyed hash of the redeeming chat, so a retry of the same update is recognised.
    pub chat_hash: String,
}

impl Event for ConnectCodeRedeemed {
    const AGGREGATE: &'static str = "connect_code";
    const NAME: &'static str = "redeemed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.code_id
    }
}
