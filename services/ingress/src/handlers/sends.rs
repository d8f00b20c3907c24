//! `POST /send` and `GET /sends/{id}`.
//!
//! The send id is derived from the project and idempotency key, and the
//! send's first event must be its aggregate's first: one key, one send, on the
//! log. The same key with the same body returns the same send; with another
//! body, 409.

use chrono::{DateTime, Duration, Utc};
use novij_aggregates::send::Send;
use novij_bus::{AppendError, Expect};
use novij_crypto::Sealed;
use novij_events::integration::PaymentMode;
use novij_events::media::uploads_of;
use novij_events::send::FailureReason;
use novij_events::send::{OutgoingMessage, Priority, SendAccepted, SendOrigin};
use novij_events::status::{RecipientStatus, SendStatus};
use novij_events::{ids, Envelope};
use novij_projections::queries;
use novij_runtime::derive;
use novij_templates::{Locale, RenderContext};
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

pub use super::send_request::SendRequest;
use super::{integrations::find_for_project, json, payments, Credentials};
use crate::answer::Answer;
use crate::body::{self, check_locale};
use crate::error::ApiError;
use crate::fields;
use crate::media;
use crate::quotas::QuotaError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct SendAcceptedView {
    pub send_id: String,
    #[schema(value_type = String)]
    pub status: SendStatus,
}

/// Which endpoint a request came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Now,
    Reminder,
}

/// Checks the fields that need no lookup; returns the requested locale, if any.
/// A send's body, parsed and given the checks that need no state, with the
/// locale it asks for.
pub(crate) fn parse_checked(bytes: &[u8]) -> Result<(SendRequest, Option<Locale>), ApiError> {
    let req: SendRequest = body::parse(bytes)?;
    let requested_locale = validate(&req)?;
    Ok((req, requested_locale))
}

fn validate(req: &SendRequest) -> Result<Option<Locale>, ApiError> {
    fields::PROJECT_ID.check("project_id", &req.project_id)?;
    fields::USER_REF.check("recipient_ref", &req.recipient_ref)?;
    fields::IDEMPOTENCY_KEY.check("idempotency_key", &req.idempotency_key)?;
    req.locale.as_deref().map(|l| check_locale("locale", l)).transpose()
}

/// When a reminder is due, checked against the configured window.
fn due_at(state: &AppState, req: &SendRequest, kind: Kind) -> Result<Option<DateTime<Utc>>, ApiError> {
    let retention = &state.rt.config.retention;
    match (kind, req.send_at) {
        (Kind::Now, None) => Ok(None),
        (Kind::Now, Some(_)) => Err(ApiError::invalid("send_at", "only applies to POST /api/v1/reminders")),
        (Kind::Reminder, None) => Err(ApiError::invalid("send_at", "is required for a reminder")),
        (Kind::Reminder, Some(at)) => {
            let at = at.with_timezone(&Utc);
            let now = Utc::now();
            if at < now - Duration::seconds(retention.reminder_past_grace_seconds.into()) {
                return Err(ApiError::invalid(
                    "send_at",
                    format!("is in the past by more than {} seconds", retention.reminder_past_grace_seconds),
                ));
            }
            if at > now + Duration::days(retention.reminder_max_ahead_days.into()) {
                return Err(ApiError::invalid(
                    "send_at",
                    format!("is more than {} days ahead", retention.reminder_max_ahead_days),
                ));
            }
            Ok(Some(at))
        }
    }
}

/// The answer to a retry of an accepted send, from the log; `None` when the
/// send does not exist.
async fn existing(state: &AppState, send_id: &str, request_hash: &str) -> Result<Option<Answer>, ApiError> {
    let send = state.rt.log.load::<Send>(send_id).await?.state;
    let Some(status) = send.status else { return Ok(None) };
    if send.request_hash != request_hash {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this idempotency_key was used with a different request",
        )
        .with_field("idempotency_key"));
    }
    Ok(Some(json(StatusCode::ACCEPTED, &SendAcceptedView { send_id: send_id.to_string(), status })))
}

pub(crate) fn quota_refusal(e: QuotaError) -> ApiError {
    match e {
        QuotaError::NotReady => ApiError::unavailable("the quota counts", &e),
        QuotaError::DailySends(_) | QuotaError::PendingReminders(_) => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "quota_exceeded", e.to_string())
        }
    }
}

/// The recipient's sealed chat, if it is connected and reachable.
pub(crate) async fn active_chat(
    state: &AppState,
    integration_id: &str,
    recipient_ref: &str,
) -> Result<(String, Sealed), ApiError> {
    let recipient_id = derive::recipient_id(&state.rt.keyring, integration_id, recipient_ref);
    let mut recipient = state.recipients.get(&recipient_id).await?.state;
    // It may have connected a moment ago, through another process.
    if recipient.status != Some(RecipientStatus::Active) {
        recipient = state.recipients.refresh(&recipient_id).await?.state;
    }
    match (recipient.status, recipient.chat) {
        (Some(RecipientStatus::Active), Some(chat)) => Ok((recipient_id, chat)),
        (None, _) | (_, None) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "recipient_not_connected",
            "no connected chat for this recipient_ref",
        )
        .with_field("recipient_ref")),
        (Some(status), Some(_)) => {
            let reason = recipient.reason.unwrap_or_else(|| status.to_string());
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "recipient_unreachable",
                format!("the recipient cannot receive messages ({reason}) until they connect again"),
            )
            .with_field("recipient_ref"))
        }
    }
}

/// The chat id a recipient's sealed chat holds (sealed as that recipient's).
pub(crate) fn open_chat(state: &AppState, recipient_id: &str, chat: &Sealed) -> Result<i64, ApiError> {
    let opened = state.rt.keyring.open_owned(derive::purpose::CHAT_ID, recipient_id, chat)?;
    opened.parse().map_err(|e| ApiError::internal(&e))
}

/// When a message due at `due` expires: the payload retention after it.
pub(crate) fn payload_expiry(state: &AppState, due: DateTime<Utc>) -> DateTime<Utc> {
    due + Duration::seconds(state.rt.config.retention.payload_seconds.into())
}

/// The message sealed with the data key of the epoch it expires in.
pub(crate) async fn seal_message(
    state: &AppState,
    message: &OutgoingMessage,
    due: DateTime<Utc>,
) -> Result<Sealed, ApiError> {
    let plaintext = serde_json::to_vec(message).map_err(|e| ApiError::internal(&e))?;
    let expires_at = payload_expiry(state, due);
    state
        .rt
        .payloads
        .seal(derive::purpose::OUTGOING_MESSAGE, &plaintext, expires_at)
        .await
        .map_err(|e| ApiError::unavailable("the payload key store", &e))
}

/// A message that answers something in a recipient's chat (an alert
/// card's reply, a command's ack or result): interactive, free, counted in
/// the project's quotas. The send id is the caller's, so a retry finds it.
pub(crate) struct ChatReply<'a> {
    pub send_id: String,
    pub project_id: &'a str,
    pub integration_id: &'a str,
    pub bot_key: &'a str,
    pub recipient_id: &'a str,
    pub template: &'a str,
    pub request_hash: String,
    pub message: OutgoingMessage,
}

/// A reply's text (1 to 4,096 characters) and its `parse_mode` (`HTML`, or
/// absent for plain text), checked.
pub(crate) fn reply_text(text: &str, parse_mode: Option<&str>) -> Result<Option<String>, ApiError> {
    fields::MESSAGE_TEXT.check("text", text)?;
    match parse_mode {
        None => Ok(None),
        Some("HTML") => Ok(Some("HTML".to_string())),
        Some(_) => Err(ApiError::invalid("parse_mode", "must be HTML, or absent for plain text")),
    }
}

/// The user's message a reply answers, and whose chat it goes to.
pub(crate) struct Answering<'a> {
    pub chat: &'a Sealed,
    pub message_id: i64,
    pub project_id: &'a str,
    pub integration_id: &'a str,
    pub bot_key: &'a str,
    pub recipient_id: &'a str,
}

impl<'a> Answering<'a> {
    /// The reply `send_id` makes to the user's message, in its chat.
    pub fn reply(
        &self,
        state: &AppState,
        send_id: String,
        template: &'a str,
        text: String,
        parse_mode: Option<String>,
        buttons: Vec<Vec<novij_events::send::MessageButton>>,
    ) -> Result<ChatReply<'a>, ApiError> {
        let message = OutgoingMessage {
            media: Vec::new(),
            chat_id: open_chat(state, self.recipient_id, self.chat)?,
            text,
            parse_mode,
            reply_to: Some(self.message_id),
            buttons,
        };
        Ok(ChatReply {
            request_hash: derive::request_hash(&state.rt.keyring, send_id.as_bytes()),
            send_id,
            project_id: self.project_id,
            integration_id: self.integration_id,
            bot_key: self.bot_key,
            recipient_id: self.recipient_id,
            template,
            message,
        })
    }
}

/// Accepts the reply once; `false` when it was accepted before.
pub(crate) async fn accept_reply(
    state: &AppState,
    meta: novij_events::EventMeta,
    answer: ChatReply<'_>,
) -> Result<bool, ApiError> {
    let reservation = state.quotas.reserve(answer.project_id, &answer.send_id, false).await.map_err(quota_refusal)?;
    let now = Utc::now();
    let uploads = uploads_of(&answer.message.media);
    media::claim_uploads(state, answer.project_id, &uploads, &answer.send_id, payload_expiry(state, now), &meta)
        .await?;
    let accepted = SendAccepted {
        uploads,
        send_id: answer.send_id.clone(),
        project_id: Some(answer.project_id.to_string()),
        integration_id: Some(answer.integration_id.to_string()),
        bot_key: answer.bot_key.to_string(),
        recipient_id: Some(answer.recipient_id.to_string()),
        template: answer.template.to_string(),
        payment_mode: PaymentMode::None,
        request_hash: answer.request_hash,
        origin: SendOrigin::Api,
        priority: Priority::Interactive,
        locale: None,
        message: seal_message(state, &answer.message, now).await?,
        payment: None,
        send_at: None,
        broadcast_id: None,
    };
    match state.rt.log.append(&Envelope::new(accepted, meta), Expect::NoEvents).await {
        Ok(_) => {
            reservation.commit();
            Ok(true)
        }
        Err(AppendError::Conflict) => Ok(false),
        Err(e) => Err(ApiError::unavailable("the event log", &e)),
    }
}

#[utoipa::path(post, path = "/api/v1/send", tag = "send", request_body = SendRequest, security(("api_key" = [])),
    responses((status = 202, body = SendAcceptedView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn create(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    accept(state, creds, bytes, Kind::Now).await
}

/// Validates a send or reminder and appends its `send.accepted`: all checks
/// first, so a refused request writes nothing. Every check is answered from
/// memory (the integration, the recipient, the quotas); the log is the only
/// round trip, and only a refusal asks it whether this is a retry.
pub async fn accept(state: AppState, creds: Credentials, bytes: bytes::Bytes, kind: Kind) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let (req, requested_locale) = parse_checked(&bytes)?;
    let send_at = due_at(&state, &req, kind)?;
    caller.require_project(&req.project_id)?;
    let keyring = &state.rt.keyring;
    let send_id = derive::send_id(keyring, &req.project_id, &req.idempotency_key);
    let request_hash = body::request_hash(keyring, &req)?;
    let checked = Checked { req, requested_locale, send_at, kind, meta: creds.meta() };
    match accept_new(&state, &caller, checked, &send_id, &request_hash).await {
        Ok(answer) => Ok(answer),
        // A retry gets its send back even after its quote expired, the quota
        // filled up or the recipient left.
        Err(refusal) => existing(&state, &send_id, &request_hash).await?.ok_or(refusal),
    }
}

/// A request that passed the checks needing no state.
struct Checked {
    req: SendRequest,
    requested_locale: Option<Locale>,
    send_at: Option<DateTime<Utc>>,
    kind: Kind,
    meta: novij_events::EventMeta,
}

async fn accept_new(
    state: &AppState,
    caller: &crate::auth::Caller,
    checked: Checked,
    send_id: &str,
    request_hash: &str,
) -> Result<Answer, ApiError> {
    let Checked { req, requested_locale, send_at, kind, meta } = checked;
    let integration = find_for_project(state, caller, &req.project_id, &req.integration_id).await?;
    let locale = requested_locale
        .unwrap_or_else(|| integration.default_locale.as_deref().and_then(|l| l.parse().ok()).unwrap_or_default());
    let ctx = RenderContext { locale, default_reminder_minutes: Some(integration.default_reminder_minutes) };
    let requested = media::Requested::new(&req.media, &req.media_group);
    let rendered = requested.render(&req.template, &req.template_vars, ctx)?;
    let media = requested.check(state, &req.project_id).await?;
    let priced = payments::Priced { project_id: &req.project_id, template: &req.template, recipients: 1 };
    let (payment_mode, payment) = payments::claim_for(state, priced, &req.payment_fields(), &integration)?;
    if let Some(claim) = &payment {
        payments::refuse_used_tx(state, &claim.tx_hash).await?;
    }
    let reservation =
        state.quotas.reserve(&req.project_id, send_id, kind == Kind::Reminder).await.map_err(quota_refusal)?;
    let (recipient_id, chat) = active_chat(state, &req.integration_id, &req.recipient_ref).await?;
    let uploads = uploads_of(&media);
    let due = send_at.unwrap_or_else(Utc::now);
    media::claim_uploads(state, &req.project_id, &uploads, send_id, payload_expiry(state, due), &meta).await?;
    let message = OutgoingMessage::new(
        open_chat(state, &recipient_id, &chat)?,
        rendered.text,
        rendered.parse_mode.map(str::to_string),
        media,
    );
    let sealed = seal_message(state, &message, due).await?;
    let accepted = SendAccepted {
        uploads,
        send_id: send_id.to_string(),
        project_id: Some(req.project_id),
        integration_id: Some(integration.integration_id.clone()),
        bot_key: integration.bot_key.clone(),
        recipient_id: Some(recipient_id),
        template: req.template,
        payment_mode,
        request_hash: request_hash.to_string(),
        origin: SendOrigin::Api,
        priority: req.priority.unwrap_or_default(),
        locale: Some(locale.as_str().to_string()),
        message: sealed,
        payment,
        send_at,
        broadcast_id: None,
    };
    match state.rt.log.append(&Envelope::new(accepted, meta), Expect::NoEvents).await {
        Ok(_) => {
            reservation.commit();
            tracing::info!(send_id = %send_id, integration_id = %integration.integration_id, reminder = send_at.is_some(), "send accepted");
            Ok(json(
                StatusCode::ACCEPTED,
                &SendAcceptedView { send_id: send_id.to_string(), status: SendStatus::Accepted },
            ))
        }
        // A concurrent request with the same key won: answer as its retry.
        Err(AppendError::Conflict) => existing(state, send_id, request_hash)
            .await?
            .ok_or_else(|| ApiError::internal(&"send vanished after a conflicting append")),
        Err(e) => Err(ApiError::unavailable("the event log", &e)),
    }
}

/// The view of a send the projections do not show yet, read from its
/// `send.accepted` event (sends are answered 202 before they are projected).
async fn just_accepted(state: &AppState, caller: &crate::auth::Caller, id: &str) -> Result<SendView, ApiError> {
    let accepted = if ids::is_valid(ids::SEND, id) { state.rt.log.last::<SendAccepted>(id).await? } else { None };
    let Some((accepted, _)) = accepted.filter(|(a, _)| caller.sees(a.payload.project_id.as_deref())) else {
        return Err(ApiError::not_found("send"));
    };
    let p = accepted.payload;
    Ok(SendView {
        send_id: p.send_id,
        project_id: p.project_id,
        integration_id: p.integration_id,
        template: p.template,
        status: SendStatus::Accepted,
        send_at: p.send_at,
        payment_tx: None,
        telegram_message_id: None,
        failure: None,
        attempts: 0,
        accepted_at: accepted.occurred_at,
        updated_at: accepted.occurred_at,
        history: vec![HistoryEntry { status: SendStatus::Accepted, at: accepted.occurred_at, detail: None }],
    })
}

#[derive(Serialize, ToSchema)]
pub struct SendView {
    pub send_id: String,
    pub project_id: Option<String>,
    pub integration_id: Option<String>,
    pub template: String,
    /// `accepted`, `scheduled` (a reminder waiting for `send_at`), `cancelled`,
    /// `queued`, `sent`, `failed` or `dead_lettered`.
    #[schema(value_type = String)]
    pub status: SendStatus,
    /// Reminders: when it is due.
    pub send_at: Option<DateTime<Utc>>,
    /// Paid sends: the ledger transaction that paid for it, once verified.
    pub payment_tx: Option<String>,
    pub telegram_message_id: Option<i64>,
    pub failure: Option<FailureView>,
    pub attempts: i32,
    pub accepted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub history: Vec<HistoryEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct FailureView {
    /// e.g. `recipient_blocked`, `tx_already_used`, `insufficient_amount`.
    #[schema(value_type = String)]
    pub reason: FailureReason,
    pub detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryEntry {
    #[schema(value_type = String)]
    pub status: SendStatus,
    pub at: DateTime<Utc>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

/// A send as the caller may see it: from the projections, or from the log
/// when it was accepted a moment ago.
pub async fn view(state: &AppState, caller: &crate::auth::Caller, id: &str) -> Result<SendView, ApiError> {
    let found = if ids::is_valid(ids::SEND, id) { queries::send_with_history(&state.rt.db, id).await? } else { None };
    let Some((send, history)) = found else { return just_accepted(state, caller, id).await };
    if !caller.sees(send.project_id.as_deref()) {
        return Err(ApiError::not_found("send"));
    }
    let label = |e: novij_events::labels::UnknownLabel| ApiError::internal(&e);
    let failure = match send.failure_reason {
        Some(reason) => Some(FailureView { reason: reason.parse().map_err(label)?, detail: send.failure_detail }),
        None => None,
    };
    let history = history
        .into_iter()
        .map(|h| Ok(HistoryEntry { status: h.status.parse().map_err(label)?, at: h.at, detail: h.detail }))
        .collect::<Result<_, ApiError>>()?;
    Ok(SendView {
        send_id: send.send_id,
        project_id: send.project_id,
        integration_id: send.integration_id,
        template: send.template,
        status: send.status.parse().map_err(label)?,
        send_at: send.send_at,
        payment_tx: send.payment_tx,
        telegram_message_id: send.telegram_message_id,
        failure,
        attempts: send.attempts,
        accepted_at: send.accepted_at,
        updated_at: send.updated_at,
        history,
    })
}

#[utoipa::path(get, path = "/api/v1/sends/{id}", tag = "send", security(("api_key" = [])),
    params(("id" = String, Path, description = "send id")),
    responses((status = 200, body = SendView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    Ok(json(StatusCode::OK, &view(&state, &caller, &id).await?))
}
