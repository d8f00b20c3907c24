//! `POST /broadcasts` (one message to many connected recipients, fixed now),
//! `GET /broadcasts/{id}` (its progress) and `POST /broadcasts/{id}/cancel`.
//!
//! Creating one appends `broadcast.created` only; the payment-verifier
//! clears it, the scheduler queues one bulk send per recipient when it is
//! due, and the dispatcher takes none of them off the queue once it is
//! cancelled.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use novij_aggregates::broadcast::{cancel as decide_cancel, Broadcast, BroadcastRefusal};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::broadcast::{BroadcastContent, BroadcastCreated};
use novij_events::integration::PaymentMode;
use novij_events::media::uploads_of;
use novij_events::status::{BroadcastStatus, SendStatus};
use novij_events::{ids, Envelope};
use novij_runtime::derive;
use novij_templates::RenderContext;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::integrations::find_for_project;
use super::payments::{self, PaymentFields, Priced};
use super::sends::payload_expiry;
use super::{json, Credentials};
use crate::answer::Answer;
use crate::auth::Caller;
use crate::body::{self, check_locale};
use crate::error::ApiError;
use crate::fields;
use crate::media::{claim_uploads, Requested};
use crate::selection::{resolve, RecipientVars, Selection};
use crate::state::AppState;

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    pub integration_id: String,
    #[schema(schema_with = crate::fields::broadcast_recipient_refs)]
    pub recipient_refs: Option<Vec<String>>,
    #[serde(default)]
    pub all_connected: bool,
    pub recipients: Option<Vec<RecipientVars>>,
    /// See `GET /settings`.
    #[schema(schema_with = crate::fields::template)]
    pub template: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub template_vars: Map<String, Value>,
    /// `ru` or `en`; defaults to the integration's `default_locale`.
    #[schema(schema_with = crate::fields::optional_locale)]
    pub locale: Option<String>,
    /// Not before this instant (RFC 3339 with an offset); absent: now.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub send_at: Option<DateTime<FixedOffset>>,
    #[serde(default)]
    #[schema(schema_with = crate::fields::optional_payment_mode)]
    pub payment_mode: Option<PaymentMode>,
    /// DSR: one transaction pays for the whole broadcast (price × recipients).
    pub tx_hash: Option<String>,
    #[schema(schema_with = crate::fields::optional_wallet_id)]
    pub payer_wallet_id: Option<String>,
    /// DSR: a quote covering at least this many recipients.
    pub payment_code: Option<String>,
    /// Required; the same key with the same body returns the same broadcast.
    #[schema(schema_with = crate::fields::idempotency_key)]
    pub idempotency_key: String,
    /// One file for everyone; the rendered template is its caption.
    pub media: Option<crate::media::MediaRequest>,
    /// An album of 2–10 files for everyone; the rendered template is its caption.
    #[schema(min_items = 2, max_items = 10)]
    pub media_group: Option<Vec<crate::media::MediaRequest>>,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastCreatedView {
    pub broadcast_id: String,
    /// The recipients it is fixed to.
    pub total: usize,
}

#[utoipa::path(post, path = "/api/v1/broadcasts", tag = "broadcasts", request_body = BroadcastRequest,
    security(("api_key" = [])),
    responses((status = 202, body = BroadcastCreatedView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: BroadcastRequest = body::parse(&bytes)?;
    fields::PROJECT_ID.check("project_id", &req.project_id)?;
    fields::IDEMPOTENCY_KEY.check("idempotency_key", &req.idempotency_key)?;
    let requested_locale = req.locale.as_deref().map(|l| check_locale("locale", l)).transpose()?;
    let send_at = due_at(&state, req.send_at)?;
    let keyring = &state.rt.keyring;
    let broadcast_id = derive::broadcast_id(keyring, &req.project_id, &req.idempotency_key);
    let request_hash = body::request_hash(keyring, &req)?;
    // Broadcasts made by earlier releases hashed the body as it came.
    let hashes = [request_hash.clone(), derive::request_hash(keyring, &bytes)];
    if let Some(answer) = existing(&state, &broadcast_id, &hashes).await? {
        return Ok(answer);
    }
    let integration = find_for_project(&state, &caller, &req.project_id, &req.integration_id).await?;
    let locale = requested_locale
        .unwrap_or_else(|| integration.default_locale.as_deref().and_then(|l| l.parse().ok()).unwrap_or_default());
    let ctx = || RenderContext { locale, default_reminder_minutes: Some(integration.default_reminder_minutes) };
    let requested = Requested::new(&req.media, &req.media_group);
    requested.render(&req.template, &req.template_vars, ctx())?;
    let media = requested.check(&state, &req.project_id).await?;
    let selection =
        Selection { recipient_refs: req.recipient_refs, all_connected: req.all_connected, recipients: req.recipients };
    let resolved = resolve(&state, &integration, selection).await?;
    let mut per_recipient = BTreeMap::new();
    for r in &resolved {
        let Some(vars) = &r.vars else { continue };
        let mut merged = req.template_vars.clone();
        merged.extend(vars.clone());
        requested.render(&req.template, &merged, ctx()).map_err(|mut e| {
            e.detail.field = e.detail.field.map(|field| format!("{}.{field}", r.field));
            e
        })?;
        per_recipient.insert(r.recipient_id.clone(), vars.clone());
    }
    let total = resolved.len();
    let fields = PaymentFields {
        payment_mode: req.payment_mode,
        tx_hash: req.tx_hash,
        payer_wallet_id: req.payer_wallet_id,
        payment_code: req.payment_code,
    };
    let priced = Priced {
        project_id: &req.project_id,
        template: &req.template,
        recipients: u32::try_from(total).unwrap_or(u32::MAX),
    };
    let (_, payment) = payments::claim_for(&state, priced, &fields, &integration)?;
    if let Some(claim) = &payment {
        payments::refuse_used_tx(&state, &claim.tx_hash).await?;
    }
    let expires_at = payload_expiry(&state, send_at.unwrap_or_else(Utc::now));
    let uploads = uploads_of(&media);
    let content = BroadcastContent { template_vars: req.template_vars, per_recipient, media };
    let plaintext = serde_json::to_vec(&content).map_err(|e| ApiError::internal(&e))?;
    let sealed = state
        .rt
        .payloads
        .seal(derive::purpose::BROADCAST_CONTENT, &plaintext, expires_at)
        .await
        .map_err(|e| ApiError::unavailable("the payload key store", &e))?;
    let created = BroadcastCreated {
        broadcast_id: broadcast_id.clone(),
        project_id: req.project_id,
        integration_id: integration.integration_id.clone(),
        bot_key: integration.bot_key.clone(),
        template: req.template,
        locale: locale.as_str().to_string(),
        content: sealed,
        recipients: resolved.into_iter().map(|r| r.recipient_id).collect(),
        request_hash: request_hash.clone(),
        payment,
        send_at,
    };
    let meta = creds.meta();
    let project_id = created.project_id.clone();
    let env = Envelope::new(created, meta.clone());
    // One event holds every recipient: it must fit in one NATS message.
    let size = serde_json::to_vec(&env).map_err(|e| ApiError::internal(&e))?.len();
    let room = state.rt.nats.server_info().max_payload.saturating_sub(4096);
    if size > room {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "broadcast_too_large",
            format!("the broadcast takes {size} bytes, more than one event holds ({room}); split it"),
        ));
    }
    claim_uploads(&state, &project_id, &uploads, &broadcast_id, expires_at, &meta).await?;
    match state.rt.log.append(&env, Expect::NoEvents).await {
        Ok(_) => {
            tracing::info!(broadcast_id = %broadcast_id, total, "broadcast created");
            Ok(json(StatusCode::ACCEPTED, &BroadcastCreatedView { broadcast_id, total }))
        }
        Err(AppendError::Conflict) => existing(&state, &broadcast_id, &hashes)
            .await?
            .ok_or_else(|| ApiError::internal(&"broadcast vanished after a conflicting append")),
        Err(e) => Err(ApiError::unavailable("the event log", &e)),
    }
}

/// The broadcast an idempotency key made already: the same answer, or 409
/// when the key came with another request (none of `request_hashes`).
async fn existing(state: &AppState, broadcast_id: &str, request_hashes: &[String]) -> Result<Option<Answer>, ApiError> {
    let Some(created) = state.rt.log.load::<Broadcast>(broadcast_id).await?.state.created else { return Ok(None) };
    if !request_hashes.contains(&created.request_hash) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            "this idempotency_key was used with a different request",
        )
        .with_field("idempotency_key"));
    }
    let view = BroadcastCreatedView { broadcast_id: broadcast_id.to_string(), total: created.recipients.len() };
    Ok(Some(json(StatusCode::ACCEPTED, &view)))
}

/// When it may go out: within the reminders' window.
fn due_at(state: &AppState, send_at: Option<DateTime<FixedOffset>>) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(at) = send_at.map(|a| a.with_timezone(&Utc)) else { return Ok(None) };
    let ahead = state.rt.config.retention.reminder_max_ahead_days;
    if at > Utc::now() + chrono::Duration::days(ahead.into()) {
        return Err(ApiError::invalid("send_at", format!("is more than {ahead} days ahead")));
    }
    Ok(Some(at))
}

#[derive(Serialize, ToSchema, Default)]
pub struct Progress {
    /// Not yet handed to the dispatcher as sends (payment, `send_at`, queueing).
    pub pending: i64,
    /// Queued for delivery (or being retried).
    pub queued: i64,
    pub sent: i64,
    /// By reason (`recipient_blocked`, …).
    pub failed: BTreeMap<String, i64>,
    pub dead_lettered: i64,
    /// Not sent because the broadcast was cancelled.
    pub cancelled: i64,
    /// Recipients that were not connected any more when it went out, by reason.
    pub skipped: BTreeMap<String, i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BroadcastView {
    pub broadcast_id: String,
    pub project_id: String,
    pub integration_id: String,
    pub template: String,
    /// `pending`, `cleared`, `queued`, `refused` or `cancelled`.
    #[schema(value_type = String)]
    pub status: BroadcastStatus,
    /// Why its payment was refused (`insufficient_amount`, `tx_already_used`, …)…
    pub failure_reason: Option<String>,
    /// …and what the ledger showed (the amount paid and due).
    pub failure_detail: Option<String>,
    pub total: i64,
    pub progress: Progress,
    pub send_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/broadcasts/{id}", tag = "broadcasts", security(("api_key" = [])),
    params(("id" = String, Path, description = "broadcast id")),
    responses((status = 200, body = BroadcastView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let view = view(&state, &caller, &id).await?;
    Ok(json(StatusCode::OK, &view))
}

/// The broadcast and its progress, from the projections.
pub async fn view(state: &AppState, caller: &Caller, id: &str) -> Result<BroadcastView, ApiError> {
    let not_found = || ApiError::not_found("broadcast").with_field("broadcast_id");
    let found = if ids::is_valid(ids::BROADCAST, id) {
        novij_projections::queries::broadcast(&state.rt.db, id).await?
    } else {
        None
    };
    let Some(b) = found.filter(|b| caller.sees(Some(&b.project_id))) else {
        return just_created(state, caller, id).await?.ok_or_else(not_found);
    };
    let label = |e: novij_events::labels::UnknownLabel| ApiError::internal(&e);
    let mut progress = Progress::default();
    let mut made = 0;
    for (status, reason, n) in novij_projections::queries::broadcast_sends(&state.rt.db, id).await? {
        made += n;
        match status.parse::<SendStatus>().map_err(label)? {
            SendStatus::Sent => progress.sent += n,
            SendStatus::Failed => *progress.failed.entry(reason.unwrap_or_default()).or_default() += n,
            SendStatus::DeadLettered => progress.dead_lettered += n,
            SendStatus::Cancelled => progress.cancelled += n,
            SendStatus::Accepted | SendStatus::Scheduled | SendStatus::Queued => progress.queued += n,
        }
    }
    if let Some(skipped) = b.skipped.as_ref().and_then(|s| s.as_object()) {
        for (reason, n) in skipped {
            progress.skipped.insert(reason.clone(), n.as_i64().unwrap_or_default());
        }
    }
    let status: BroadcastStatus = b.status.parse().map_err(label)?;
    let skipped: i64 = progress.skipped.values().sum();
    progress.pending = match status {
        // What was never made into a send will not be.
        BroadcastStatus::Refused | BroadcastStatus::Cancelled => 0,
        _ => (i64::from(b.total) - made - skipped).max(0),
    };
    if status == BroadcastStatus::Cancelled {
        progress.cancelled += (i64::from(b.total) - made - skipped).max(0);
    }
    Ok(BroadcastView {
        broadcast_id: b.broadcast_id,
        project_id: b.project_id,
        integration_id: b.integration_id,
        template: b.template,
        status,
        failure_reason: b.failure_reason,
        failure_detail: b.failure_detail,
        total: i64::from(b.total),
        progress,
        send_at: b.send_at,
        created_at: b.created_at,
        updated_at: b.updated_at,
    })
}

/// A broadcast the projections do not show yet, from its event.
async fn just_created(state: &AppState, caller: &Caller, id: &str) -> Result<Option<BroadcastView>, ApiError> {
    if !ids::is_valid(ids::BROADCAST, id) {
        return Ok(None);
    }
    let Some((created, _)) = state.rt.log.last::<BroadcastCreated>(id).await? else { return Ok(None) };
    if !caller.sees(Some(&created.payload.project_id)) {
        return Ok(None);
    }
    let p = created.payload;
    let total = i64::try_from(p.recipients.len()).unwrap_or(i64::MAX);
    Ok(Some(BroadcastView {
        broadcast_id: p.broadcast_id,
        project_id: p.project_id,
        integration_id: p.integration_id,
        template: p.template,
        status: BroadcastStatus::Pending,
        failure_reason: None,
        failure_detail: None,
        total,
        progress: Progress { pending: total, ..Progress::default() },
        send_at: p.send_at,
        created_at: created.occurred_at,
        updated_at: created.occurred_at,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct CancelledView {
    pub broadcast_id: String,
    /// Always true (also for a broadcast cancelled before).
    pub cancelled: bool,
}

#[utoipa::path(post, path = "/api/v1/broadcasts/{id}/cancel", tag = "broadcasts", security(("api_key" = [])),
    params(("id" = String, Path, description = "broadcast id")),
    responses((status = 200, body = CancelledView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn cancel(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let not_found = || ApiError::not_found("broadcast").with_field("broadcast_id");
    if !ids::is_valid(ids::BROADCAST, &id) {
        return Err(not_found());
    }
    loop {
        let Loaded { state: broadcast, version } = state.rt.log.load::<Broadcast>(&id).await?;
        let Some(created) = broadcast.created.as_ref().filter(|c| caller.sees(Some(&c.project_id))) else {
            return Err(not_found());
        };
        super::integrations::require_owner_of(&state, &caller, &created.integration_id).await?;
        let cancelled = match decide_cancel(&broadcast) {
            Ok(Some(cancelled)) => cancelled,
            Ok(None) => break,
            Err(BroadcastRefusal::NotFound) => return Err(not_found()),
            Err(refusal @ BroadcastRefusal::PaymentRefused) => {
                return Err(ApiError::new(StatusCode::CONFLICT, "broadcast_refused", refusal.to_string())
                    .with_field("broadcast_id"))
            }
        };
        // Fenced on its history: a change in between (its queueing) is read again.
        match state.rt.log.append(&Envelope::new(cancelled, creds.meta()), Expect::LastSequence(version)).await {
            Ok(_) => {
                tracing::info!(broadcast_id = %id, "broadcast cancelled");
                break;
            }
            Err(AppendError::Conflict) => continue,
            Err(e) => return Err(ApiError::unavailable("the event log", &e)),
        }
    }
    Ok(json(StatusCode::OK, &CancelledView { broadcast_id: id, cancelled: true }))
}
