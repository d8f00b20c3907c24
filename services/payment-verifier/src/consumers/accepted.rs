//! `payment-verifier-accepted`: `send.accepted` → `send.queued` once cleared.

use std::time::Duration;

use novij_bus::{consume::stream_sequence, run_consumer, AppendError, Expect, Handled};
use novij_events::integration::PaymentMode;
use novij_events::send::{Clearance, SendAccepted, SendQueued};
use novij_events::{ids, subjects, Envelope, EventMeta};
use novij_runtime::Runtime;
use tokio::sync::watch;

const DURABLE: &str = "payment-verifier-accepted";

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    run_consumer(rt.jetstream.clone(), subjects::EVENTS_STREAM, DURABLE, 64, shutdown, |msg| {
        let rt = rt.clone();
        async move {
            let outcome = match serde_json::from_slice::<Envelope<SendAccepted>>(&msg.payload) {
                Ok(accepted) => handle(&rt, &accepted, stream_sequence(&msg)).await,
                Err(e) => Handled::Reject(format!("undecodable send.accepted: {e}")),
            };
            (msg, outcome)
        }
    })
    .await
}

async fn handle(rt: &Runtime, accepted: &Envelope<SendAccepted>, sequence: u64) -> Handled {
    let clearance = match accepted.payload.payment_mode {
        PaymentMode::None => Clearance::NoPaymentRequired,
        // Ingress refuses paid sends until the verifier can check them, so one
        // here was written by a newer version: leave it for that version.
        PaymentMode::Dsr => return Handled::Reject("paid sends are not verified by this version".into()),
    };
    let queued = Envelope::new(
        SendQueued {
            send_id: accepted.payload.send_id.clone(),
            bot_key: accepted.payload.bot_key.clone(),
            clearance,
            priority: accepted.payload.priority,
        },
        EventMeta::caused_by(accepted),
    )
    .with_event_id(ids::caused_event_id(&accepted.event_id.to_string(), "queued"));
    // Fenced on the accepted event: a redelivery finds the send already moved on.
    match rt.log.append(&queued, Expect::LastSequence(sequence)).await {
        Ok(_) | Err(AppendError::Conflict) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot queue send; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
