//! `payment-verifier-accepted`: `send.accepted` → `send.queued` (or
//! `send.scheduled` for a reminder) once cleared, `send.failed` when a payment
//! is refused (`crate::ledger`). Every outcome on the send is fenced on the
//! accepted event, so a redelivery finds the work done.

use std::time::Duration;

use chrono::Utc;
use novij_bus::{run_event_consumer, Expect, Handled};
use novij_events::send::{Clearance, FailureReason, SendAccepted, SendFailed, SendQueued, SendScheduled};
use novij_events::{ids, Envelope, EventMeta};
use tokio::sync::watch;

use super::settle;
use crate::ledger::{Claimant, Payment, Verifier};

const DURABLE: &str = "payment-verifier-accepted";

pub async fn run(v: Verifier, shutdown: watch::Receiver<bool>) {
    run_event_consumer(v.rt.jetstream.clone(), DURABLE, 64, shutdown, |accepted: Envelope<SendAccepted>, at| {
        let v = v.clone();
        async move { handle(&v, &accepted, at.sequence, at.times).await }
    })
    .await
}

async fn handle(v: &Verifier, accepted: &Envelope<SendAccepted>, sequence: u64, delivered: u64) -> Handled {
    let clearance = match &accepted.payload.payment {
        None => Clearance::NoPaymentRequired,
        Some(claim) => {
            let claimant = Claimant {
                id: &accepted.payload.send_id,
                accepted_at: accepted.occurred_at,
                cause: EventMeta::caused_by(accepted),
                delivered,
            };
            match v.verify(&claimant, claim).await {
                Ok(Payment::Cleared(c)) => c,
                Ok(Payment::Refused(reason, detail)) => return refuse(v, accepted, sequence, reason, detail).await,
                Ok(Payment::AskAgain(after)) => return Handled::Retry(after),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot record a payment; will retry");
                    return Handled::Retry(Duration::from_secs(1));
                }
            }
        }
    };
    let p = &accepted.payload;
    let meta = EventMeta::caused_by(accepted);
    let result = match p.send_at.filter(|at| *at > Utc::now()) {
        Some(send_at) => {
            let scheduled = SendScheduled {
                send_id: p.send_id.clone(),
                bot_key: p.bot_key.clone(),
                send_at,
                clearance,
                priority: p.priority,
            };
            let env = Envelope::new(scheduled, meta)
                .with_event_id(ids::caused_event_id(&accepted.event_id.to_string(), "scheduled"));
            v.rt.log.append(&env, Expect::LastSequence(sequence)).await
        }
        None => {
            let queued =
                SendQueued { send_id: p.send_id.clone(), bot_key: p.bot_key.clone(), clearance, priority: p.priority };
            let env = Envelope::new(queued, meta)
                .with_event_id(ids::caused_event_id(&accepted.event_id.to_string(), "queued"));
            v.rt.log.append(&env, Expect::LastSequence(sequence)).await
        }
    };
    settle(result)
}

async fn refuse(
    v: &Verifier,
    accepted: &Envelope<SendAccepted>,
    sequence: u64,
    reason: FailureReason,
    detail: String,
) -> Handled {
    tracing::info!(send_id = %accepted.payload.send_id, reason = reason.as_str(), "payment refused");
    let failed = SendFailed { send_id: accepted.payload.send_id.clone(), reason, detail, attempts: 0 };
    let env = Envelope::new(failed, EventMeta::caused_by(accepted))
        .with_event_id(ids::caused_event_id(&accepted.event_id.to_string(), "payment_refused"));
    settle(v.rt.log.append(&env, Expect::LastSequence(sequence)).await)
}
