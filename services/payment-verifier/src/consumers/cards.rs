//! `payment-verifier-cards`: a paid alert card (`incident.card_opened` with a
//! payment, in mode `dsr`) → `incident.card_cleared` once its transaction is
//! verified and claimed (`crate::ledger`), `incident.card_refused` when it is
//! not. Free cards pass without a word.
//!
//! The incident keeps changing while a payment is checked, so the outcome is
//! not fenced on it: its event id is derived from the opening event (a
//! redelivery within the stream's duplicate window is dropped), and the
//! incident takes the first outcome of a card and ignores any later one.

use std::time::Duration;

use novij_bus::{run_event_consumer, Expect, Handled};
use novij_events::incident::{CardCleared, CardOpened, CardRefused};
use novij_events::{ids, Envelope, Event, EventMeta};
use tokio::sync::watch;

use super::settle;
use crate::ledger::{Claimant, Payment, Verifier};

const DURABLE: &str = "payment-verifier-cards";

pub async fn run(v: Verifier, shutdown: watch::Receiver<bool>) {
    run_event_consumer(v.rt.jetstream.clone(), DURABLE, 64, shutdown, |opened: Envelope<CardOpened>, at| {
        let v = v.clone();
        async move { handle(&v, &opened, at.times).await }
    })
    .await
}

async fn handle(v: &Verifier, opened: &Envelope<CardOpened>, delivered: u64) -> Handled {
    let card = &opened.payload;
    let Some(claim) = &card.payment else { return Handled::Done };
    let claimant = Claimant {
        id: &card.alert_id,
        accepted_at: opened.occurred_at,
        cause: EventMeta::caused_by(opened),
        delivered,
    };
    let payment = match v.verify(&claimant, claim).await {
        Ok(payment) => payment,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record a payment; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    };
    let (incident_id, alert_id) = (card.incident_id.clone(), card.alert_id.clone());
    let caused = |what| ids::caused_event_id(&opened.event_id.to_string(), what);
    match payment {
        Payment::AskAgain(after) => Handled::Retry(after),
        Payment::Cleared(clearance) => {
            let cleared = CardCleared { incident_id, alert_id, clearance };
            append(v, Envelope::new(cleared, claimant.cause).with_event_id(caused("cleared"))).await
        }
        Payment::Refused(reason, detail) => {
            tracing::info!(alert_id = %alert_id, reason = reason.as_str(), "card payment refused");
            let refused = CardRefused { incident_id, alert_id, reason, detail };
            append(v, Envelope::new(refused, claimant.cause).with_event_id(caused("payment_refused"))).await
        }
    }
}

async fn append<E: Event>(v: &Verifier, env: Envelope<E>) -> Handled {
    settle(v.rt.log.append(&env, Expect::Any).await)
}
