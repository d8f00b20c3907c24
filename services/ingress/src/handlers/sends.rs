//! `POST /send` and `GET /sends/{id}`.
//!
//! The send id is derived from the project and idempotency key, and the
//! send's first event must be its aggregate's first: one key, one send, on the
//! log. The same key with the same body returns the same send; with another
//! body, 409.

use chrono::{DateTime, Utc};
use novij_bus::{AppendError, Expect};
use novij_events::integration::PaymentMode;
use novij_events::send::{OutgoingMessage, Priority, SendAccepted, SendOrigin};
use novij_events::{ids, Envelope};
use novij_projections::queries;
use novij_runtime::derive;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::{integrations::find_for_project, json, Credentials};
use crate::body::{self, check_text, id_char};
use crate::error::ApiError;
use crate::state::AppState;
use crate::templates;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub project_id: String,
    pub integration_id: String,
    /// The `public_user_ref` the user connected with.
    pub recipient_ref: String,
    /// `text_message` or `test_message`.
    pub template: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub template_vars: serde_json::Map<String, serde_json::Value>,
    /// `none` (default). Paid sends (`dsr`) arrive with the payment-verifier.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub payment_mode: Option<PaymentMode>,
    pub tx_hash: Option<String>,
    pub payer_wallet_id: Option<String>,
    pub payment_code: Option<String>,
    /// Required; the same key with the same body returns the same send.
    pub idempotency_key: String,
    /// `interactive` (default) or `bulk`: bulk waits while interactive sends to the same bot are pending.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub priority: Option<Priority>,
    pub locale: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SendAcceptedView {
    pub send_id: String,
    pub status: String,
}

fn validate(req: &SendRequest) -> Result<(), ApiError> {
    check_text("project_id", &req.project_id, 64, id_char)?;
    check_text("recipient_ref", &req.recipient_ref, 256, id_char)?;
    check_text("idempotency_key", &req.idempotency_key, 256, |c| !c.is_control())?;
    if let Some(locale) = &req.locale {
        if !matches!(locale.as_str(), "ru" | "en") {
            return Err(ApiError::invalid("locale", "must be `ru` or `en`"));
        }
    }
    if req.payment_mode == Some(PaymentMode::Dsr) {
        return Err(ApiError::invalid(
            "payment_mode",
            "paid sends (dsr) are not enabled on this service yet; use `none`",
        ));
    }
    for (field, value) in
        [("tx_hash", &req.tx_hash), ("payer_wallet_id", &req.payer_wallet_id), ("payment_code", &req.payment_code)]
    {
        if value.is_some() {
            return Err(ApiError::invalid(field, "only applies to payment_mode `dsr`"));
        }
    }
    Ok(())
}

async fn existing(
    state: &AppState,
    send_id: &str,
    request_hash: &str,
) -> Result<Option<warp::reply::Response>, ApiError> {
    let Some((accepted, _)) = state.rt.log.last::<SendAccepted>(send_id).await? else { return Ok(None) };
    if accepted.payload.request_hash != request_hash {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this idempotency_key was used with a different request",
        )
        .with_field("idempotency_key"));
    }
    let status = queries::send_with_history(&state.rt.db, send_id)
        .await?
        .map(|(s, _)| s.status)
        .unwrap_or_else(|| "accepted".into());
    Ok(Some(json(StatusCode::ACCEPTED, &SendAcceptedView { send_id: send_id.to_string(), status })))
}

#[utoipa::path(post, path = "/api/v1/send", tag = "send", request_body = SendRequest, security(("api_key" = [])),
    responses((status = 202, body = SendAcceptedView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    state: AppState,
    creds: Credentials,
    bytes: bytes::Bytes,
) -> Result<warp::reply::Response, ApiError> {
    let caller = creds.caller(&state)?;
    let req: SendRequest = body::parse(&bytes)?;
    validate(&req)?;
    let integration = find_for_project(&state, &caller, &req.project_id, &req.integration_id).await?;
    let rendered = templates::render(&req.template, &req.template_vars)?;

    let keyring = &state.rt.keyring;
    let send_id = derive::send_id(keyring, &req.project_id, &req.idempotency_key);
    let canonical = serde_json::to_vec(&serde_json::to_value(&req).map_err(|e| ApiError::internal(&e))?)
        .map_err(|e| ApiError::internal(&e))?;
    let request_hash = derive::request_hash(keyring, &canonical);
    if let Some(reply) = existing(&state, &send_id, &request_hash).await? {
        return Ok(reply);
    }

    let recipient = match queries::recipient_by_ref(&state.rt.db, &integration.id, &req.recipient_ref).await? {
        Some(r) if r.status == "active" => r,
        Some(r) => {
            let reason = r.disabled_reason.unwrap_or_else(|| r.status.clone());
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "recipient_unreachable",
                format!("the recipient cannot receive messages ({reason}) until they connect again"),
            )
            .with_field("recipient_ref"));
        }
        None => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "recipient_not_connected",
                "no connected chat for this recipient_ref",
            )
            .with_field("recipient_ref"))
        }
    };
    let chat: novij_crypto::Sealed =
        serde_json::from_value(recipient.chat_sealed).map_err(|e| ApiError::internal(&e))?;
    let chat_id: i64 =
        keyring.open_string(derive::purpose::CHAT_ID, &chat)?.parse().map_err(|e| ApiError::internal(&e))?;
    let message = OutgoingMessage { chat_id, text: rendered.text, parse_mode: rendered.parse_mode.map(str::to_string) };
    let sealed = keyring
        .seal(derive::purpose::OUTGOING_MESSAGE, &serde_json::to_vec(&message).map_err(|e| ApiError::internal(&e))?)?;
    let accepted = SendAccepted {
        send_id: send_id.clone(),
        project_id: Some(req.project_id),
        integration_id: Some(integration.id.clone()),
        bot_key: integration.bot_key.clone(),
        recipient_id: Some(recipient.recipient_id),
        template: req.template,
        payment_mode: req.payment_mode.unwrap_or(PaymentMode::None),
        request_hash: request_hash.clone(),
        origin: SendOrigin::Api,
        priority: req.priority.unwrap_or_default(),
        locale: req.locale,
        message: sealed,
    };
    let env = Envelope::new(accepted, creds.meta());
    match state.rt.log.append(&env, Expect::NoEvents).await {
        Ok(_) => {
            tracing::info!(send_id = %send_id, integration_id = %integration.id, "send accepted");
            Ok(json(StatusCode::ACCEPTED, &SendAcceptedView { send_id, status: "accepted".into() }))
        }
        // A concurrent request with the same key won: answer as its retry.
        Err(AppendError::Conflict) => existing(&state, &send_id, &request_hash)
            .await?
            .ok_or_else(|| ApiError::internal(&"send vanished after a conflicting append")),
        Err(e) => Err(ApiError::unavailable("the event log", &e)),
    }
}

/// The view of a send the projections do not show yet, read from its
/// `send.accepted` event (sends are answered 202 before they are projected).
async fn just_accepted(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
) -> Result<warp::reply::Response, ApiError> {
    let accepted = if ids::is_valid(ids::SEND, id) { state.rt.log.last::<SendAccepted>(id).await? } else { None };
    let Some((accepted, _)) = accepted.filter(|(a, _)| caller.sees(a.payload.project_id.as_deref())) else {
        return Err(ApiError::not_found("send"));
    };
    let p = accepted.payload;
    let view = SendView {
        send_id: p.send_id,
        project_id: p.project_id,
        integration_id: p.integration_id,
        template: p.template,
        status: "accepted".into(),
        telegram_message_id: None,
        failure: None,
        attempts: 0,
        accepted_at: accepted.occurred_at,
        updated_at: accepted.occurred_at,
        history: vec![HistoryEntry { status: "accepted".into(), at: accepted.occurred_at, detail: None }],
    };
    Ok(json(StatusCode::OK, &view))
}

#[derive(Serialize, ToSchema)]
pub struct SendView {
    pub send_id: String,
    pub project_id: Option<String>,
    pub integration_id: Option<String>,
    pub template: String,
    /// `accepted`, `queued`, `sent` or `failed`.
    pub status: String,
    pub telegram_message_id: Option<i64>,
    pub failure: Option<FailureView>,
    pub attempts: i32,
    pub accepted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<HistoryEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct FailureView {
    pub reason: String,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    pub status: String,
    pub at: DateTime<Utc>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

#[utoipa::path(get, path = "/api/v1/sends/{id}", tag = "send", security(("api_key" = [])),
    params(("id" = String, Path, description = "send id")),
    responses((status = 200, body = SendView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(state: AppState, creds: Credentials, id: String) -> Result<warp::reply::Response, ApiError> {
    let caller = creds.caller(&state)?;
    let found = if ids::is_valid(ids::SEND, &id) { queries::send_with_history(&state.rt.db, &id).await? } else { None };
    let Some((send, history)) = found else {
        // Accepted but not projected yet: answer from the log.
        return just_accepted(&state, &caller, &id).await;
    };
    if !caller.sees(send.project_id.as_deref()) {
        return Err(ApiError::not_found("send"));
    }
    let view = SendView {
        send_id: send.send_id,
        project_id: send.project_id,
        integration_id: send.integration_id,
        template: send.template,
        status: send.status,
        telegram_message_id: send.telegram_message_id,
        failure: send.failure_reason.map(|reason| FailureView { reason, detail: send.failure_detail }),
        attempts: send.attempts,
        accepted_at: send.accepted_at,
        updated_at: send.updated_at,
        history: history.into_iter().map(|h| HistoryEntry { status: h.status, at: h.at, detail: h.detail }).collect(),
    };
    Ok(json(StatusCode::OK, &view))
}
