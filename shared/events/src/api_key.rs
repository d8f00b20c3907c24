//! The API-key aggregate (`nt.ev.api_key.<key_id>.*`): a project's API key
//! made and revoked at run time. The log holds a keyed hash of the key,
//! never the key: whoever reads the log cannot call the API with it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;

/// A key was made for a project; it acts for that project alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyCreated {
    /// `key_<random>`: names the key in lists and in `DELETE /api-keys/{key_id}`.
    pub key_id: String,
    pub project_id: String,
    /// Keyed hash of the key (domain `api_key`), what a presented key is checked against.
    pub key_hash: String,
    /// What the key is for, as its maker said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Event for ApiKeyCreated {
    const AGGREGATE: &'static str = "api_key";
    const NAME: &'static str = "created";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.key_id
    }
}

/// The key acts for nobody any more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApiKeyRevoked {
    pub key_id: String,
    pub project_id: String,
}

impl Event for ApiKeyRevoked {
    const AGGREGATE: &'static str = "api_key";
    const NAME: &'static str = "revoked";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.key_id
    }
}
