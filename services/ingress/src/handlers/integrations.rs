//! `POST /integrations`, `GET` and `PATCH /integrations/{id}`, `GET /integrations/{id}/recipients`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use novij_aggregates::integration::{
    decide, takes_a_token, Changes, InboundTarget, Integration, IntegrationChange, IntegrationCommand,
    IntegrationRefusal, NewToken,
};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::integration::{BotIdentity, BotMode, IntegrationCreated, PaymentMode};
use novij_events::labels::UnknownLabel;
use novij_events::rpc::{BotCredential, BotVerifyReply, BotVerifyRequest};
use novij_events::status::{BotStatus, WebhookStatus};
use novij_events::{ids, subjects, Envelope};
use novij_projections::model::integration;
use novij_runtime::derive::purpose;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::{ask_dispatcher, json, read_your_write, Credentials};
use crate::answer::Answer;
use crate::auth::Caller;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::project_webhook;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    #[schema(schema_with = crate::fields::wallet_id)]
    pub owner_wallet_id: String,
    /// `common` (the shared bot) or `custom` (needs `custom_bot_token`).
    #[schema(schema_with = crate::fields::bot_mode)]
    pub bot_mode: BotMode,
    /// Verified with getMe; stored encrypted only, never returned.
    pub custom_bot_token: Option<String>,
    /// `none` or `dsr`.
    #[schema(schema_with = crate::fields::payment_mode)]
    pub payment_mode: PaymentMode,
    #[schema(maximum = 10080)]
    pub default_reminder_minutes: u32,
    /// Where inbound messages are POSTed, signed (https; the answer shows the
    /// signing secret once, as `inbound_secret`).
    #[schema(schema_with = crate::fields::optional_https_url)]
    pub inbound_webhook_url: Option<String>,
    /// `ru` (default) or `en`: the language of sends that name no `locale`.
    #[schema(schema_with = crate::fields::optional_locale)]
    pub default_locale: Option<String>,
    /// Custom bots only: beyond Telegram's free 30 messages/s, calls carry
    /// `allow_paid_broadcast` (up to 1000/s, paid in Stars from the bot's balance).
    #[serde(default)]
    pub allow_paid_broadcast: bool,
}

/// What `PATCH /integrations/{id}` may change; absent fields keep their value.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegration {
    /// A new token of the same bot (after a revoke in BotFather): verified
    /// with getMe, it must belong to the integration's bot. Sends waiting
    /// because Telegram refused the old token go out with it.
    pub custom_bot_token: Option<String>,
    /// Custom bots only.
    pub allow_paid_broadcast: Option<bool>,
    #[schema(maximum = 10080)]
    pub default_reminder_minutes: Option<u32>,
    #[schema(schema_with = crate::fields::optional_locale)]
    pub default_locale: Option<String>,
    /// A URL: inbound messages are POSTed there from now on (the first one
    /// brings the signing secret, shown once as `inbound_secret`); `null`:
    /// nowhere (they stay on the feed).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::fields::optional_https_url)]
    pub inbound_webhook_url: Option<Option<String>>,
}

/// A field that is present, `null` included (absent stays `None`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Serialize, ToSchema)]
pub struct IntegrationView {
    pub integration_id: String,
    pub project_id: String,
    pub owner_wallet_id: String,
    pub bot_mode: String,
    pub bot_username: String,
    pub payment_mode: String,
    pub default_reminder_minutes: i32,
    pub inbound_webhook_url: Option<String>,
    pub default_locale: String,
    pub allow_paid_broadcast: bool,
    pub webhook: WebhookView,
    /// `ok`, or `unauthorized` once Telegram refused the bot token.
    #[schema(value_type = String)]
    pub bot_status: BotStatus,
    pub bot_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The secret inbound messages are signed with (`whsec_…`): only in the
    /// answer of the call that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inbound_secret: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    /// `pending`, `set` or `failed`.
    #[schema(value_type = String)]
    pub status: WebhookStatus,
    pub error: Option<String>,
}

impl TryFrom<integration::Model> for IntegrationView {
    type Error = ApiError;
    fn try_from(m: integration::Model) -> Result<Self, ApiError> {
        let label = |e: UnknownLabel| ApiError::internal(&e);
        Ok(Self {
            integration_id: m.id,
            project_id: m.project_id,
            owner_wallet_id: m.owner_wallet_id,
            bot_mode: m.bot_mode,
            bot_username: m.bot_username,
            payment_mode: m.payment_mode,
            default_reminder_minutes: m.default_reminder_minutes,
            inbound_webhook_url: m.inbound_webhook_url,
            default_locale: m.default_locale,
            allow_paid_broadcast: m.allow_paid_broadcast,
            webhook: WebhookView { status: m.webhook_status.parse().map_err(label)?, error: m.webhook_error },
            bot_status: m.bot_status.parse().map_err(label)?,
            bot_error: m.bot_error,
            created_at: m.created_at,
            inbound_secret: None,
        })
    }
}

/// Free sends (`payment_mode: none`) are the operator's to grant: the admin
/// key, or a project of `FREE_PROJECTS`.
fn may_choose(state: &AppState, caller: &Caller, project_id: &str, mode: PaymentMode) -> Result<(), ApiError> {
    let free_for = &state.rt.config.free_projects;
    let allowed = match (mode, caller) {
        (PaymentMode::Dsr, _) | (_, Caller::Admin) => true,
        (PaymentMode::None, Caller::Project { .. }) => {
            free_for.as_ref().is_none_or(|projects| projects.contains(project_id))
        }
    };
    match allowed {
        true => Ok(()),
        false => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "payment_mode_not_allowed",
            "this project may not choose free sends; ask the operator (FREE_PROJECTS) or choose `dsr`",
        )
        .with_field("payment_mode")),
    }
}

fn validate(req: &CreateIntegration) -> Result<(), ApiError> {
    fields::PROJECT_ID.check("project_id", &req.project_id)?;
    fields::WALLET_ID.check("owner_wallet_id", &req.owner_wallet_id)?;
    match (req.bot_mode, &req.custom_bot_token) {
        (BotMode::Custom, None) => {
            return Err(ApiError::invalid("custom_bot_token", "is required when bot_mode is custom"))
        }
        (BotMode::Custom, Some(t)) if !novij_config::looks_like_bot_token(t) => {
            return Err(ApiError::invalid("custom_bot_token", "is not a Telegram bot token (`<digits>:<secret>`)"))
        }
        (BotMode::Common, Some(_)) => {
            return Err(ApiError::invalid("custom_bot_token", "must be absent when bot_mode is common"))
        }
        _ => {}
    }
    if req.allow_paid_broadcast && req.bot_mode == BotMode::Common {
        return Err(refused(IntegrationRefusal::PaidBroadcastIsForCustomBots));
    }
    check_defaults(Some(req.default_reminder_minutes), req.default_locale.as_deref())?;
    Ok(())
}

fn check_defaults(reminder_minutes: Option<u32>, locale: Option<&str>) -> Result<(), ApiError> {
    if reminder_minutes.is_some_and(|m| m > 10_080) {
        return Err(ApiError::invalid("default_reminder_minutes", "must be at most 10080 (one week)"));
    }
    if let Some(locale) = locale {
        crate::body::check_locale("default_locale", locale)?;
    }
    Ok(())
}

/// Asks the dispatcher to verify the bot with getMe.
async fn verify_bot(state: &AppState, bot: BotCredential) -> Result<novij_events::integration::BotIdentity, ApiError> {
    let request = BotVerifyRequest { bot };
    match ask_dispatcher(state, subjects::RPC_BOT_VERIFY, &request, Duration::from_secs(15)).await? {
        BotVerifyReply::Verified { bot } => Ok(bot),
        BotVerifyReply::InvalidToken { detail } => {
            Err(ApiError::invalid("custom_bot_token", format!("Telegram rejected this bot token: {detail}")))
        }
        BotVerifyReply::NotConfigured => {
            Err(ApiError::invalid("bot_mode", "no common bot is configured on this service"))
        }
        BotVerifyReply::Unavailable { detail } => Err(ApiError::unavailable("Telegram", &detail)),
    }
}

/// Verifies a custom bot token with getMe (sent to the dispatcher sealed by
/// the key ring, for this request only).
async fn verify_token(state: &AppState, token: &str) -> Result<BotIdentity, ApiError> {
    let sealed = state.rt.keyring.seal_str(purpose::BOT_TOKEN, token)?;
    verify_bot(state, BotCredential::Custom { token: sealed }).await
}

/// Seals a verified token for the log with a data key of its own, which
/// deleting the integration shreds.
async fn seal_token(state: &AppState, token: &str) -> Result<novij_crypto::Sealed, ApiError> {
    state
        .rt
        .payloads
        .seal_until_shredded(purpose::BOT_TOKEN, token.as_bytes())
        .await
        .map_err(|e| ApiError::unavailable("the key store", &e))
}

/// The refusal of an integration command, as the API answers it.
pub(super) fn refused(refusal: IntegrationRefusal) -> ApiError {
    let message = refusal.to_string();
    match refusal {
        IntegrationRefusal::NotFound => ApiError::not_found("integration").with_field("integration_id"),
        IntegrationRefusal::NothingToChange => ApiError::invalid("body", message),
        IntegrationRefusal::PaidBroadcastIsForCustomBots => ApiError::invalid("allow_paid_broadcast", message),
        IntegrationRefusal::CommonBotHasNoToken | IntegrationRefusal::AnotherBot { .. } => {
            ApiError::invalid("custom_bot_token", message)
        }
        IntegrationRefusal::NoInboundWebhook => {
            ApiError::new(StatusCode::CONFLICT, "no_inbound_webhook", message).with_field("integration_id")
        }
        IntegrationRefusal::CommandsNeedCustomBot => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "commands_need_custom_bot", message)
                .with_field("integration_id")
        }
    }
}

/// The integration as its events say, when the caller acts for its project.
pub(super) async fn load_for_caller(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
) -> Result<Loaded<Integration>, ApiError> {
    if !ids::is_valid(ids::INTEGRATION, id) {
        return Err(refused(IntegrationRefusal::NotFound));
    }
    let loaded = state.rt.log.load::<Integration>(id).await?;
    match loaded.state.project_id.as_deref() {
        Some(project) if caller.sees(Some(project)) => {
            caller.require_project(project)?;
            caller.require_owner(&loaded.state.owner_wallet_id)?;
            Ok(loaded)
        }
        _ => Err(refused(IntegrationRefusal::NotFound)),
    }
}

pub(super) fn changed_meanwhile() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "conflict",
        "the integration changed while this request was handled; send it again",
    )
    .with_field("integration_id")
}

#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations", request_body = CreateIntegration,
    security(("api_key" = [])),
    responses((status = 201, body = IntegrationView), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn create(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: CreateIntegration = body::parse(&bytes)?;
    validate(&req)?;
    caller.require_project(&req.project_id)?;
    caller.require_owner(&req.owner_wallet_id)?;
    may_choose(&state, &caller, &req.project_id, req.payment_mode)?;
    let inbound_webhook_url = match &req.inbound_webhook_url {
        Some(url) => Some(project_webhook::checked_url(&state, url).await?),
        None => None,
    };
    let bot = match req.custom_bot_token.as_deref() {
        Some(token) => verify_token(&state, token).await?,
        None => verify_bot(&state, BotCredential::Common).await?,
    };
    let sealed_token = match req.custom_bot_token.as_deref() {
        Some(token) => Some(seal_token(&state, token).await?),
        None => None,
    };
    let integration_id = ids::new_id(ids::INTEGRATION);
    let secret = match inbound_webhook_url {
        Some(_) => Some(project_webhook::fresh_secret(&state, &integration_id)?),
        None => None,
    };
    let created = IntegrationCreated {
        integration_id,
        project_id: req.project_id,
        owner_wallet_id: req.owner_wallet_id,
        bot_mode: req.bot_mode,
        bot,
        bot_token: sealed_token,
        payment_mode: req.payment_mode,
        default_reminder_minutes: req.default_reminder_minutes,
        inbound_webhook_url,
        inbound_secret: secret.as_ref().map(|(_, sealed)| sealed.clone()),
        default_locale: req.default_locale,
        allow_paid_broadcast: req.allow_paid_broadcast,
    };
    let id = created.integration_id.clone();
    let env = Envelope::new(created, creds.meta());
    let appended =
        state.rt.log.append(&env, Expect::NoEvents).await.map_err(|e| ApiError::unavailable("the event log", &e))?;
    read_your_write(&state, appended.sequence).await;
    tracing::info!(integration_id = %id, "integration created");
    let shown = secret.map(|(secret, _)| secret);
    match novij_projections::queries::integration(&state.rt.db, &id).await? {
        Some(m) => {
            Ok(json(StatusCode::CREATED, &IntegrationView { inbound_secret: shown, ..IntegrationView::try_from(m)? }))
        }
        None => Ok(json(StatusCode::CREATED, &serde_json::json!({ "integration_id": id, "inbound_secret": shown }))),
    }
}

/// The integration, if it exists and the caller may see it.
pub async fn find_visible(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
) -> Result<integration::Model, ApiError> {
    let found = if ids::is_valid(ids::INTEGRATION, id) {
        novij_projections::queries::integration(&state.rt.db, id).await?
    } else {
        None
    };
    found
        .filter(|m| caller.sees(Some(&m.project_id)))
        .ok_or_else(|| ApiError::not_found("integration").with_field("integration_id"))
}

/// The live integration a request of `project_id` names, as the log has it
/// (kept in memory): the caller must act for the project, and the
/// integration must belong to it (404 naming `integration_id` otherwise,
/// without telling which part failed).
pub async fn find_for_project(
    state: &AppState,
    caller: &crate::auth::Caller,
    project_id: &str,
    integration_id: &str,
) -> Result<Integration, ApiError> {
    caller.require_project(project_id)?;
    let not_found = || ApiError::not_found("integration").with_field("integration_id");
    if !ids::is_valid(ids::INTEGRATION, integration_id) {
        return Err(not_found());
    }
    let mut integration = state.integrations.get(integration_id).await?.state;
    // It may have been created a moment ago, through another ingress.
    if integration.project_id.is_none() {
        integration = state.integrations.refresh(integration_id).await?.state;
    }
    if !integration.is_live() || integration.project_id.as_deref() != Some(project_id) {
        return Err(not_found());
    }
    caller.require_owner(&integration.owner_wallet_id)?;
    Ok(integration)
}

/// When the request is signed, the signer must own the integration that
/// what it acts on belongs to (`crate::signatures`).
pub async fn require_owner_of(
    state: &AppState,
    caller: &crate::auth::Caller,
    integration_id: &str,
) -> Result<(), ApiError> {
    if !caller.is_signed() {
        return Ok(());
    }
    let mut integration = state.integrations.get(integration_id).await?.state;
    if integration.project_id.is_none() {
        integration = state.integrations.refresh(integration_id).await?.state;
    }
    caller.require_owner(&integration.owner_wallet_id)
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}", tag = "integrations", security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id")),
    responses((status = 200, body = IntegrationView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let m = find_visible(&state, &caller, &id).await?;
    Ok(json(StatusCode::OK, &IntegrationView::try_from(m)?))
}

#[utoipa::path(patch, path = "/api/v1/integrations/{id}", tag = "integrations", request_body = UpdateIntegration,
    security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id")),
    responses((status = 200, body = IntegrationView), (status = 404, body = crate::error::ErrorBody),
        (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn update(state: AppState, creds: Credentials, id: String, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let Loaded { state: integration, version } = load_for_caller(&state, &caller, &id).await?;
    if !integration.is_live() {
        return Err(refused(IntegrationRefusal::NotFound));
    }
    let req: UpdateIntegration = body::parse(&bytes)?;
    if let Some(token) = &req.custom_bot_token {
        takes_a_token(&integration).map_err(refused)?;
        if !novij_config::looks_like_bot_token(token) {
            return Err(ApiError::invalid("custom_bot_token", "is not a Telegram bot token (`<digits>:<secret>`)"));
        }
    }
    check_defaults(req.default_reminder_minutes, req.default_locale.as_deref())?;
    let mut secret = None;
    let inbound_webhook = match &req.inbound_webhook_url {
        None => None,
        Some(None) => Some(InboundTarget::Removed),
        Some(Some(url)) => {
            let url = project_webhook::checked_url(&state, url).await?;
            let (shown, fresh_secret) = project_webhook::fresh_secret(&state, &id)?;
            secret = Some(shown);
            Some(InboundTarget::Url { url, fresh_secret })
        }
    };
    let token = match &req.custom_bot_token {
        Some(token) => {
            Some(NewToken { bot: verify_token(&state, token).await?, sealed: seal_token(&state, token).await? })
        }
        None => None,
    };
    let changes = Changes {
        token,
        allow_paid_broadcast: req.allow_paid_broadcast,
        default_reminder_minutes: req.default_reminder_minutes,
        default_locale: req.default_locale,
        inbound_webhook,
    };
    let Some(IntegrationChange::Updated(updated)) =
        decide(&integration, IntegrationCommand::Update(changes)).map_err(refused)?
    else {
        return Err(ApiError::internal(&"an update decided something else"));
    };
    // The secret is shown only when this update is the one that made it.
    let shown = secret.filter(|_| updated.inbound_secret.is_some());
    let appended = match state.rt.log.append(&Envelope::new(updated, creds.meta()), Expect::LastSequence(version)).await
    {
        Ok(appended) => appended,
        Err(AppendError::Conflict) => return Err(changed_meanwhile()),
        Err(e) => return Err(ApiError::unavailable("the event log", &e)),
    };
    state.integrations.wait_for(appended.sequence).await;
    read_your_write(&state, appended.sequence).await;
    tracing::info!(integration_id = %id, "integration updated");
    let m = find_visible(&state, &caller, &id).await?;
    Ok(json(StatusCode::OK, &IntegrationView { inbound_secret: shown, ..IntegrationView::try_from(m)? }))
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    pub integration_id: String,
    /// Always true.
    pub deleted: bool,
}

#[utoipa::path(delete, path = "/api/v1/integrations/{id}", tag = "integrations", security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id")),
    responses((status = 200, description = "deleted (again: also 200)", body = Deleted),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn delete(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let Loaded { state: integration, version } = load_for_caller(&state, &caller, &id).await?;
    let done = || json(StatusCode::OK, &Deleted { integration_id: id.clone(), deleted: true });
    let Some(IntegrationChange::Deleted(deleted)) =
        decide(&integration, IntegrationCommand::Delete).map_err(refused)?
    else {
        return Ok(done());
    };
    match state.rt.log.append(&Envelope::new(deleted, creds.meta()), Expect::LastSequence(version)).await {
        Ok(appended) => {
            state.integrations.wait_for(appended.sequence).await;
            read_your_write(&state, appended.sequence).await
        }
        Err(AppendError::Conflict) => return Err(changed_meanwhile()),
        Err(e) => return Err(ApiError::unavailable("the event log", &e)),
    }
    tracing::info!(integration_id = %id, "integration deleted");
    Ok(done())
}
