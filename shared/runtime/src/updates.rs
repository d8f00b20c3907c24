//! Storing a Telegram update in `TG_UPDATES`, whether it came to the webhook
//! (ingress) or from getUpdates (the dispatcher's poller): sealed, on the
//! bot's subject (button presses on their own, so they never wait behind
//! other updates), deduplicated by `update_id` for the stream's 24-hour window,
//! so an update Telegram hands out twice is stored once.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage as Publish;
use chrono::Utc;
use novij_events::subjects;
use novij_events::update::UpdateReceived;
use serde::Deserialize;

use crate::derive::purpose;
use crate::Runtime;

#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("not a Telegram update with an integer update_id")]
    NotAnUpdate,
    #[error("cannot seal the update: {0}")]
    Seal(#[from] novij_crypto::KeyringError),
    #[error("the update queue did not take it: {0}")]
    Queue(String),
}

#[derive(Deserialize)]
struct UpdateHead {
    update_id: i64,
    #[serde(default)]
    callback_query: Option<serde::de::IgnoredAny>,
}

/// What was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub update_id: i64,
    /// Telegram gave it before: dropped as a duplicate.
    pub duplicate: bool,
}

/// Stores `raw` (one update, as Telegram sent it) for `bot_key`; returns once
/// JetStream has it.
pub async fn enqueue(rt: &Runtime, bot_key: &str, raw: &[u8]) -> Result<Enqueued, EnqueueError> {
    let head: UpdateHead = serde_json::from_slice(raw).map_err(|_| EnqueueError::NotAnUpdate)?;
    let received = UpdateReceived {
        bot_key: bot_key.to_string(),
        update_id: head.update_id,
        received_at: Utc::now(),
        update: rt.keyring.seal(purpose::TELEGRAM_UPDATE, raw)?,
    };
    let payload = serde_json::to_vec(&received).map_err(|e| EnqueueError::Queue(e.to_string()))?;
    let publish = Publish::build().payload(payload.into()).message_id(received.message_id());
    let subject = if head.callback_query.is_some() { subjects::callback(bot_key) } else { subjects::update(bot_key) };
    let ack = novij_bus::publish_acked(&rt.jetstream, subject, publish, Duration::from_secs(5))
        .await
        .map_err(|e| EnqueueError::Queue(e.to_string()))?;
    Ok(Enqueued { update_id: head.update_id, duplicate: ack.duplicate })
}
