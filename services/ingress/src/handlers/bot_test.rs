//! `GET /integrations/{id}/webhook` (`common` for the common bot, admin only;
//! also `novij-telegram bot-test`): the bot's token, identity and webhook as
//! Telegram sees them, through the dispatcher (getMe, getWebhookInfo),
//! with no message to anyone.

use std::time::Duration;

use novij_events::integration::COMMON_BOT_KEY;
use novij_events::rpc::{BotTestReply, BotTestRequest, WebhookState};
use novij_events::subjects;
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::integrations::load_for_caller;
use super::{ask_dispatcher, json, Credentials};
use crate::answer::Answer;
use crate::auth::Caller;
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
    let caller = creds.caller(&state)?;
    let bot_key = if id == COMMON_BOT_KEY {
        if caller != Caller::Admin {
            return Err(ApiError::not_found("integration"));
        }
        COMMON_BOT_KEY.to_string()
    } else {
        let integration = load_for_caller(&state, &caller, &id).await?.state;
        if !integration.is_live() {
            return Err(ApiError::not_found("integration"));
        }
        integration.bot_key
    };
    let request = BotTestRequest { bot_key: bot_key.clone() };
    let view = match ask_dispatcher(&state, subjects::RPC_BOT_TEST, &request, ASK_WITHIN).await? {
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
        BotTestReply::Unavailable { detail } => return Err(ApiError::unavailable("Telegram", &detail)),
    };
    Ok(json(StatusCode::OK, &view))
}
