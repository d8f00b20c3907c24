//! Admin operations on dead letters: `GET /ops/dead-letters`, `POST /ops/dead-letters/retry`
//! (also what `novij-telegram dlq` asks for, over NATS).

use async_nats::jetstream::{self, consumer::pull::OrderedConfig, consumer::DeliverPolicy};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use novij_aggregates::send::{decide, Send, SendChange, SendCommand};
use novij_aggregates::{Aggregate, Loaded};
use novij_bus::{AppendError, Expect};
use novij_events::send::{DeadLetter, FailureReason};
use novij_events::{ids, subjects, Envelope, Event};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::{json, Credentials};
use crate::answer::Answer;
use crate::auth::Caller;
use crate::body;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct DeadLetterView {
    pub send_id: String,
    pub bot_key: String,
    #[schema(value_type = String)]
    pub reason: FailureReason,
    pub detail: String,
    pub attempts: u32,
    pub dead_lettered_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// Retry this send's dead letter…
    pub send_id: Option<String>,
    /// …or every dead letter.
    #[serde(default)]
    pub all: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RetryReport {
    /// Send ids queued again by this call.
    pub retried: Vec<String>,
}

/// Operations (`/ops/…`) are for the admin key only.
pub(super) fn admin(state: &AppState, creds: &Credentials) -> Result<(), ApiError> {
    match creds.caller(state)? {
        Caller::Admin => Ok(()),
        Caller::Project { .. } => Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "operations are for admins")),
    }
}

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::unavailable("the dead-letter stream", e)
}

/// Every entry of `DEAD_LETTERS` on `filter`, oldest first (sends' and
/// inbound messages' dead letters share the stream, one entry per subject).
pub(super) async fn read_stream<T: serde::de::DeserializeOwned>(
    js: &jetstream::Context,
    filter: &str,
) -> Result<Vec<T>, ApiError> {
    let stream = js.get_stream(subjects::DEAD_LETTERS_STREAM).await.map_err(|e| unavailable(&e))?;
    let config =
        OrderedConfig { deliver_policy: DeliverPolicy::All, filter_subject: filter.to_string(), ..Default::default() };
    let consumer = stream.create_consumer(config).await.map_err(|e| unavailable(&e))?;
    let pending = consumer.cached_info().num_pending;
    let mut out = Vec::new();
    if pending == 0 {
        return Ok(out);
    }
    let mut messages = consumer.messages().await.map_err(|e| unavailable(&e))?;
    while let Some(msg) = tokio::time::timeout(std::time::Duration::from_secs(5), messages.next())
        .await
        .map_err(|_| unavailable(&"it stopped delivering"))?
    {
        let msg = msg.map_err(|e| unavailable(&e))?;
        out.push(serde_json::from_slice(&msg.payload).map_err(|e| ApiError::internal(&e))?);
        if msg.info().map_err(|e| unavailable(&e))?.pending == 0 {
            break;
        }
    }
    Ok(out)
}

/// The dead letters a retry names: the one given (it must be waiting), or all.
pub(super) fn choose(
    waiting: Vec<String>,
    one: Option<String>,
    all: bool,
    field: &str,
) -> Result<Vec<String>, ApiError> {
    match (one, all) {
        (Some(id), false) if waiting.contains(&id) => Ok(vec![id]),
        (Some(_), false) => Err(ApiError::not_found("dead letter").with_field(field)),
        (None, true) => Ok(waiting),
        _ => Err(ApiError::invalid(field, format!("give either `{field}` or `all: true`"))),
    }
}

/// Removes the dead-letter entry on `subject`.
async fn remove_entry(state: &AppState, subject: &str) -> Result<(), ApiError> {
    let stream = state.rt.jetstream.get_stream(subjects::DEAD_LETTERS_STREAM).await.map_err(|e| unavailable(&e))?;
    stream.purge().filter(subject).await.map_err(|e| unavailable(&e))?;
    Ok(())
}

/// Retries the dead letter of aggregate `id`: the event `decide` makes of
/// its history, appended fenced on that history (two operators retrying at
/// once make it once), then the entry on `entry` removed. Whether this call
/// made it.
pub(super) async fn retry_one<A: Aggregate, E: Event>(
    state: &AppState,
    creds: &Credentials,
    id: &str,
    entry: &str,
    decide: impl FnOnce(&A) -> Option<E>,
) -> Result<bool, ApiError> {
    let log = &state.rt.log;
    let Loaded { state: aggregate, version } = log.load::<A>(id).await?;
    let made = match decide(&aggregate) {
        Some(event) => {
            let env = Envelope::new(event, creds.meta())
                .with_event_id(ids::caused_event_id(&format!("dlq:{id}:{version}"), "retry"));
            match log.append(&env, Expect::LastSequence(version)).await {
                Ok(appended) => !appended.duplicate,
                Err(AppendError::Conflict) => false,
                Err(e) => return Err(ApiError::unavailable("the event log", &e)),
            }
        }
        None => false,
    };
    remove_entry(state, entry).await?;
    Ok(made)
}

#[utoipa::path(get, path = "/api/v1/ops/dead-letters", tag = "ops", security(("api_key" = [])),
    params(("limit" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "letters per page, 1–1000 (default 500)"),
           ("after" = Option<String>, Query, description = "the last `send_id` of the page before")),
    responses((status = 200, body = [DeadLetterView]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(
    state: AppState,
    creds: Credentials,
    query: std::collections::BTreeMap<String, String>,
) -> Result<Answer, ApiError> {
    admin(&state, &creds)?;
    let letters: Vec<DeadLetter> = read_stream(&state.rt.jetstream, subjects::DEAD_SENDS).await?;
    let letters = super::query::page(&query, letters, |l| &l.event.send_id)?;
    let views: Vec<DeadLetterView> = letters
        .into_iter()
        .map(|l| DeadLetterView {
            send_id: l.event.send_id,
            bot_key: l.event.bot_key,
            reason: l.event.reason,
            detail: l.event.detail,
            attempts: l.event.attempts,
            dead_lettered_at: l.dead_lettered_at,
        })
        .collect();
    Ok(json(StatusCode::OK, &views))
}

#[utoipa::path(post, path = "/api/v1/ops/dead-letters/retry", tag = "ops", request_body = RetryRequest,
    security(("api_key" = [])),
    responses((status = 200, body = RetryReport), (status = 404, body = crate::error::ErrorBody)))]
pub async fn retry(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    admin(&state, &creds)?;
    let req: RetryRequest = body::parse(&bytes)?;
    let letters: Vec<DeadLetter> = read_stream(&state.rt.jetstream, subjects::DEAD_SENDS).await?;
    let waiting = letters.into_iter().map(|l| l.event.send_id).collect();
    let chosen = choose(waiting, req.send_id, req.all, "send_id")?;
    let mut retried = Vec::new();
    for send_id in chosen {
        let queue_again = |send: &Send| match decide(send, SendCommand::RetryDeadLetter) {
            Ok(Some(SendChange::Queued(queued))) => Some(queued),
            _ => None,
        };
        if retry_one(&state, &creds, &send_id, &subjects::dead_letter(&send_id), queue_again).await? {
            retried.push(send_id);
        }
    }
    tracing::info!(count = retried.len(), "dead letters retried");
    Ok(json(StatusCode::OK, &RetryReport { retried }))
}
