//! Admin operations on dead letters: `GET /ops/dead-letters`, `POST /ops/dead-letters/retry`.

use chrono::{DateTime, Utc};
use novij_bus::dead_letters::{self, DeadLetterError};
use novij_events::send::FailureReason;
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

fn admin(state: &AppState, creds: &Credentials) -> Result<(), ApiError> {
    match creds.caller(state)? {
        Caller::Admin => Ok(()),
        Caller::Project(_) => Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "dead letters are for admins")),
    }
}

fn map_err(e: DeadLetterError) -> ApiError {
    match e {
        DeadLetterError::NotFound(_) => ApiError::not_found("dead letter").with_field("send_id"),
        other => ApiError::unavailable("the dead-letter stream", &other),
    }
}

#[utoipa::path(get, path = "/api/v1/ops/dead-letters", tag = "ops", security(("api_key" = [])),
    responses((status = 200, body = [DeadLetterView]), (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(state: AppState, creds: Credentials) -> Result<Answer, ApiError> {
    admin(&state, &creds)?;
    let letters = dead_letters::list(&state.rt.jetstream).await.map_err(map_err)?;
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
    let correlation = creds.correlation_id();
    let log = &state.rt.log;
    let retried = match (req.send_id, req.all) {
        (Some(id), false) => {
            let queued = dead_letters::retry_one(log, &id, &correlation).await.map_err(map_err)?;
            if queued {
                vec![id]
            } else {
                vec![]
            }
        }
        (None, true) => {
            let mut retried = Vec::new();
            for letter in dead_letters::list(&state.rt.jetstream).await.map_err(map_err)? {
                if dead_letters::retry(log, &letter, &correlation).await.map_err(map_err)? {
                    retried.push(letter.event.send_id);
                }
            }
            retried
        }
        _ => return Err(ApiError::invalid("send_id", "give either `send_id` or `all: true`")),
    };
    tracing::info!(count = retried.len(), "dead letters retried");
    Ok(json(StatusCode::OK, &RetryReport { retried }))
}
