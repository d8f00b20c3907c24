//! API keys: the admin key acts for every project, a project key for its own
//! (from `PROJECT_API_KEYS`, or made at run time: [`crate::api_keys`]).

use novij_crypto::Keyring;
use novij_runtime::derive;
use warp::http::StatusCode;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Admin,
    Project(String),
}

impl Caller {
    /// Resolves `Authorization: Bearer <key>` (or `X-Api-Key`) to a caller.
    pub fn authenticate(
        state: &AppState,
        authorization: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Caller, ApiError> {
        let presented = authorization
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .or(api_key)
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "an API key is required (Authorization: Bearer <key>)",
                )
            })?;
        let config = &state.rt.config;
        if Keyring::secrets_equal(&config.admin_api_key, presented) {
            return Ok(Caller::Admin);
        }
        let configured = config.project_api_keys.iter().find(|(key, _)| Keyring::secrets_equal(key, presented));
        // A configured key is limited by its value, a key made at run time by its id.
        let (limited_as, project) = match configured {
            Some((key, project)) => (key.clone(), project.clone()),
            None => state
                .api_keys
                .find(&derive::api_key_hash(&state.rt.keyring, presented))
                .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the API key is not valid"))?,
        };
        state.key_rates.admit(&limited_as)?;
        Ok(Caller::Project(project))
    }

    /// May this caller act for `project_id`?
    pub fn require_project(&self, project_id: &str) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Project(p) if p == project_id => Ok(()),
            Caller::Project(_) => {
                Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "this API key does not act for that project")
                    .with_field("project_id"))
            }
        }
    }

    /// Whether the caller may see a resource of `project_id` (hidden as 404 if not).
    pub fn sees(&self, project_id: Option<&str>) -> bool {
        match self {
            Caller::Admin => true,
            Caller::Project(p) => project_id == Some(p.as_str()),
        }
    }
}
