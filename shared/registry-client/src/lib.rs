//! A typed client of the Service Registry API (docs/REGISTRY.md): our entry
//! registered, read, updated and verified, with every failure classified.
//!
//! The API key is sent only as a bearer header and never printed; no error
//! produced here carries a URL.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// An entry as sent: what the registry lists about a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub service_id: String,
    pub kind: String,
    pub name: String,
    pub version: String,
    pub base_url: String,
    pub manifest_url: String,
    pub health_url: String,
    pub wallet_id: Option<String>,
}

/// An entry as the registry answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    #[serde(flatten)]
    pub entry: Entry,
    pub registered_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_verification: Option<Verification>,
}

/// What the registry found when it fetched our well-known URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub status: VerificationStatus,
    pub checked_at: DateTime<Utc>,
    /// One line per difference, naming the field.
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    Verified,
    Mismatch,
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// 404 `service_not_found`.
    #[error("the registry has no entry for this service")]
    NotFound,
    /// 409 `service_exists`.
    #[error("the registry already has an entry for this service")]
    Exists,
    /// 401: the API key is missing or wrong.
    #[error("the registry refused the API key")]
    Unauthorized,
    /// Another 4xx: the request is wrong.
    #[error("the registry refused the request: {0}")]
    Refused(String),
    /// 5xx or 429: the registry cannot answer now.
    #[error("the registry is unavailable (HTTP {0})")]
    Unavailable(u16),
    /// Could not reach the registry, or it did not answer in time. Never carries the URL.
    #[error("cannot reach the registry: {0}")]
    Network(String),
    /// An answer that is not the documented shape.
    #[error("unexpected answer from the registry: {0}")]
    Decode(String),
}

impl RegistryError {
    /// The registry could not be asked (as opposed to answering no).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Network(_))
    }
}

#[derive(Clone)]
pub struct RegistryClient {
    http: reqwest::Client,
    base_url: reqwest::Url,
    api_key: Option<String>,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl RegistryClient {
    /// A client of the registry at `base_url` (`SERVICE_REGISTRY_URL`); every call gives up after `timeout`.
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> Result<Self, RegistryError> {
        let mut base_url = reqwest::Url::parse(base_url)
            .map_err(|e| RegistryError::Refused(format!("the registry base URL is not a URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(RegistryError::Refused("the registry base URL must be an http(s) URL".into()));
        }
        let trimmed = base_url.path().trim_end_matches('/').to_string();
        base_url.set_path(&trimmed);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect is not part of the contract; following it could carry the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(network)?;
        Ok(Self { http, base_url, api_key: api_key.filter(|k| !k.is_empty()) })
    }

    /// `GET /v1/health`.
    pub async fn health(&self) -> Result<(), RegistryError> {
        #[derive(Deserialize)]
        struct Health {
            status: String,
        }
        let health: Health = self.call(reqwest::Method::GET, &["v1", "health"], None::<&()>).await?;
        match health.status.as_str() {
            "ok" => Ok(()),
            other => Err(RegistryError::Decode(format!("health status is {other:?}"))),
        }
    }

    /// `GET /v1/services/{service_id}`; `None` when there is no entry.
    pub async fn entry(&self, service_id: &str) -> Result<Option<Registered>, RegistryError> {
        match self.call(reqwest::Method::GET, &["v1", "services", service_id], None::<&()>).await {
            Ok(found) => Ok(Some(found)),
            Err(RegistryError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /v1/services`.
    pub async fn register(&self, entry: &Entry) -> Result<Registered, RegistryError> {
        self.call(reqwest::Method::POST, &["v1", "services"], Some(entry)).await
    }

    /// `PUT /v1/services/{service_id}`.
    pub async fn update(&self, entry: &Entry) -> Result<Registered, RegistryError> {
        self.call(reqwest::Method::PUT, &["v1", "services", &entry.service_id], Some(entry)).await
    }

    /// `POST /v1/services/{service_id}/verify`.
    pub async fn verify(&self, service_id: &str) -> Result<Verification, RegistryError> {
        self.call(reqwest::Method::POST, &["v1", "services", service_id, "verify"], None::<&()>).await
    }

    /// Calls the path made of `segments`, each percent-encoded so no input can change the route.
    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        segments: &[&str],
        body: Option<&impl Serialize>,
    ) -> Result<T, RegistryError> {
        if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
            return Err(RegistryError::Refused("an id must not be empty, \".\" or \"..\"".into()));
        }
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| RegistryError::Refused("the registry base URL cannot take a path".into()))?
            .extend(segments);
        let mut request = self.http.request(method, url).header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(network)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(network)?;
        if !(200..300).contains(&status) {
            return Err(classify(status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::Decode(e.to_string()))
    }
}

fn network(e: reqwest::Error) -> RegistryError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    RegistryError::Network(kind.into())
}

/// Classifies a non-2xx answer from its status and `{"error", "message"}` body.
fn classify(status: u16, body: &[u8]) -> RegistryError {
    #[derive(Deserialize, Default)]
    struct ErrorBody {
        #[serde(default)]
        error: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        field: Option<String>,
    }
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    match (status, parsed.error.as_str()) {
        (401, _) => RegistryError::Unauthorized,
        (404, "service_not_found") => RegistryError::NotFound,
        (409, "service_exists") => RegistryError::Exists,
        (429, _) | (500..=599, _) => RegistryError::Unavailable(status),
        (400..=499, code) => {
            let field = parsed.field.map(|f| format!(" ({f})")).unwrap_or_default();
            RegistryError::Refused(format!("HTTP {status} {code}{field}: {}", parsed.message))
        }
        _ => RegistryError::Decode(format!("HTTP {status}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_and_a_wrong_route_is_not_a_missing_entry() {
        assert_eq!(classify(404, br#"{"error":"service_not_found","message":"x"}"#), RegistryError::NotFound);
        assert!(matches!(
            classify(404, br#"{"error":"not_found","message":"no such route"}"#),
            RegistryError::Refused(_)
        ));
        assert_eq!(classify(409, br#"{"error":"service_exists","message":"x"}"#), RegistryError::Exists);
        assert_eq!(classify(401, b""), RegistryError::Unauthorized);
        assert_eq!(classify(503, b"{}"), RegistryError::Unavailable(503));
        let refused = classify(400, br#"{"error":"invalid_entry","message":"bad","field":"base_url"}"#);
        assert_eq!(refused, RegistryError::Refused("HTTP 400 invalid_entry (base_url): bad".into()));
    }

    #[test]
    fn the_key_is_not_printed() {
        let client = RegistryClient::new("http://127.0.0.1:1", Some("s3cret".into()), Duration::from_secs(1)).unwrap();
        assert!(!format!("{client:?}").contains("s3cret"));
    }
}
