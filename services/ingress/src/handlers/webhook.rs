//! `POST /telegram/webhook/{bot_key}`: Telegram's updates in.
//!
//! The answer is 200 only once the update is stored in JetStream, so Telegram
//! retries anything we could not keep; duplicates of an `update_id` are
//! dropped by the stream's dedup window. Button presses (callback queries)
//! are queued on their own subject, so they never wait behind other
//! updates. Nothing else happens here.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage as Publish;
use chrono::Utc;
use novij_crypto::Keyring;
use novij_events::integration::COMMON_BOT_KEY;
use novij_events::update::UpdateReceived;
use novij_events::{ids, subjects};
use novij_runtime::derive;
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

#[derive(Deserialize)]
struct UpdateHead {
    update_id: i64,
    /// A button press: queued apart, to be answered at once.
    #[serde(default)]
    callback_query: Option<serde::de::IgnoredAny>,
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
    let head: UpdateHead = serde_json::from_slice(&bytes).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_update",
            "body is not a Telegram update with an integer update_id",
        )
        .with_field("update_id")
    })?;
    let received = UpdateReceived {
        bot_key: bot_key.clone(),
        update_id: head.update_id,
        received_at: Utc::now(),
        update: state.rt.keyring.seal(derive::purpose::TELEGRAM_UPDATE, &bytes)?,
    };
    let payload = serde_json::to_vec(&received).map_err(|e| ApiError::internal(&e))?;
    let publish = Publish::build().payload(payload.into()).message_id(received.message_id());
    let subject = if head.callback_query.is_some() { subjects::callback(&bot_key) } else { subjects::update(&bot_key) };
    match novij_bus::publish_acked(&state.rt.jetstream, subject, publish, Duration::from_secs(5)).await {
        Ok(ack) => {
            tracing::debug!(bot_key = %bot_key, update_id = head.update_id, duplicate = ack.duplicate, "update stored");
            Ok(json(StatusCode::OK, &serde_json::json!({ "ok": true })))
        }
        Err(e) => Err(ApiError::unavailable("the update queue", &e)),
    }
}
