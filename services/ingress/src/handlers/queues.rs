//! `GET /ops/queues` (admin; also `novij-telegram queue-status`): what waits
//! where. Every stream and durable consumer with its pending and in-flight
//! messages, the sends waiting for the dispatcher by class, the reminders
//! waiting for their time, the dead letters, and how far the projections
//! are behind the log.

use std::collections::BTreeMap;

use async_nats::jetstream;
use futures::TryStreamExt;
use novij_events::subjects;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::dead_letters::admin;
use super::{json, Credentials};
use crate::answer::Answer;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct StreamView {
    pub stream: String,
    pub messages: u64,
    pub last_sequence: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ConsumerView {
    pub stream: String,
    pub consumer: String,
    /// Not yet delivered.
    pub pending: u64,
    /// Delivered, not yet acknowledged.
    pub in_flight: u64,
    pub redelivered: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectorView {
    /// The last event applied to the projections.
    pub checkpoint: u64,
    /// The last event on the log.
    pub log: u64,
    pub lag: u64,
}

#[derive(Serialize, ToSchema)]
pub struct QueuesView {
    pub streams: Vec<StreamView>,
    pub consumers: Vec<ConsumerView>,
    /// Queued sends not yet delivered, by class (`interactive`, `bulk`): the dispatch consumers' pending and in flight.
    pub sends_waiting: BTreeMap<String, u64>,
    pub scheduled_reminders: u64,
    /// By kind (`send`, `inbound`).
    pub dead_letters: BTreeMap<String, u64>,
    pub projector: ProjectorView,
}

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::unavailable("JetStream", e)
}

#[utoipa::path(get, path = "/api/v1/ops/queues", tag = "ops", security(("api_key" = [])),
    responses((status = 200, body = QueuesView), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn list(state: AppState, creds: Credentials) -> Result<Answer, ApiError> {
    admin(&state, &creds)?;
    Ok(json(StatusCode::OK, &gather(&state).await?))
}

/// The queues as they stand: streams, durable consumers, waiting sends,
/// reminders, dead letters, projector lag.
pub async fn gather(state: &AppState) -> Result<QueuesView, ApiError> {
    let js = &state.rt.jetstream;
    let mut streams = Vec::new();
    let mut consumers = Vec::new();
    let names: Vec<String> = js.stream_names().try_collect().await.map_err(|e| unavailable(&e))?;
    for name in names {
        let stream = js.get_stream(&name).await.map_err(|e| unavailable(&e))?;
        let info = stream.cached_info();
        streams.push(StreamView {
            stream: name.clone(),
            messages: info.state.messages,
            last_sequence: info.state.last_sequence,
        });
        let infos: Vec<jetstream::consumer::Info> =
            stream.consumers().try_collect().await.map_err(|e| unavailable(&e))?;
        // Durable ones only: ordered consumers come and go with their readers.
        for c in infos.into_iter().filter(|c| c.config.durable_name.is_some()) {
            consumers.push(ConsumerView {
                stream: name.clone(),
                consumer: c.name,
                pending: c.num_pending,
                in_flight: c.num_ack_pending as u64,
                redelivered: c.num_redelivered as u64,
            });
        }
    }
    let mut sends_waiting = BTreeMap::from([("interactive".to_string(), 0), ("bulk".to_string(), 0)]);
    for c in consumers.iter().filter(|c| c.stream == subjects::DISPATCH_STREAM) {
        if let Some(class) = sends_waiting.keys().find(|class| c.consumer.contains(&format!("-{class}"))).cloned() {
            *sends_waiting.entry(class).or_default() += c.pending + c.in_flight;
        }
    }
    let mut dead_letters = BTreeMap::new();
    let letters = js.get_stream(subjects::DEAD_LETTERS_STREAM).await.map_err(|e| unavailable(&e))?;
    for kind in ["send", "inbound"] {
        let info = letters.info_with_subjects(format!("nt.dlq.{kind}.>")).await.map_err(|e| unavailable(&e))?;
        let counts: Vec<(String, usize)> = info.try_collect().await.map_err(|e| unavailable(&e))?;
        dead_letters.insert(kind.to_string(), counts.iter().map(|(_, n)| *n as u64).sum());
    }
    let scheduled_reminders = novij_projections::queries::scheduled_reminders(&state.rt.db).await?;
    let checkpoint = novij_projections::queries::checkpoint(&state.rt.db).await?;
    let log = streams.iter().find(|s| s.stream == subjects::EVENTS_STREAM).map_or(0, |s| s.last_sequence);
    let projector = ProjectorView { checkpoint, log, lag: log.saturating_sub(checkpoint) };
    Ok(QueuesView { streams, consumers, sends_waiting, scheduled_reminders, dead_letters, projector })
}

/// `GET /metrics` on the ingress: this process's metrics, and the queues'
/// gauges as they stand at the scrape (one ingress tells them for all).
pub async fn metrics(state: &AppState) -> String {
    match gather(state).await {
        Ok(queues) => {
            for c in &queues.consumers {
                novij_metrics::consumer(&c.stream, &c.consumer, c.pending, c.in_flight);
            }
            for (class, waiting) in &queues.sends_waiting {
                novij_metrics::sends_waiting(class, *waiting);
            }
            for (kind, waiting) in &queues.dead_letters {
                novij_metrics::dead_letters(kind, *waiting);
            }
            novij_metrics::projector_lag(queues.projector.lag);
        }
        Err(e) => tracing::warn!(error = %e.detail.message, "cannot read the queues for the metrics"),
    }
    novij_metrics::render()
}
