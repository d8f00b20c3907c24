//! `/api-keys` (admin only; also `novij-telegram api-keys`): project API keys
//! made, listed and revoked at run time. The log keeps a keyed hash of each
//! key; the key is shown once, when it is made. `PROJECT_API_KEYS` stays
//! for keys an operator configures.

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use novij_aggregates::api_key::{self, ApiKey, RevokeRefusal};
use novij_bus::Expect;
use novij_events::api_key::ApiKeyCreated;
use novij_events::{ids, Envelope};
use novij_runtime::derive;
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::dead_letters::admin;
use super::{json, Credentials};
use crate::answer::Answer;
use crate::api_keys::KeyView;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// The project the key acts for, and for no other.
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    /// What the key is for (shown in lists).
    #[schema(schema_with = crate::fields::optional_key_label)]
    pub label: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedApiKey {
    pub key_id: String,
    pub project_id: String,
    pub label: Option<String>,
    /// The key: shown this once, kept nowhere (the log holds a keyed hash).
    pub key: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<KeyView>,
}

#[derive(Serialize, ToSchema)]
pub struct RevokedApiKey {
    pub key_id: String,
    pub revoked: bool,
}

/// `nt_` and 32 random bytes, URL-safe.
fn new_key() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| ApiError::internal(&"random source failed"))?;
    Ok(format!("nt_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys", request_body = CreateApiKey,
    security(("api_key" = [])),
    responses((status = 201, body = CreatedApiKey), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn create(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    admin(&state, &creds)?;
    let req: CreateApiKey = body::parse(&bytes)?;
    fields::PROJECT_ID.check("project_id", &req.project_id)?;
    if let Some(label) = &req.label {
        fields::KEY_LABEL.check("label", label)?;
    }
    let key = new_key()?;
    let created = ApiKeyCreated {
        key_id: ids::new_id(ids::API_KEY),
        project_id: req.project_id,
        key_hash: derive::api_key_hash(&state.rt.keyring, &key),
        label: req.label,
    };
    let env = Envelope::new(created, creds.meta());
    state.rt.log.append(&env, Expect::NoEvents).await.map_err(|e| ApiError::unavailable("the event log", &e))?;
    state.api_keys.created(&env);
    let p = env.payload;
    let view =
        CreatedApiKey { key_id: p.key_id, project_id: p.project_id, label: p.label, key, created_at: env.occurred_at };
    tracing::info!(key_id = %view.key_id, "API key created");
    Ok(json(StatusCode::CREATED, &view))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys", security(("api_key" = [])),
    params(("project_id" = Option<String>, Query, description = "only this project's keys"),
           ("limit" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "keys per page, 1–1000 (default 500)"),
           ("after" = Option<String>, Query, description = "the last `key_id` of the page before")),
    responses((status = 200, body = ApiKeyList), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody)))]
pub async fn list(state: AppState, creds: Credentials, query: BTreeMap<String, String>) -> Result<Answer, ApiError> {
    admin(&state, &creds)?;
    let keys = state.api_keys.list(query.get("project_id").map(String::as_str));
    let keys = super::query::page(&query, keys, |k| &k.key_id)?;
    Ok(json(StatusCode::OK, &ApiKeyList { keys }))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{key_id}", tag = "api-keys", security(("api_key" = [])),
    params(("key_id" = String, Path, description = "the key's id (`key_…`)")),
    responses((status = 200, body = RevokedApiKey), (status = 401, body = crate::error::ErrorBody),
              (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn revoke(state: AppState, creds: Credentials, key_id: String) -> Result<Answer, ApiError> {
    admin(&state, &creds)?;
    let loaded = state.rt.log.load::<ApiKey>(&key_id).await.map_err(|e| ApiError::unavailable("the event log", &e))?;
    match api_key::revoke(&loaded.state) {
        Err(RevokeRefusal::Unknown) => return Err(ApiError::not_found("API key")),
        // Revoked before: a retry answers the same.
        Ok(None) => {}
        Ok(Some(revoked)) => {
            let env = Envelope::new(revoked, creds.meta());
            let appended = state.rt.log.append(&env, Expect::LastSequence(loaded.version)).await;
            appended.map_err(|e| ApiError::unavailable("the event log", &e))?;
            state.api_keys.revoked(&env);
            tracing::info!(key_id = %key_id, "API key revoked");
        }
    }
    Ok(json(StatusCode::OK, &RevokedApiKey { key_id, revoked: true }))
}
