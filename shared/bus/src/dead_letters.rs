//! The dead-letter stream: sends that exhausted their attempts.
//!
//! `send.dead_lettered` on the log is the record; the dispatcher files each one
//! as an entry of `DEAD_LETTERS` (one per send). A retry appends a new
//! `send.queued` fenced on the dead-lettered event — so two operators retrying
//! at once queue it once — and then removes the entry.

use async_nats::jetstream::{self, consumer::pull::OrderedConfig, consumer::DeliverPolicy};
use futures::StreamExt;
use novij_events::send::{Clearance, DeadLetter, SendQueued};
use novij_events::{ids, subjects, Envelope, EventMeta};

use crate::{AppendError, EventLog, Expect};

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("NATS: {0}")]
    Nats(String),
    #[error("dead-letter entry at sequence {0} cannot be read: {1}")]
    Decode(u64, serde_json::Error),
    #[error("no dead letter for send {0}")]
    NotFound(String),
    #[error("event log: {0}")]
    Append(#[from] AppendError),
}

fn nats(e: impl std::fmt::Display) -> DeadLetterError {
    DeadLetterError::Nats(e.to_string())
}

/// Every waiting dead letter, oldest first.
pub async fn list(js: &jetstream::Context) -> Result<Vec<DeadLetter>, DeadLetterError> {
    let mut stream = js.get_stream(subjects::DEAD_LETTERS_STREAM).await.map_err(nats)?;
    let info = stream.info().await.map_err(nats)?;
    if info.state.messages == 0 {
        return Ok(Vec::new());
    }
    let last = info.state.last_sequence;
    let consumer = stream
        .create_consumer(OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() })
        .await
        .map_err(nats)?;
    let mut messages = consumer.messages().await.map_err(nats)?;
    let mut out = Vec::new();
    while let Some(msg) = tokio::time::timeout(std::time::Duration::from_secs(5), messages.next())
        .await
        .map_err(|_| DeadLetterError::Nats("the dead-letter stream stopped delivering".into()))?
    {
        let msg = msg.map_err(nats)?;
        let seq = msg.info().map_err(nats)?.stream_sequence;
        out.push(serde_json::from_slice(&msg.payload).map_err(|e| DeadLetterError::Decode(seq, e))?);
        if seq >= last {
            break;
        }
    }
    Ok(out)
}

/// Queues a dead-lettered send again and removes its entry. Returns whether
/// this call queued it (false: it had already been retried).
pub async fn retry(log: &EventLog, letter: &DeadLetter, correlation_id: &str) -> Result<bool, DeadLetterError> {
    let queued = SendQueued {
        send_id: letter.event.send_id.clone(),
        bot_key: letter.event.bot_key.clone(),
        clearance: Clearance::RetriedFromDeadLetter,
        priority: letter.event.priority,
    };
    let env = Envelope::new(queued, EventMeta::new(correlation_id))
        .with_event_id(ids::caused_event_id(&format!("dlq:{}:{}", letter.event.send_id, letter.sequence), "retry"));
    let queued_now = match log.append(&env, Expect::LastSequence(letter.sequence)).await {
        Ok(appended) => !appended.duplicate,
        Err(AppendError::Conflict) => false,
        Err(e) => return Err(e.into()),
    };
    let stream = log.jetstream().get_stream(subjects::DEAD_LETTERS_STREAM).await.map_err(nats)?;
    stream.purge().filter(subjects::dead_letter(&letter.event.send_id)).await.map_err(nats)?;
    Ok(queued_now)
}

/// Retries one send's dead letter by send id.
pub async fn retry_one(log: &EventLog, send_id: &str, correlation_id: &str) -> Result<bool, DeadLetterError> {
    let letter = list(log.jetstream())
        .await?
        .into_iter()
        .find(|l| l.event.send_id == send_id)
        .ok_or_else(|| DeadLetterError::NotFound(send_id.to_string()))?;
    retry(log, &letter, correlation_id).await
}
