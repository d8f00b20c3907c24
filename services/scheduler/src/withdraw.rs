//! A deleted integration's pending sends are withdrawn: each send not yet
//! delivered gets `send.cancelled` (reason `integration_deleted`), decided on
//! the send aggregate and fenced on its last event. Sends the projections do
//! not show yet (accepted in the instant of the deletion) are withdrawn by the
//! dispatcher when they reach it.

use std::time::Duration;

use novij_aggregates::send::{decide, Send, SendChange, SendCommand};
use novij_aggregates::Loaded;
use novij_bus::{run_event_consumer, AppendError, Expect, Handled};
use novij_events::integration::IntegrationDeleted;
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::Runtime;
use tokio::sync::watch;

const DURABLE: &str = "scheduler-integration-deleted";
/// How long to wait for the projections to reach the deletion.
const CATCH_UP: Duration = Duration::from_secs(10);

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    run_event_consumer(rt.jetstream.clone(), DURABLE, 4, shutdown, move |deleted: Envelope<IntegrationDeleted>, at| {
        let rt = rt.clone();
        async move { withdraw_all(&rt, &deleted, at.sequence).await }
    })
    .await
}

async fn withdraw_all(rt: &Runtime, deleted: &Envelope<IntegrationDeleted>, sequence: u64) -> Handled {
    let retry = |what: &str, e: &dyn std::fmt::Display| {
        tracing::warn!(error = %e, "{what}; will retry");
        Handled::Retry(Duration::from_secs(1))
    };
    // Once the projections include the deletion, they show every send accepted before it.
    match novij_projections::queries::wait_for(&rt.db, sequence, CATCH_UP).await {
        Ok(true) => {}
        Ok(false) => return retry("the projections are behind", &sequence),
        Err(e) => return retry("the projections are unavailable", &e),
    }
    let integration_id = &deleted.payload.integration_id;
    let pending = match novij_projections::queries::undelivered_sends(&rt.db, integration_id).await {
        Ok(pending) => pending,
        Err(e) => return retry("the projections are unavailable", &e),
    };
    for send_id in &pending {
        if let Err(e) = withdraw(rt, send_id, deleted).await {
            return retry("cannot withdraw a send", &e);
        }
    }
    tracing::info!(integration_id = %integration_id, withdrawn = pending.len(), "deleted integration's sends withdrawn");
    Handled::Done
}

/// Cancels one send unless it was delivered or ended meanwhile.
async fn withdraw(rt: &Runtime, send_id: &str, cause: &Envelope<IntegrationDeleted>) -> Result<(), String> {
    // A lost race (the dispatcher appended first) is decided again on the new history.
    for _ in 0..5 {
        let Loaded { state, version } = rt.log.load::<Send>(send_id).await.map_err(|e| e.to_string())?;
        let Ok(Some(SendChange::Cancelled(cancelled))) = decide(&state, SendCommand::Withdraw) else { return Ok(()) };
        let env = Envelope::new(cancelled, EventMeta::caused_by(cause))
            .with_event_id(ids::caused_event_id(&format!("{}:{send_id}", cause.event_id), "withdrawn"));
        match rt.log.append(&env, Expect::LastSequence(version)).await {
            Ok(_) => return Ok(()),
            Err(AppendError::Conflict) => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("send {send_id} kept changing"))
}
