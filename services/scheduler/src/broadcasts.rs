//! `scheduler-broadcasts`: a cleared broadcast (`broadcast.cleared`), once
//! due, becomes one bulk send per recipient still connected (`send.accepted`,
//! origin `broadcast`), then `broadcast.queued` with what was skipped. Its
//! sends then travel as any other (payment-verifier, dispatcher), behind the
//! interactive traffic of their bot.
//!
//! Each send's id is derived from the broadcast and the recipient, and its
//! append is fenced on the send having no events, so a redelivery after a
//! crash queues nothing twice. The broadcast is read again every so often:
//! a cancel stops the queueing (and the dispatcher takes none of the queued
//! sends off the queue after it).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Utc;
use futures::{stream, StreamExt};
use novij_aggregates::broadcast::{may_queue, Broadcast};
use novij_aggregates::integration::Integration;
use novij_aggregates::recipient::Recipient;
use novij_bus::{run_event_consumer, AppendError, Expect, Handled};
use novij_events::broadcast::{BroadcastCleared, BroadcastContent, BroadcastCreated, BroadcastQueued};
use novij_events::integration::PaymentMode;
use novij_events::media::uploads_of;
use novij_events::send::{OutgoingMessage, Priority, SendAccepted, SendOrigin};
use novij_events::status::RecipientStatus;
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::{derive, PayloadError, Runtime};
use novij_templates::{Locale, RenderContext};
use tokio::sync::watch;

const DURABLE: &str = "scheduler-broadcasts";
/// Sends made at once.
const PARALLEL: usize = 32;
/// Sends made between two looks at whether the broadcast was cancelled.
const CHUNK: usize = 500;

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    run_event_consumer(rt.jetstream.clone(), DURABLE, 4, shutdown, |cleared: Envelope<BroadcastCleared>, _| {
        let rt = rt.clone();
        async move { handle(&rt, &cleared).await }
    })
    .await
}

fn again(what: &str, error: &dyn std::fmt::Display) -> Handled {
    tracing::warn!(error = %error, "{what}; will retry");
    Handled::Retry(Duration::from_secs(1))
}

async fn handle(rt: &Runtime, cleared: &Envelope<BroadcastCleared>) -> Handled {
    let broadcast_id = &cleared.payload.broadcast_id;
    let broadcast = match rt.log.load::<Broadcast>(broadcast_id).await {
        Ok(loaded) => loaded.state,
        Err(e) => return again("cannot read the broadcast", &e),
    };
    let Some(created) = broadcast.created.clone().filter(|_| may_queue(&broadcast)) else { return Handled::Done };
    if let Some(wait) = created.send_at.and_then(|at| (at - Utc::now()).to_std().ok()) {
        return Handled::Retry(wait);
    }
    let meta = EventMeta::caused_by(cleared);
    let content: BroadcastContent = match rt.payloads.open(derive::purpose::BROADCAST_CONTENT, &created.content).await {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(content) => content,
            Err(e) => return Handled::Reject(format!("broadcast content unreadable: {e}")),
        },
        Err(PayloadError::Shredded) => {
            let skipped = BTreeMap::from([("payload_expired".to_string(), count(created.recipients.len()))]);
            return queued(rt, cleared, 0, skipped).await;
        }
        Err(e) => return again("cannot open the broadcast", &e),
    };
    let integration = match rt.log.load::<Integration>(&created.integration_id).await {
        Ok(loaded) => loaded.state,
        Err(e) => return again("cannot read the integration", &e),
    };
    let maker = Maker { rt, created: &created, content: &content, integration: &integration, meta };
    let (mut made, mut skipped) = (0u32, BTreeMap::<String, u32>::new());
    for chunk in created.recipients.chunks(CHUNK) {
        match rt.log.load::<Broadcast>(broadcast_id).await {
            Ok(now) if now.state.cancelled => {
                tracing::info!(broadcast_id = %broadcast_id, made, "broadcast cancelled while it was queued");
                break;
            }
            Ok(_) => {}
            Err(e) => return again("cannot read the broadcast", &e),
        }
        let maker = &maker;
        let outcomes: Vec<Result<Made, String>> = stream::iter(chunk.iter().cloned())
            .map(|recipient_id| async move { maker.make(recipient_id).await })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        for outcome in outcomes {
            match outcome {
                Ok(Made::Queued) => made += 1,
                Ok(Made::Skipped(reason)) => *skipped.entry(reason).or_default() += 1,
                Err(e) => return again("cannot queue a broadcast's send", &e),
            }
        }
    }
    tracing::info!(broadcast_id = %broadcast_id, made, skipped = skipped.values().sum::<u32>(), "broadcast queued");
    queued(rt, cleared, made, skipped).await
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

async fn queued(
    rt: &Runtime,
    cleared: &Envelope<BroadcastCleared>,
    made: u32,
    skipped: BTreeMap<String, u32>,
) -> Handled {
    let event = BroadcastQueued { broadcast_id: cleared.payload.broadcast_id.clone(), queued: made, skipped };
    let env = Envelope::new(event, EventMeta::caused_by(cleared))
        .with_event_id(ids::caused_event_id(&cleared.event_id.to_string(), "queued"));
    match rt.log.append(&env, Expect::Any).await {
        Ok(_) => Handled::Done,
        Err(e) => again("cannot record the broadcast queued", &e),
    }
}

enum Made {
    Queued,
    Skipped(String),
}

struct Maker<'a> {
    rt: &'a Runtime,
    created: &'a BroadcastCreated,
    content: &'a BroadcastContent,
    integration: &'a Integration,
    meta: EventMeta,
}

impl Maker<'_> {
    /// The send of one recipient, if it is still connected.
    async fn make(&self, recipient_id: String) -> Result<Made, String> {
        let (rt, created) = (self.rt, self.created);
        let send_id = derive::broadcast_send_id(&rt.keyring, &created.broadcast_id, &recipient_id);
        let recipient = rt.log.load::<Recipient>(&recipient_id).await.map_err(|e| e.to_string())?.state;
        let chat = match (recipient.status, &recipient.chat) {
            (Some(RecipientStatus::Active), Some(chat)) => chat,
            (status, _) => {
                let reason = recipient.reason.or(status.map(|s| s.to_string())).unwrap_or_else(|| "unknown".into());
                return Ok(Made::Skipped(reason));
            }
        };
        let mut vars = self.content.template_vars.clone();
        if let Some(own) = self.content.per_recipient.get(&recipient_id) {
            vars.extend(own.clone());
        }
        let ctx = RenderContext {
            locale: created.locale.parse::<Locale>().unwrap_or_default(),
            default_reminder_minutes: Some(self.integration.default_reminder_minutes),
        };
        let media = &self.content.media;
        let rendered = if media.is_empty() {
            novij_templates::render(&created.template, &vars, ctx)
        } else {
            novij_templates::render_caption(&created.template, &vars, ctx)
        };
        let rendered = match rendered {
            Ok(rendered) => rendered,
            // Checked when it was created: a template changed by a release since.
            Err(e) => return Ok(Made::Skipped(format!("template: {}", e.field))),
        };
        let opened = rt.keyring.open_owned(derive::purpose::CHAT_ID, &recipient_id, chat);
        let chat_id = match opened.map(|c| c.parse::<i64>()) {
            Ok(Ok(chat_id)) => chat_id,
            _ => return Ok(Made::Skipped("chat_unreadable".into())),
        };
        let message =
            OutgoingMessage::new(chat_id, rendered.text, rendered.parse_mode.map(str::to_string), media.clone());
        let plaintext = serde_json::to_vec(&message).map_err(|e| e.to_string())?;
        let expires_at = Utc::now() + chrono::Duration::seconds(rt.config.retention.payload_seconds.into());
        let sealed = rt
            .payloads
            .seal(derive::purpose::OUTGOING_MESSAGE, &plaintext, expires_at)
            .await
            .map_err(|e| e.to_string())?;
        let accepted = SendAccepted {
            uploads: uploads_of(media),
            request_hash: derive::request_hash(&rt.keyring, send_id.as_bytes()),
            send_id,
            project_id: Some(created.project_id.clone()),
            integration_id: Some(created.integration_id.clone()),
            bot_key: created.bot_key.clone(),
            recipient_id: Some(recipient_id),
            template: created.template.clone(),
            // Paid once, for the whole broadcast.
            payment_mode: PaymentMode::None,
            origin: SendOrigin::Broadcast,
            priority: Priority::Bulk,
            locale: Some(created.locale.clone()),
            message: sealed,
            payment: None,
            send_at: None,
            broadcast_id: Some(created.broadcast_id.clone()),
        };
        match rt.log.append(&Envelope::new(accepted, self.meta.clone()), Expect::NoEvents).await {
            // Conflict: made before a redelivery.
            Ok(_) | Err(AppendError::Conflict) => Ok(Made::Queued),
            Err(e) => Err(e.to_string()),
        }
    }
}
