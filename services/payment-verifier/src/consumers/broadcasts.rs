//! `payment-verifier-broadcasts`: each `broadcast.created` → `broadcast.cleared`
//! at once when it is free, or once its transaction (price × its recipients,
//! one transaction for the whole broadcast) is verified and claimed
//! (`crate::ledger`); `broadcast.refused` when it is not.
//!
//! The outcome's event id is derived from the creating event, so a
//! redelivery records nothing twice, and the broadcast takes the first
//! outcome only.

use std::time::Duration;

use novij_bus::{run_event_consumer, Expect, Handled};
use novij_events::broadcast::{BroadcastCleared, BroadcastCreated, BroadcastRefused};
use novij_events::send::Clearance;
use novij_events::{ids, Envelope, Event, EventMeta};
use tokio::sync::watch;

use super::settle;
use crate::ledger::{Claimant, Payment, Verifier};

const DURABLE: &str = "payment-verifier-broadcasts";

pub async fn run(v: Verifier, shutdown: watch::Receiver<bool>) {
    run_event_consumer(v.rt.jetstream.clone(), DURABLE, 64, shutdown, |created: Envelope<BroadcastCreated>, at| {
        let v = v.clone();
        async move { handle(&v, &created, at.times).await }
    })
    .await
}

async fn handle(v: &Verifier, created: &Envelope<BroadcastCreated>, delivered: u64) -> Handled {
    let broadcast = &created.payload;
    let broadcast_id = broadcast.broadcast_id.clone();
    let caused = |what| ids::caused_event_id(&created.event_id.to_string(), what);
    let cause = EventMeta::caused_by(created);
    let Some(claim) = &broadcast.payment else {
        let cleared = BroadcastCleared { broadcast_id, clearance: Clearance::NoPaymentRequired };
        return append(v, Envelope::new(cleared, cause).with_event_id(caused("cleared"))).await;
    };
    let claimant = Claimant { id: &broadcast.broadcast_id, accepted_at: created.occurred_at, cause, delivered };
    let payment = match v.verify(&claimant, claim).await {
        Ok(payment) => payment,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record a payment; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    };
    match payment {
        Payment::AskAgain(after) => Handled::Retry(after),
        Payment::Cleared(clearance) => {
            let cleared = BroadcastCleared { broadcast_id, clearance };
            append(v, Envelope::new(cleared, claimant.cause).with_event_id(caused("cleared"))).await
        }
        Payment::Refused(reason, detail) => {
            tracing::info!(broadcast_id = %broadcast_id, reason = reason.as_str(), "broadcast payment refused");
            let refused = BroadcastRefused { broadcast_id, reason, detail };
            append(v, Envelope::new(refused, claimant.cause).with_event_id(caused("payment_refused"))).await
        }
    }
}

async fn append<E: Event>(v: &Verifier, env: Envelope<E>) -> Handled {
    settle(v.rt.log.append(&env, Expect::Any).await)
}
