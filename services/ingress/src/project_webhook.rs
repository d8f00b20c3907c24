//! Where a project takes its inbound messages: the URL, checked as a call
//! checks it, and the secret they are signed with.

use novij_crypto::Sealed;
use novij_project_webhooks::{address, AllowList, Secret};
use novij_runtime::derive::purpose;

use crate::error::ApiError;
use crate::state::AppState;

/// The URL, checked as a call would check it: its form, and every address its
/// host resolves to now.
pub async fn checked_url(state: &AppState, raw: &str) -> Result<String, ApiError> {
    let allow = AllowList::new(state.rt.config.inbound_webhooks.allow.clone());
    match address::resolve(raw, &allow).await {
        Ok(target) => Ok(target.url.to_string()),
        Err(refusal) => Err(ApiError::invalid("inbound_webhook_url", refusal.to_string())),
    }
}

/// A new secret, and the same sealed for the log as integration `integration_id`'s.
pub fn fresh_secret(state: &AppState, integration_id: &str) -> Result<(String, Sealed), ApiError> {
    let secret = Secret::generate().map_err(|e| ApiError::internal(&e))?.expose();
    let sealed = state.rt.keyring.seal_owned(purpose::INBOUND_SECRET, integration_id, &secret)?;
    Ok((secret, sealed))
}
