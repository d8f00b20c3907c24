//! `dispatcher-queued`: `send.queued` → sendMessage → `send.sent` | `send.failed`.
//!
//! Before calling Telegram it checks the log for an outcome, and it records the
//! outcome fenced on the queued event, so a redelivered message is not sent
//! again once its outcome is on the log. The window left is a crash between
//! Telegram's answer and the append: that message is sent again on redelivery.

use std::time::Duration;

use async_nats::jetstream::Message;
use novij_bus::{consume::stream_sequence, run_consumer, AppendError, Expect, Handled};
use novij_events::send::{MessageSent, OutgoingMessage, SendAccepted, SendFailed, SendQueued};
use novij_events::{ids, subjects, Envelope, Event, EventMeta};
use novij_runtime::derive::purpose;
use novij_telegram_client::{BotApiErrorKind, ForbiddenReason, SendMessage};
use tokio::sync::watch;

use crate::Dispatcher;

const DURABLE: &str = "dispatcher-queued";

pub async fn run(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    run_consumer(d.rt.jetstream.clone(), subjects::EVENTS_STREAM, DURABLE, shutdown, |msg| {
        let d = d.clone();
        async move {
            let outcome = match serde_json::from_slice::<Envelope<SendQueued>>(&msg.payload) {
                Ok(queued) => handle(&d, &queued, &msg).await,
                Err(e) => Handled::Reject(format!("undecodable send.queued: {e}")),
            };
            (msg, outcome)
        }
    })
    .await
}

fn retry(reason: &str, error: &dyn std::fmt::Display, delay: Duration) -> Handled {
    tracing::warn!(reason, error = %error, "delivery postponed");
    Handled::Retry(delay)
}

/// Exponential backoff by delivery count, 1 s doubling to 60 s.
fn backoff(delivered: i64) -> Duration {
    Duration::from_secs(1u64 << delivered.clamp(1, 7).saturating_sub(1)).min(Duration::from_secs(60))
}

async fn handle(d: &Dispatcher, queued: &Envelope<SendQueued>, msg: &Message) -> Handled {
    let send_id = &queued.payload.send_id;
    let queued_seq = stream_sequence(msg);
    let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
    match d.rt.log.last_sequence(SendQueued::AGGREGATE, send_id).await {
        Ok(Some(last)) if last > queued_seq => return Handled::Done,
        Ok(_) => {}
        Err(e) => return retry("log_unavailable", &e, Duration::from_secs(1)),
    }
    let accepted = match d.rt.log.last::<SendAccepted>(send_id).await {
        Ok(Some((accepted, _))) => accepted,
        Ok(None) => return Handled::Reject(format!("send {send_id} has no accepted event")),
        Err(e) => return retry("log_unavailable", &e, Duration::from_secs(1)),
    };
    let message: OutgoingMessage = match d
        .rt
        .keyring
        .open(purpose::OUTGOING_MESSAGE, &accepted.payload.message)
        .map_err(|e| e.to_string())
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => return fail(d, queued, queued_seq, "payload_unreadable", &e, 0).await,
    };
    let token = match d.bots.token(&queued.payload.bot_key).await {
        Ok(t) => t,
        Err(e) => return retry("bot_unavailable", &e, Duration::from_secs(30)),
    };
    let attempts = delivered.max(1) as u32;
    let params = SendMessage { chat_id: message.chat_id, text: message.text, parse_mode: message.parse_mode };
    match d.api.send_message(&token, &params).await {
        Ok(sent) => {
            tracing::info!(send_id = %send_id, attempts, "message sent");
            let event = MessageSent { send_id: send_id.clone(), telegram_message_id: sent.message_id, attempts };
            record(d, queued, queued_seq, event).await
        }
        Err(e) => match e.kind() {
            BotApiErrorKind::RetryAfter(secs) => retry("rate_limited", &e, Duration::from_secs(secs)),
            kind if kind.is_transient() => retry("telegram_unavailable", &e, backoff(delivered)),
            // A bad token is fixed by an operator, not by the user: keep the send.
            BotApiErrorKind::Unauthorized => retry("bot_unauthorized", &e, Duration::from_secs(60)),
            kind => fail(d, queued, queued_seq, failure_reason(kind), e.description(), attempts).await,
        },
    }
}

/// The machine-readable reason of a permanent Bot API failure.
fn failure_reason(kind: BotApiErrorKind) -> &'static str {
    match kind {
        BotApiErrorKind::Forbidden(ForbiddenReason::BotBlocked) => "recipient_blocked",
        BotApiErrorKind::Forbidden(ForbiddenReason::UserDeactivated) => "recipient_deactivated",
        BotApiErrorKind::Forbidden(ForbiddenReason::BotKicked) => "bot_kicked",
        BotApiErrorKind::Forbidden(ForbiddenReason::CannotInitiate) => "recipient_not_started",
        BotApiErrorKind::Forbidden(ForbiddenReason::Other) => "forbidden",
        BotApiErrorKind::ChatNotFound => "chat_not_found",
        BotApiErrorKind::ChatMigrated(_) => "chat_migrated",
        _ => "rejected_by_telegram",
    }
}

async fn fail(
    d: &Dispatcher,
    queued: &Envelope<SendQueued>,
    queued_seq: u64,
    reason: &str,
    detail: &str,
    attempts: u32,
) -> Handled {
    tracing::warn!(send_id = %queued.payload.send_id, reason, "send failed");
    let event = SendFailed {
        send_id: queued.payload.send_id.clone(),
        reason: reason.to_string(),
        detail: detail.to_string(),
        attempts,
    };
    record(d, queued, queued_seq, event).await
}

async fn record<E: Event>(d: &Dispatcher, queued: &Envelope<SendQueued>, queued_seq: u64, event: E) -> Handled {
    let env = Envelope::new(event, EventMeta::caused_by(queued))
        .with_event_id(ids::caused_event_id(&queued.event_id.to_string(), "outcome"));
    match d.rt.log.append(&env, Expect::LastSequence(queued_seq)).await {
        Ok(_) | Err(AppendError::Conflict) => Handled::Done,
        Err(e) => retry("log_unavailable", &e, Duration::from_secs(1)),
    }
}
