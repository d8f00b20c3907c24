//! A message a user wrote to a project's bot: `GET /inbound/{message_id}`
//! reads it (the feed names it by id only), `POST /inbound/{message_id}/reply`
//! answers it in the same chat, as a reply to it (the adapter pattern of
//! seed 003).

use chrono::{DateTime, Utc};
use novij_events::ids;
use novij_events::inbound::{InboundContent, InboundMedia, InboundReceived};
use novij_runtime::{derive, PayloadError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::sends::{accept_reply, reply_text, Answering};
use super::{json, Credentials};
use crate::answer::Answer;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InboundReply {
    /// 1 to 4,096 characters.
    #[schema(schema_with = crate::fields::message_text)]
    pub text: String,
    /// `HTML` to send `text` as Telegram HTML; absent: plain text.
    #[schema(schema_with = crate::fields::optional_parse_mode)]
    pub parse_mode: Option<String>,
    /// A retry with the same key sends nothing again.
    #[schema(schema_with = crate::fields::optional_idempotency_key)]
    pub idempotency_key: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InboundReplyView {
    pub message_id: String,
    pub send_id: String,
}

/// An inbound message of the caller's project, from its event.
async fn visible(
    state: &AppState,
    caller: &crate::auth::Caller,
    message_id: &str,
) -> Result<InboundReceived, ApiError> {
    let received = if ids::is_valid(ids::INBOUND, message_id) {
        state.rt.log.last::<InboundReceived>(message_id).await?
    } else {
        None
    };
    match received.filter(|(e, _)| caller.sees(Some(&e.payload.project_id))) {
        Some((received, _)) => Ok(received.payload),
        None => Err(ApiError::not_found("inbound message").with_field("message_id")),
    }
}

#[derive(Serialize, ToSchema)]
pub struct InboundView {
    pub message_id: String,
    pub integration_id: String,
    /// The sender's `public_user_ref` when connected to this integration, else an opaque id.
    pub from: String,
    /// `private` or `group`.
    #[schema(value_type = String)]
    pub chat_kind: novij_events::recipient::ChatKind,
    pub text: Option<String>,
    /// A file the user sent, as Telegram describes it (`kind`, `file_id`, `file_size`, `caption`).
    #[schema(value_type = Option<Object>)]
    pub media: Option<InboundMedia>,
    pub received_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/inbound/{message_id}", tag = "inbound", security(("api_key" = [])),
    params(("message_id" = String, Path, description = "the inbound message's id (`inb_…`), from the feed")),
    responses((status = 200, body = InboundView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn get(state: AppState, creds: Credentials, message_id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let m = visible(&state, &caller, &message_id).await?;
    let content: InboundContent = match state.rt.payloads.open(derive::purpose::INBOUND_MESSAGE, &m.content).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(&e))?,
        Err(PayloadError::Shredded) => {
            return Err(ApiError::new(StatusCode::CONFLICT, "content_expired", "the message's content has expired"))
        }
        Err(e) => return Err(ApiError::unavailable("the payload key store", &e)),
    };
    let view = InboundView {
        message_id: m.message_id,
        integration_id: m.integration_id,
        from: m.from,
        chat_kind: m.chat_kind,
        text: content.text,
        media: content.media,
        received_at: m.received_at,
    };
    Ok(json(StatusCode::OK, &view))
}

#[utoipa::path(post, path = "/api/v1/inbound/{message_id}/reply", tag = "inbound", request_body = InboundReply,
    security(("api_key" = [])),
    params(("message_id" = String, Path, description = "the inbound message's id (`inb_…`), from the feed")),
    responses((status = 202, body = InboundReplyView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn reply(
    state: AppState,
    creds: Credentials,
    message_id: String,
    bytes: bytes::Bytes,
) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: InboundReply = body::parse(&bytes)?;
    let parse_mode = reply_text(&req.text, req.parse_mode.as_deref())?;
    if let Some(key) = &req.idempotency_key {
        fields::IDEMPOTENCY_KEY.check("idempotency_key", key)?;
    }
    let m = visible(&state, &caller, &message_id).await?;
    super::integrations::require_owner_of(&state, &caller, &m.integration_id).await?;
    let key = req.idempotency_key.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let send_id = derive::send_id(&state.rt.keyring, &m.project_id, &format!("inbound-reply\0{message_id}\0{key}"));
    let answering = Answering {
        chat: &m.chat,
        message_id: m.telegram_message_id,
        project_id: &m.project_id,
        integration_id: &m.integration_id,
        bot_key: &m.bot_key,
        recipient_id: &m.recipient_id,
    };
    let reply = answering.reply(&state, send_id.clone(), "inbound_reply", req.text, parse_mode, Vec::new())?;
    // A retry with the same key finds its send accepted already.
    accept_reply(&state, creds.meta(), reply).await?;
    tracing::info!(message_id = %message_id, "inbound message answered");
    Ok(json(StatusCode::ACCEPTED, &InboundReplyView { message_id, send_id }))
}
