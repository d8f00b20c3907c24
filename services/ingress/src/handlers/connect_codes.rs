//! `POST /telegram/connect-codes`: a one-time deep link for a user.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use novij_bus::Expect;
use novij_events::connect::ConnectCodeIssued;
use novij_events::Envelope;
use novij_runtime::derive;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::{integrations::find_for_project, json, read_your_write, Credentials};
use crate::answer::Answer;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConnectCode {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    pub integration_id: String,
    /// The project's own reference of the user, e.g. `user:42`.
    #[schema(schema_with = crate::fields::user_ref)]
    pub public_user_ref: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConnectCode {
    /// Single-use; valid until `expires_at`.
    pub code: String,
    /// `https://t.me/<bot_username>?start=<code>`: connects a private chat.
    pub deep_link: String,
    /// `https://t.me/<bot_username>?startgroup=<code>`: adds the bot to a group and connects the group.
    pub group_deep_link: String,
    pub expires_at: DateTime<Utc>,
}

/// 18 random bytes as 24 URL-safe characters: a valid Telegram start parameter.
fn new_code() -> Result<String, ApiError> {
    let mut bytes = [0u8; 18];
    SystemRandom::new().fill(&mut bytes).map_err(|_| ApiError::internal(&"random source failed"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[utoipa::path(post, path = "/api/v1/telegram/connect-codes", tag = "connect", request_body = CreateConnectCode,
    security(("api_key" = [])),
    responses((status = 201, body = ConnectCode), (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: CreateConnectCode = body::parse(&bytes)?;
    fields::PROJECT_ID.check("project_id", &req.project_id)?;
    fields::USER_REF.check("public_user_ref", &req.public_user_ref)?;
    let integration = find_for_project(&state, &caller, &req.project_id, &req.integration_id).await?;
    let code = new_code()?;
    let expires_at = Utc::now() + Duration::seconds(i64::from(state.rt.config.connect_code_ttl_seconds));
    let issued = ConnectCodeIssued {
        code_id: derive::code_id(&state.rt.keyring, &code),
        integration_id: integration.integration_id.clone(),
        project_id: req.project_id,
        bot_key: integration.bot_key.clone(),
        public_user_ref: req.public_user_ref,
        expires_at,
    };
    let env = Envelope::new(issued, creds.meta());
    let appended =
        state.rt.log.append(&env, Expect::NoEvents).await.map_err(|e| ApiError::unavailable("the event log", &e))?;
    read_your_write(&state, appended.sequence).await;
    let username = integration.bot.map(|bot| bot.username).unwrap_or_default();
    let deep_link = format!("https://t.me/{username}?start={code}");
    let group_deep_link = format!("https://t.me/{username}?startgroup={code}");
    Ok(json(StatusCode::CREATED, &ConnectCode { code, deep_link, group_deep_link, expires_at }))
}
