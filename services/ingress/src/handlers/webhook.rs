//! `POST /telegram/webhook/{bot_key}`: Telegram's updates in.
//!
//! The answer is 200 only once the update is stored in JetStream
//! (`novij_runtime::updates`), so Telegram retries anything we could not
//! keep. Nothing else happens here.

use novij_crypto::Keyring;
use novij_events::ids;
use novij_events::integration::COMMON_BOT_KEY;
use novij_runtime::derive;
use novij_runtime::updates::{self, EnqueueError};
use serde::Deserialize;
use warp::http::StatusCode;

use super::json;
use crate::answer::Answer;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SecretQuery {
    pub secret: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/telegram/webhook/{bot_key}", tag = "telegram",
    params(("bot_key" = String, Path, description = "`common` or the integration id of a custom bot"),
           ("secret" = Option<String>, Query, description = "alternative to the X-Telegram-Bot-Api-Secret-Token header")),
    responses((status = 200, description = "stored"), (status = 401, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn receive(
    state: AppState,
    bot_key: String,
    header_secret: Option<String>,
    query: SecretQuery,
    bytes: bytes::Bytes,
) -> Result<Answer, ApiError> {
    if bot_key != COMMON_BOT_KEY && !ids::is_valid(ids::INTEGRATION, &bot_key) {
        return Err(ApiError::not_found("bot"));
    }
    let expected = derive::webhook_secret(&state.rt.keyring, &bot_key);
    let presented = header_secret.or(query.secret).unwrap_or_default();
    if !Keyring::secrets_equal(&expected, &presented) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "webhook secret token does not match"));
    }
    match updates::enqueue(&state.rt, &bot_key, &bytes).await {
        Ok(stored) => {
            tracing::debug!(bot_key = %bot_key, update_id = stored.update_id, duplicate = stored.duplicate, "update stored");
            Ok(json(StatusCode::OK, &serde_json::json!({ "ok": true })))
        }
        Err(EnqueueError::NotAnUpdate) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_update",
            "body is not a Telegram update with an integer update_id",
        )
        .with_field("update_id")),
        Err(EnqueueError::Seal(e)) => Err(e.into()),
        Err(e @ EnqueueError::Queue(_)) => Err(ApiError::unavailable("the update queue", &e)),
    }
}
