//! `connect-inbound-webhooks`: each inbound message (`inbound.received`, and
//! `inbound.redelivery_requested` when a dead letter is asked for again) is
//! POSTed to its integration's `inbound_webhook_url`, signed the Standard
//! Webhooks way with every secret in use (`novij_project_webhooks`).
//!
//! Each call's outcome is an event (`inbound.delivered`, `delivery_failed`
//! with the time of the next call, `dead_lettered` after the last call of
//! the schedule, `INBOUND_WEBHOOK_RETRIES`); between calls the message waits
//! in JetStream (a nak with that delay), so nothing here holds it in memory.
//! Where a round stands is read from the message's events, not from how often
//! JetStream delivered it. A process that dies between a receiver's 2xx and
//! the record calls once more: `webhook-id` is the same, for the receiver to
//! drop the repeat (at least once, as every webhook sender).

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage as Publish;
use chrono::Utc;
use novij_aggregates::inbound::{decide, Inbound, InboundChange, InboundCommand, Outcome};
use novij_aggregates::integration::Integration;
use novij_aggregates::Loaded;
use novij_bus::cache::AggregateCache;
use novij_bus::{run_consumer, undecodable, AppendError, Expect, Handled};
use novij_events::inbound::{
    InboundContent, InboundDeadLetter, InboundDeadLettered, InboundReceived, InboundWebhookBody, InboundWebhookData,
    WebhookFailure,
};
use novij_events::{subjects, AnyEvent, Envelope, EventMeta};
use novij_project_webhooks::{address, post, AllowList, Failed, Refusal, Request, Secret};
use novij_runtime::derive::purpose;
use novij_runtime::{PayloadError, Runtime};
use tokio::sync::watch;

const DURABLE: &str = "connect-inbound-webhooks";

/// A pause for what is not the receiver's fault (the log, the key store).
const AGAIN: Duration = Duration::from_secs(1);

#[derive(Clone)]
struct Deliverer {
    rt: Runtime,
    integrations: AggregateCache<Integration>,
    allow: AllowList,
}

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    let integrations = AggregateCache::start(rt.log.clone(), rt.jetstream.clone(), shutdown.clone()).await;
    let allow = AllowList::new(rt.config.inbound_webhooks.allow.clone());
    let d = Deliverer { rt: rt.clone(), integrations, allow };
    run_consumer(rt.jetstream.clone(), subjects::EVENTS_STREAM, DURABLE, 32, shutdown, move |msg| {
        let d = d.clone();
        async move {
            let outcome = match AnyEvent::from_slice(&msg.payload) {
                Ok(AnyEvent::InboundReceived(e)) => {
                    deliver(&d, &e.payload.message_id, 1, EventMeta::caused_by(&e)).await
                }
                Ok(AnyEvent::InboundRedeliveryRequested(e)) => {
                    deliver(&d, &e.payload.message_id, e.payload.round, EventMeta::caused_by(&e)).await
                }
                Ok(_) => Handled::Done,
                Err(e) => undecodable(&e),
            };
            (msg, outcome)
        }
    })
    .await
}

/// One call of round `round`, if the round is still on.
async fn deliver(d: &Deliverer, message_id: &str, round: u32, meta: EventMeta) -> Handled {
    let Loaded { state: inbound, .. } = match d.rt.log.load::<Inbound>(message_id).await {
        Ok(loaded) => loaded,
        Err(e) => return again("cannot read the message's history", &e),
    };
    let Some(received) = inbound.received.clone() else { return Handled::Done };
    if inbound.round != round || inbound.delivered {
        return Handled::Done;
    }
    if inbound.dead_lettered {
        // Recorded, but the entry may not be filed yet.
        return file_dead_letter(d, message_id).await;
    }
    let integration = match d.integrations.get(&received.integration_id).await {
        Ok(loaded) => loaded.state,
        Err(e) => return again("cannot read the integration", &e),
    };
    let Some(url) = integration.inbound.url.clone().filter(|_| integration.is_live()) else {
        // No receiver (any more): the message stays on the feed and by id.
        return Handled::Done;
    };
    let body = match body(d, &received).await {
        Ok(Some(body)) => body,
        Ok(None) => {
            tracing::info!(message_id, "inbound message expired before it was delivered");
            return Handled::Done;
        }
        Err(handled) => return handled,
    };
    let secrets = match secrets(d, &integration) {
        Ok(secrets) => secrets,
        Err(handled) => return handled,
    };
    let request = Request { id: message_id, timestamp: Utc::now().timestamp(), body: &body, secrets: &secrets };
    let called = match address::resolve(&url, &d.allow).await {
        Ok(target) => post(&target, &request, d.rt.config.inbound_webhooks.timeout).await,
        Err(refusal) => Err(refused(refusal)),
    };
    let outcome = match called {
        Ok(status) => Outcome::Delivered { status },
        Err(failed) => {
            let wait = d.rt.config.inbound_webhooks.retries.get(inbound.round_attempts as usize).copied();
            let retry_at = wait.and_then(|w| chrono::Duration::from_std(w).ok()).map(|w| Utc::now() + w);
            tracing::info!(
                message_id,
                reason = failed.reason.as_str(),
                last = retry_at.is_none(),
                "inbound webhook call failed"
            );
            Outcome::Failed { reason: failed.reason, detail: failed.detail, retry_at }
        }
    };
    record(d, message_id, round, outcome, meta).await
}

/// Records a call's outcome, fenced on the message's history (a change in
/// between is read and decided again, without calling again).
async fn record(d: &Deliverer, message_id: &str, round: u32, outcome: Outcome, meta: EventMeta) -> Handled {
    loop {
        let Loaded { state, version } = match d.rt.log.load::<Inbound>(message_id).await {
            Ok(loaded) => loaded,
            Err(e) => return again("cannot read the message's history", &e),
        };
        let change = match decide(&state, InboundCommand::Record { round, outcome: outcome.clone() }) {
            Ok(Some(change)) => change,
            Ok(None) | Err(_) => return Handled::Done,
        };
        let (appended, next) = match change {
            InboundChange::Delivered(e) => (append(d, e, &meta, version).await, Handled::Done),
            InboundChange::Failed(e) => {
                let wait = (e.retry_at - Utc::now()).to_std().unwrap_or_default();
                (append(d, e, &meta, version).await, Handled::Retry(wait))
            }
            InboundChange::DeadLettered(e) => {
                tracing::warn!(message_id, attempts = e.attempts, "inbound message dead-lettered");
                match append(d, e, &meta, version).await {
                    Ok(()) => return file_dead_letter(d, message_id).await,
                    Err(e) => (Err(e), Handled::Done),
                }
            }
            InboundChange::RedeliveryRequested(_) => return Handled::Done,
        };
        match appended {
            Ok(()) => return next,
            Err(AppendError::Conflict) => continue,
            Err(e) => return again("cannot record the call", &e),
        }
    }
}

async fn append<E: novij_events::Event>(
    d: &Deliverer,
    event: E,
    meta: &EventMeta,
    version: u64,
) -> Result<(), AppendError> {
    d.rt.log.append(&Envelope::new(event, meta.clone()), Expect::LastSequence(version)).await.map(|_| ())
}

/// Files the message's entry in `DEAD_LETTERS` (deduplicated by the event's id).
async fn file_dead_letter(d: &Deliverer, message_id: &str) -> Handled {
    let last = match d.rt.log.last::<InboundDeadLettered>(message_id).await {
        Ok(Some((event, _))) => event,
        Ok(None) => return Handled::Done,
        Err(e) => return again("cannot read the dead letter", &e),
    };
    let letter = InboundDeadLetter { event: last.payload.clone(), dead_lettered_at: last.occurred_at };
    let payload = match serde_json::to_vec(&letter) {
        Ok(p) => p,
        Err(e) => return Handled::Reject(e.to_string()),
    };
    let publish = Publish::build().payload(payload.into()).message_id(last.event_id.to_string());
    let subject = subjects::inbound_dead_letter(message_id);
    match novij_bus::publish_acked(&d.rt.jetstream, subject, publish, Duration::from_secs(5)).await {
        Ok(_) => Handled::Done,
        Err(e) => again("cannot file the dead letter", &e),
    }
}

/// The JSON the receiver gets; `None` when the content was shredded.
async fn body(d: &Deliverer, received: &InboundReceived) -> Result<Option<Vec<u8>>, Handled> {
    let content: InboundContent = match d.rt.payloads.open(purpose::INBOUND_MESSAGE, &received.content).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Handled::Reject(e.to_string()))?,
        Err(PayloadError::Shredded) => return Ok(None),
        Err(e) => return Err(again("cannot open the message", &e)),
    };
    let body = InboundWebhookBody {
        kind: InboundWebhookBody::MESSAGE_RECEIVED.to_string(),
        timestamp: received.received_at,
        data: InboundWebhookData {
            message_id: received.message_id.clone(),
            integration_id: received.integration_id.clone(),
            public_user_ref: received.from.clone(),
            chat_kind: received.chat_kind,
            text: content.text,
            media: content.media,
        },
    };
    serde_json::to_vec(&body).map(Some).map_err(|e| Handled::Reject(e.to_string()))
}

/// The integration's secrets in use now, opened.
fn secrets(d: &Deliverer, integration: &Integration) -> Result<Vec<Secret>, Handled> {
    integration
        .inbound
        .signing_secrets(Utc::now())
        .into_iter()
        .map(|sealed| {
            let text =
                d.rt.keyring
                    .open_owned(purpose::INBOUND_SECRET, &integration.integration_id, sealed)
                    .map_err(|e| again("cannot open a secret", &e))?;
            Secret::parse(&text).map_err(|e| Handled::Reject(format!("a stored inbound secret is unreadable: {e}")))
        })
        .collect()
}

/// An address the URL may not be called at is the call's failure, retried
/// as any other (DNS may change back).
fn refused(refusal: Refusal) -> Failed {
    let reason = match refusal {
        Refusal::Unresolved(_) => WebhookFailure::Connect,
        Refusal::Form | Refusal::NotHttps | Refusal::Internal(_) => WebhookFailure::AddressRefused,
    };
    Failed { reason, detail: refusal.to_string() }
}

fn again(what: &str, error: &dyn std::fmt::Display) -> Handled {
    tracing::warn!(error = %error, "{what}; will retry");
    Handled::Retry(AGAIN)
}
