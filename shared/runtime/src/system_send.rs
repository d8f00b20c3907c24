//! The service's own short messages to a chat (connect's replies, a
//! command's expiry notice), sent as system sends so they travel the same
//! durable path as the projects' (payment-verifier clears them, the
//! dispatcher delivers them within Telegram's limits).

use novij_bus::{AppendError, Expect};
use novij_events::integration::PaymentMode;
use novij_events::send::{OutgoingMessage, Priority, SendAccepted, SendOrigin};
use novij_events::{Envelope, EventMeta};

use crate::{derive, Runtime};

pub struct SystemSend<'a> {
    /// Derived from what it answers, so a retry finds it.
    pub send_id: String,
    pub bot_key: &'a str,
    pub chat_id: i64,
    pub text: &'a str,
    /// The message it answers.
    pub reply_to: Option<i64>,
    /// Why it is sent: its template is `system_<purpose>`.
    pub purpose: &'a str,
    pub owner: Owner,
}

/// Who a system send belongs to, when known.
#[derive(Debug, Clone, Default)]
pub struct Owner {
    pub project_id: Option<String>,
    pub integration_id: Option<String>,
    pub recipient_id: Option<String>,
}

/// Queues the send once: a retry finds it queued.
pub async fn queue(rt: &Runtime, meta: EventMeta, send: SystemSend<'_>) -> Result<(), AppendError> {
    let message = OutgoingMessage {
        media: Vec::new(),
        chat_id: send.chat_id,
        text: send.text.to_string(),
        parse_mode: None,
        reply_to: send.reply_to,
        buttons: Vec::new(),
    };
    let bytes = serde_json::to_vec(&message)?;
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(rt.config.retention.payload_seconds.into());
    let sealed = rt
        .payloads
        .seal(derive::purpose::OUTGOING_MESSAGE, &bytes, expires_at)
        .await
        .map_err(|e| AppendError::Unavailable(e.to_string()))?;
    let accepted = SendAccepted {
        uploads: Vec::new(),
        request_hash: derive::request_hash(&rt.keyring, send.send_id.as_bytes()),
        send_id: send.send_id,
        project_id: send.owner.project_id,
        integration_id: send.owner.integration_id,
        bot_key: send.bot_key.to_string(),
        recipient_id: send.owner.recipient_id,
        template: format!("system_{}", send.purpose),
        payment_mode: PaymentMode::None,
        origin: SendOrigin::System,
        priority: Priority::Interactive,
        locale: None,
        message: sealed,
        payment: None,
        send_at: None,
        broadcast_id: None,
    };
    match rt.log.append(&Envelope::new(accepted, meta), Expect::NoEvents).await {
        Ok(_) | Err(AppendError::Conflict) => Ok(()),
        Err(e) => Err(e),
    }
}
