//! `POST /reminders`, `GET /reminders/{id}`, `DELETE /reminders/{id}`.
//!
//! A reminder is a send with `send_at`: paid for when it is created, queued by
//! the scheduler when due. Cancelling and firing are both appended fenced on
//! the send's last event, so exactly one of them wins.

use novij_aggregates::send::{decide, Send, SendChange, SendCommand, SendRefusal};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::status::SendStatus;
use novij_events::{ids, Envelope};
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::sends::{self, Kind, SendView};
use super::{json, read_your_write, Credentials};
use crate::answer::Answer;
use crate::error::ApiError;
use crate::state::AppState;

#[utoipa::path(post, path = "/api/v1/reminders", tag = "reminders", request_body = sends::SendRequest,
    security(("api_key" = [])),
    responses((status = 202, body = sends::SendAcceptedView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn create(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    sends::accept(state, creds, bytes, Kind::Reminder).await
}

async fn reminder(state: &AppState, creds: &Credentials, id: &str) -> Result<SendView, ApiError> {
    let caller = creds.caller(state)?;
    match sends::view(state, &caller, id).await {
        Ok(view) if view.send_at.is_some() => Ok(view),
        Ok(_) => Err(ApiError::not_found("reminder")),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(ApiError::not_found("reminder")),
        Err(e) => Err(e),
    }
}

#[utoipa::path(get, path = "/api/v1/reminders/{id}", tag = "reminders", security(("api_key" = [])),
    params(("id" = String, Path, description = "reminder (send) id")),
    responses((status = 200, body = SendView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    Ok(json(StatusCode::OK, &reminder(&state, &creds, &id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct Cancelled {
    pub send_id: String,
    /// Always `cancelled`.
    #[schema(value_type = String)]
    pub status: SendStatus,
}

#[utoipa::path(delete, path = "/api/v1/reminders/{id}", tag = "reminders", security(("api_key" = [])),
    params(("id" = String, Path, description = "reminder (send) id")),
    responses((status = 200, body = Cancelled), (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "already dispatched or failed", body = crate::error::ErrorBody)))]
pub async fn cancel(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    if !ids::is_valid(ids::SEND, &id) {
        return Err(ApiError::not_found("reminder"));
    }
    let done = || json(StatusCode::OK, &Cancelled { send_id: id.clone(), status: SendStatus::Cancelled });
    // A lost race (the verifier or the scheduler appended first) is decided again on the new history.
    for _ in 0..5 {
        let Loaded { state: send, version } = state.rt.log.load::<Send>(&id).await?;
        if !caller.sees(send.project_id.as_deref()) {
            return Err(ApiError::not_found("reminder"));
        }
        if let Some(integration_id) = &send.integration_id {
            super::integrations::require_owner_of(&state, &caller, integration_id).await?;
        }
        let cancelled = match decide(&send, SendCommand::Cancel) {
            Ok(Some(SendChange::Cancelled(cancelled))) => cancelled,
            Ok(_) => return Ok(done()),
            Err(SendRefusal::NotFound | SendRefusal::NotAReminder) => return Err(ApiError::not_found("reminder")),
            Err(refusal @ SendRefusal::AlreadyFailed) => {
                return Err(ApiError::new(StatusCode::CONFLICT, "not_cancellable", refusal.to_string()))
            }
            Err(refusal @ SendRefusal::AlreadyDispatched) => {
                return Err(ApiError::new(StatusCode::CONFLICT, "already_dispatched", refusal.to_string()))
            }
        };
        let event = Envelope::new(cancelled, creds.meta());
        match state.rt.log.append(&event, Expect::LastSequence(version)).await {
            Ok(appended) => {
                read_your_write(&state, appended.sequence).await;
                tracing::info!(send_id = %id, "reminder cancelled");
                return Ok(done());
            }
            Err(AppendError::Conflict) => continue,
            Err(e) => return Err(ApiError::unavailable("the event log", &e)),
        }
    }
    Err(ApiError::new(StatusCode::CONFLICT, "busy", "the reminder changed while cancelling; retry"))
}
