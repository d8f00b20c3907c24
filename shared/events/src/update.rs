//! Raw Telegram updates as queued by the webhook intake for the connect service.
//! A work item, not an event: it is consumed once and removed.

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One update as Telegram posted it, sealed (purpose `telegram_update`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateReceived {
    pub bot_key: String,
    pub update_id: i64,
    pub received_at: DateTime<Utc>,
    pub update: Sealed,
}

impl UpdateReceived {
    /// `Nats-Msg-Id` of the update: duplicates within the stream's window are dropped.
    pub fn message_id(&self) -> String {
        format!("{}:{}", self.bot_key, self.update_id)
    }
}
