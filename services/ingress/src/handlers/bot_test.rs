//! `GET /integrations/{id}/webhook` (`common` for the common bot, admin only;
//! also `novij-telegram bot-test`): the bot's token, identity and webhook as
//! Telegram sees them, through the dispatcher (getMe, getWebhookInfo),
//! with no message to anyone; `POST …/webhook/sync` (`webhook-sync`) points
//! the webhook here again first.

use std::time::Duration;

use novij_events::integration::COMMON_BOT_KEY;
use novij_events::rpc::{BotSyncRequest, BotTestReply, BotTestRequest, WebhookState};
use novij_events::subjects;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::integrations::load_for_caller;
use super::{ask_dispatcher, json, Credentials};
use crate::answer::Answer;
use crate::auth::Caller;
use crate::body;
use crate::error::ApiError;
use crate::state::AppState;

/// How long the dispatcher (and Telegram behind it) has to answer.
const ASK_WITHIN: Duration = Duration::from_secs(15);

#[derive(Serialize, ToSchema)]
pub struct BotTestView {
    /// `common`, or the integration's id for its own bot.
    pub bot_key: String,
    /// Telegram accepted the token (getMe).
    pub token_valid: bool,
    pub bot_username: Option<String>,
    pub bot_id: Option<i64>,
    /// `getWebhookInfo`: URL, pending updates, last error; absent when the token is refused.
    #[schema(value_type = Option<Object>)]
    pub webhook: Option<WebhookState>,
    /// Telegram's words when it refused the token.
    pub detail: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/webhook", tag = "integrations", security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id, or `common` (admin)")),
    responses((status = 200, body = BotTestView), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn webhook(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let bot_key = bot_key_of(&state, &creds, &id).await?;
    let request = BotTestRequest { bot_key: bot_key.clone() };
    let reply = ask_dispatcher(&state, subjects::RPC_BOT_TEST, &request, ASK_WITHIN).await?;
    Ok(json(StatusCode::OK, &view(bot_key, reply)?))
}

/// The body of `POST /integrations/{id}/webhook/sync`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncWebhook {
    /// Drop the updates Telegram still holds for the bot.
    #[serde(default)]
    pub drop_pending_updates: bool,
}

/// Points the bot's webhook at this service again (setWebhook with its
/// secret, `max_connections` and `allowed_updates`; also `novij-telegram
/// webhook-sync`), then shows it as `GET /integrations/{id}/webhook` does.
#[utoipa::path(post, path = "/api/v1/integrations/{id}/webhook/sync", tag = "integrations", security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id, or `common` (admin)")), request_body = SyncWebhook,
    responses((status = 200, body = BotTestView), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn sync(state: AppState, creds: Credentials, id: String, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let req: SyncWebhook = if bytes.is_empty() { SyncWebhook::default() } else { body::parse(&bytes)? };
    let bot_key = bot_key_of(&state, &creds, &id).await?;
    let request = BotSyncRequest { bot_key: bot_key.clone(), drop_pending_updates: req.drop_pending_updates };
    let reply = ask_dispatcher(&state, subjects::RPC_BOT_SYNC, &request, ASK_WITHIN).await?;
    Ok(json(StatusCode::OK, &view(bot_key, reply)?))
}

/// The bot key of a live integration the caller may see, or `common` for the admin.
async fn bot_key_of(state: &AppState, creds: &Credentials, id: &str) -> Result<String, ApiError> {
    let caller = creds.caller(state)?;
    if id == COMMON_BOT_KEY {
        return match caller {
            Caller::Admin => Ok(COMMON_BOT_KEY.to_string()),
            _ => Err(ApiError::not_found("integration")),
        };
    }
    let integration = load_for_caller(state, &caller, id).await?.state;
    if !integration.is_live() {
        return Err(ApiError::not_found("integration"));
    }
    Ok(integration.bot_key)
}

fn view(bot_key: String, reply: BotTestReply) -> Result<BotTestView, ApiError> {
    Ok(match reply {
        BotTestReply::Tested { bot, webhook } => BotTestView {
            bot_key,
            token_valid: true,
            bot_username: Some(bot.username),
            bot_id: Some(bot.bot_id),
            webhook: Some(webhook),
            detail: None,
        },
        BotTestReply::InvalidToken { detail } => BotTestView {
            bot_key,
            token_valid: false,
            bot_username: None,
            bot_id: None,
            webhook: None,
            detail: Some(detail),
        },
        BotTestReply::UnknownBot => return Err(ApiError::not_found("bot")),
        BotTestReply::Polled => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "polled",
                "the bot is read by long polling (TELEGRAM_UPDATES): it has no webhook",
            ))
        }
        BotTestReply::Unavailable { detail } => return Err(ApiError::unavailable("Telegram", &detail)),
    })
}
