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
    Project {
        project: String,
        /// The wallet that signed this request (`REQUIRE_SIGNATURES`); `None`
        /// when none had to.
        signer: Option<String>,
    },
}

/// Who a presented key is, and what its rate is counted under.
enum Key {
    Admin,
    /// A configured key is limited by its value, a key made at run time by its id.
    Project {
        project: String,
        limited_as: String,
    },
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl Caller {
    /// Resolves the key presented (`Authorization: Bearer <key>` or
    /// `X-Api-Key`) to a caller, counting the request against a project
    /// key's rate. A request `admitted` already (the project its key acts
    /// for) is neither identified nor counted again; `signer` is the wallet
    /// whose signature was checked.
    pub fn authenticate(
        state: &AppState,
        presented: Presented<'_>,
        signer: Option<String>,
        admitted: Option<&str>,
    ) -> Result<Caller, ApiError> {
        if let Some(project) = admitted {
            return Ok(Caller::Project { project: project.to_string(), signer });
        }
        match identify(state, presented)? {
            Key::Admin => Ok(Caller::Admin),
            Key::Project { project, limited_as } => {
                state.key_rates.admit(&limited_as)?;
                Ok(Caller::Project { project, signer })
            }
        }
    }

    /// Counts the request against the rate of the project key presented,
    /// before anything costly is done for it; the project it acts for, or
    /// `None` for the admin's key or an invalid one (the operation refuses
    /// those itself).
    pub fn admit_project_key(state: &AppState, presented: Presented<'_>) -> Result<Option<String>, ApiError> {
        match identify(state, presented) {
            Ok(Key::Project { project, limited_as }) => state.key_rates.admit(&limited_as).map(|()| Some(project)),
            Ok(Key::Admin) | Err(_) => Ok(None),
        }
    }

    /// May this caller act for `project_id`?
    pub fn require_project(&self, project_id: &str) -> Result<(), ApiError> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Project { project, .. } if project == project_id => Ok(()),
            Caller::Project { .. } => {
                Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "this API key does not act for that project")
                    .with_field("project_id"))
            }
        }
    }

    /// May this caller change what `owner_wallet_id` owns? When the request
    /// had to be signed, only that wallet's signature does.
    pub fn require_owner(&self, owner_wallet_id: &str) -> Result<(), ApiError> {
        match self {
            Caller::Project { signer: Some(signer), .. } if signer != owner_wallet_id => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "wallet_not_owner",
                "the request is signed by a wallet that does not own what it acts on",
            )
            .with_field(crate::signatures::WALLET_HEADER)),
            _ => Ok(()),
        }
    }

    /// Whether the request carries a checked signature.
    pub fn is_signed(&self) -> bool {
        matches!(self, Caller::Project { signer: Some(_), .. })
    }

    /// Whether the caller may see a resource of `project_id` (hidden as 404 if not).
    pub fn sees(&self, project_id: Option<&str>) -> bool {
        match self {
            Caller::Admin => true,
            Caller::Project { project, .. } => project_id == Some(project.as_str()),
        }
    }
}

/// The key headers of a request: `Authorization` and `X-Api-Key`.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub authorization: Option<&'a str>,
    pub api_key: Option<&'a str>,
}

fn identify(state: &AppState, presented: Presented<'_>) -> Result<Key, ApiError> {
    let presented = presented
        .authorization
        .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
        .or(presented.api_key)
        .map(str::trim)
        .ok_or_else(|| unauthorized("an API key is required (Authorization: Bearer <key>)"))?;
    let config = &state.rt.config;
    if Keyring::secrets_equal(&config.admin_api_key, presented) {
        return Ok(Key::Admin);
    }
    let configured = config.project_api_keys.iter().find(|(key, _)| Keyring::secrets_equal(key, presented));
    let (limited_as, project) = match configured {
        Some((key, project)) => (key.clone(), project.clone()),
        None => state
            .api_keys
            .find(&derive::api_key_hash(&state.rt.keyring, presented))
            .ok_or_else(|| unauthorized("the API key is not valid"))?,
    };
    Ok(Key::Project { project, limited_as })
}
