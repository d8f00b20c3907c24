//! A typed client of the Telegram Bot API, with every failure classified.
//!
//! Only the dispatcher holds one. Tokens appear in request URLs, so no error
//! produced here carries a URL: reqwest errors are stripped of theirs.

mod error;
mod media;
mod types;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use error::{BotApiError, BotApiErrorKind, ForbiddenReason};
pub use media::{InputFile, InputMedia, MediaKind, SendMedia, SendMediaGroup};
pub use types::{
    BotCommand, BotCommandScope, EditMessageText, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters,
    SendMessage, SentFile, SetMyCommands, SetWebhook, User, WebhookInfo,
};

/// The largest answer read: Telegram's are small (100 updates fit many
/// times over); anything larger is not the Bot API, and is not buffered.
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// The answer's body, read up to [`MAX_ANSWER_BYTES`].
async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, BotApiError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > MAX_ANSWER_BYTES => {
                let detail = format!("the answer is larger than {MAX_ANSWER_BYTES} bytes");
                return Err(BotApiError::new(BotApiErrorKind::Decode, detail));
            }
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(e) => return Err(BotApiError::new(BotApiErrorKind::Network, e.without_url().to_string())),
        }
    }
}

#[derive(Clone)]
pub struct BotApi {
    http: reqwest::Client,
    base_url: String,
}

#[derive(Deserialize)]
struct ApiResponse<T> {
    ok: bool,
    result: Option<T>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize, Default)]
struct ResponseParameters {
    retry_after: Option<u64>,
    migrate_to_chat_id: Option<i64>,
}

impl BotApi {
    /// A client of the Bot API at `base_url` (`https://api.telegram.org` or the sandbox).
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, BotApiError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(5))
            // A redirect would send the token's path, chat ids and text to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BotApiError::new(BotApiErrorKind::Network, e.without_url().to_string()))?;
        Ok(Self { http, base_url: base_url.trim_end_matches('/').to_string() })
    }

    /// Calls `method` with JSON `params` and decodes `result`.
    pub async fn call<P: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        token: &str,
        method: &str,
        params: &P,
    ) -> Result<T, BotApiError> {
        let request = self.http.post(self.method_url(token, method)).json(params);
        self.execute(method, request).await
    }

    /// The token is part of the URL: never put it in an error or a log.
    fn method_url(&self, token: &str, method: &str) -> String {
        format!("{}/bot{}/{}", self.base_url, token, method)
    }

    /// Sends a prepared call (JSON or multipart) and decodes `result`,
    /// classifying every failure the same way whatever the body was, and
    /// counts it by method and result.
    async fn execute<T: DeserializeOwned>(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, BotApiError> {
        use tracing::Instrument as _;
        let span = tracing::info_span!("telegram", otel.name = method, method);
        let outcome = self.answer(method, request).instrument(span).await;
        match &outcome {
            Ok(_) => novij_metrics::bot_api_call(method, "ok"),
            Err(e) => {
                novij_metrics::bot_api_call(method, e.kind().label());
                if let BotApiErrorKind::RetryAfter(seconds) = e.kind() {
                    novij_metrics::bot_paused(seconds);
                }
            }
        }
        outcome
    }

    async fn answer<T: DeserializeOwned>(
        &self,
        method: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, BotApiError> {
        let response = request.send().await.map_err(|e| {
            let kind = if e.is_timeout() { BotApiErrorKind::Timeout } else { BotApiErrorKind::Network };
            BotApiError::new(kind, e.without_url().to_string())
        })?;
        let status = response.status().as_u16();
        let retry_header = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let body = read_capped(response).await?;
        let parsed: Result<ApiResponse<T>, _> = serde_json::from_slice(&body);
        match parsed {
            Ok(ApiResponse { ok: true, result: Some(result), .. }) => Ok(result),
            Ok(resp) => {
                let description = resp.description.unwrap_or_default();
                let params = resp.parameters.unwrap_or_default();
                Err(error::classify(
                    status,
                    description,
                    params.retry_after.or(retry_header),
                    params.migrate_to_chat_id,
                ))
            }
            Err(e) if (200..300).contains(&status) => {
                Err(BotApiError::new(BotApiErrorKind::Decode, format!("unexpected result of {method}: {e}")))
            }
            Err(_) => Err(error::classify(status, format!("HTTP {status}"), retry_header, None)),
        }
    }

    pub async fn get_me(&self, token: &str) -> Result<User, BotApiError> {
        self.call(token, "getMe", &serde_json::json!({})).await
    }

    pub async fn set_webhook(&self, token: &str, params: &SetWebhook) -> Result<bool, BotApiError> {
        self.call(token, "setWebhook", params).await
    }

    /// Removes the bot's webhook; with `drop_pending_updates`, also the
    /// updates Telegram still holds (a bot that is gone), else they wait for
    /// getUpdates (a bot switched to polling).
    pub async fn delete_webhook(&self, token: &str, drop_pending_updates: bool) -> Result<bool, BotApiError> {
        self.call(token, "deleteWebhook", &serde_json::json!({ "drop_pending_updates": drop_pending_updates })).await
    }

    /// Long polling: the updates after those confirmed by `offset` (the last
    /// `update_id` handled + 1), waiting up to `timeout` for one. The client's
    /// own timeout must be longer.
    pub async fn get_updates(
        &self,
        token: &str,
        offset: Option<i64>,
        timeout: Duration,
        allowed_updates: &[&str],
    ) -> Result<Vec<serde_json::Value>, BotApiError> {
        let params = serde_json::json!({
            "offset": offset,
            "timeout": timeout.as_secs(),
            "allowed_updates": allowed_updates,
        });
        self.call(token, "getUpdates", &params).await
    }

    pub async fn get_webhook_info(&self, token: &str) -> Result<WebhookInfo, BotApiError> {
        self.call(token, "getWebhookInfo", &serde_json::json!({})).await
    }

    pub async fn send_message(&self, token: &str, params: &SendMessage) -> Result<Message, BotApiError> {
        self.call(token, "sendMessage", params).await
    }

    /// Ends the button's spinner with a short toast.
    pub async fn answer_callback_query(
        &self,
        token: &str,
        callback_query_id: &str,
        text: &str,
    ) -> Result<bool, BotApiError> {
        let params = serde_json::json!({ "callback_query_id": callback_query_id, "text": text });
        self.call(token, "answerCallbackQuery", &params).await
    }

    pub async fn edit_message_text(&self, token: &str, params: &EditMessageText) -> Result<Message, BotApiError> {
        self.call(token, "editMessageText", params).await
    }

    /// Sets a menu; an empty one is deleted instead (Telegram then shows the
    /// menu of the next wider scope or of no language).
    pub async fn set_my_commands(&self, token: &str, params: &SetMyCommands) -> Result<bool, BotApiError> {
        if params.commands.is_empty() {
            let params = serde_json::json!({ "scope": params.scope, "language_code": params.language_code });
            return self.call(token, "deleteMyCommands", &params).await;
        }
        self.call(token, "setMyCommands", params).await
    }
}
