//! A project's inbound receiver: its signing secret rotated
//! (`POST /integrations/{id}/inbound-secret`), and the messages it never took
//! (`GET /inbound/dead-letters`, `POST /inbound/dead-letters/retry`). The URL
//! is set with `POST`/`PATCH /integrations` (`crate::project_webhook`).

use chrono::{DateTime, Utc};
use novij_aggregates::inbound::{decide as decide_inbound, Inbound, InboundChange, InboundCommand};
use novij_aggregates::integration::{decide, IntegrationChange, IntegrationCommand};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::inbound::{InboundDeadLetter, WebhookFailure};
use novij_events::{subjects, Envelope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::dead_letters::{choose, read_stream, retry_one};
use super::integrations::{changed_meanwhile, load_for_caller, refused};
use super::{json, read_your_write, Credentials};
use crate::answer::Answer;
use crate::auth::Caller;
use crate::body;
use crate::error::ApiError;
use crate::project_webhook::fresh_secret;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct RotatedSecret {
    pub integration_id: String,
    /// The new secret (`whsec_…`), shown this once.
    pub inbound_secret: String,
    /// Until then messages are signed with the previous secret too.
    pub previous_valid_until: DateTime<Utc>,
}

#[utoipa::path(post, path = "/api/v1/integrations/{id}/inbound-secret", tag = "inbound", security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id")),
    responses((status = 200, body = RotatedSecret), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody)))]
pub async fn rotate_secret(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let Loaded { state: integration, version } = load_for_caller(&state, &caller, &id).await?;
    let (secret, sealed) = fresh_secret(&state, &id)?;
    let overlap = chrono::Duration::from_std(state.rt.config.inbound_webhooks.secret_overlap)
        .map_err(|e| ApiError::internal(&e))?;
    let previous_valid_until = Utc::now() + overlap;
    let command = IntegrationCommand::RotateInboundSecret { secret: sealed, previous_valid_until };
    let Some(IntegrationChange::InboundSecretRotated(rotated)) = decide(&integration, command).map_err(refused)? else {
        return Err(ApiError::internal(&"a rotation decided something else"));
    };
    match state.rt.log.append(&Envelope::new(rotated, creds.meta()), Expect::LastSequence(version)).await {
        Ok(appended) => read_your_write(&state, appended.sequence).await,
        Err(AppendError::Conflict) => return Err(changed_meanwhile()),
        Err(e) => return Err(ApiError::unavailable("the event log", &e)),
    }
    tracing::info!(integration_id = %id, "inbound secret rotated");
    Ok(json(StatusCode::OK, &RotatedSecret { integration_id: id, inbound_secret: secret, previous_valid_until }))
}

#[derive(Serialize, ToSchema)]
pub struct InboundDeadLetterView {
    pub message_id: String,
    pub integration_id: String,
    /// `status`, `timeout`, `connect` or `address_refused`.
    #[schema(value_type = String)]
    pub reason: WebhookFailure,
    pub detail: String,
    pub attempts: u32,
    pub dead_lettered_at: DateTime<Utc>,
}

/// The caller's dead-lettered inbound messages, oldest first.
async fn waiting(state: &AppState, caller: &Caller) -> Result<Vec<InboundDeadLetter>, ApiError> {
    let all: Vec<InboundDeadLetter> = read_stream(&state.rt.jetstream, subjects::DEAD_INBOUND).await?;
    Ok(all.into_iter().filter(|l| caller.sees(Some(&l.event.project_id))).collect())
}

#[utoipa::path(get, path = "/api/v1/inbound/dead-letters", tag = "inbound", security(("api_key" = [])),
    params(("limit" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "letters per page, 1–1000 (default 500)"),
           ("after" = Option<String>, Query, description = "the last `message_id` of the page before")),
    responses((status = 200, body = [InboundDeadLetterView])))]
pub async fn dead_letters(
    state: AppState,
    creds: Credentials,
    query: std::collections::BTreeMap<String, String>,
) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let letters = waiting(&state, &caller).await?;
    let views: Vec<InboundDeadLetterView> = super::query::page(&query, letters, |l| &l.event.message_id)?
        .into_iter()
        .map(|l| InboundDeadLetterView {
            message_id: l.event.message_id,
            integration_id: l.event.integration_id,
            reason: l.event.reason,
            detail: l.event.detail,
            attempts: l.event.attempts,
            dead_lettered_at: l.dead_lettered_at,
        })
        .collect();
    Ok(json(StatusCode::OK, &views))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundRetryRequest {
    /// Retry this message's dead letter…
    pub message_id: Option<String>,
    /// …or every dead letter the caller sees.
    #[serde(default)]
    pub all: bool,
}

#[derive(Serialize, ToSchema)]
pub struct InboundRetryReport {
    /// Message ids whose delivery starts again by this call.
    pub retried: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/inbound/dead-letters/retry", tag = "inbound", request_body = InboundRetryRequest,
    security(("api_key" = [])),
    responses((status = 200, body = InboundRetryReport), (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn retry(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: InboundRetryRequest = body::parse(&bytes)?;
    let mut owned = Vec::new();
    for letter in waiting(&state, &caller).await? {
        // A signed request retries only its wallet's integrations' letters.
        if super::integrations::require_owner_of(&state, &caller, &letter.event.integration_id).await.is_ok() {
            owned.push(letter.event.message_id);
        }
    }
    let chosen = choose(owned, req.message_id, req.all, "message_id")?;
    let mut retried = Vec::new();
    for message_id in chosen {
        let deliver_again = |inbound: &Inbound| match decide_inbound(inbound, InboundCommand::Redeliver) {
            Ok(Some(InboundChange::RedeliveryRequested(requested))) => Some(requested),
            _ => None,
        };
        let entry = subjects::inbound_dead_letter(&message_id);
        if retry_one(&state, &creds, &message_id, &entry, deliver_again).await? {
            retried.push(message_id);
        }
    }
    tracing::info!(count = retried.len(), "inbound dead letters retried");
    Ok(json(StatusCode::OK, &InboundRetryReport { retried }))
}
