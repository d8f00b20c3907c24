//! The executors' work queues: each command a user runs is also published,
//! with its arguments opened, on `nt.cmd.<project>.<integration>.<executor>`
//! (core NATS), for executors that take their requests by subscribing (in a
//! queue group, so one member gets each) rather than by polling. One durable
//! consumer over all ingress instances publishes each request once.
//!
//! Core NATS keeps nothing: a request published while no executor listens
//! is not lost, it stays in `GET /commands/poll` until taken or expired, and
//! the arguments are never stored in plaintext. Taking it is still an ack,
//! which one executor wins.

use std::time::Duration;

use chrono::Utc;
use novij_bus::{run_event_consumer, Handled};
use novij_events::commands::CommandRequested;
use novij_events::{subjects, Envelope};
use tokio::sync::watch;

use crate::handlers::command_requests::request_view;
use crate::state::AppState;

const DURABLE: &str = "ingress-command-queue";

pub async fn run(state: AppState, shutdown: watch::Receiver<bool>) {
    let js = state.rt.jetstream.clone();
    run_event_consumer(js, DURABLE, 64, shutdown, |requested: Envelope<CommandRequested>, _| {
        let state = state.clone();
        async move { publish(&state, &requested.payload).await }
    })
    .await
}

async fn publish(state: &AppState, request: &CommandRequested) -> Handled {
    // A request past its deadline (the log read from its start) is over.
    if request.expires_at <= Utc::now() {
        return Handled::Done;
    }
    let view = match request_view(state, request).await {
        Ok(Some(view)) => view,
        Ok(None) => return Handled::Done,
        Err(e) => {
            tracing::warn!(error = ?e, "cannot open a command request; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    };
    let payload = match serde_json::to_vec(&view) {
        Ok(payload) => payload,
        Err(e) => return Handled::Reject(e.to_string()),
    };
    let subject = subjects::command_queue(&request.project_id, &request.integration_id, &request.executor_key);
    match state.rt.nats.publish(subject, payload.into()).await {
        Ok(()) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot publish a command request; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
