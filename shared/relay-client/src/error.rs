//! Classification of ledger failures into what the caller should do.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelayError {
    /// 404 `tx_not_found` / `wallet_not_found` / `public_key_not_found`: the ledger does not know it (yet).
    #[error("not found on the ledger")]
    NotFound,
    /// Other 4xx except 401: the request is wrong; asking again will not help.
    #[error("the ledger refused the request: {0}")]
    InvalidRequest(String),
    /// 401: the API key is missing or wrong.
    #[error("the ledger refused the API key")]
    Unauthorized,
    /// 5xx (and 429): the ledger cannot answer now.
    #[error("the ledger is unavailable (HTTP {status})")]
    Unavailable { status: u16 },
    /// Could not reach the ledger, or it did not answer in time. Never carries the URL.
    #[error("cannot reach the ledger: {0}")]
    Network(String),
    /// The ledger answered something that is not the documented shape.
    #[error("unexpected answer from the ledger: {0}")]
    Decode(String),
}

impl RelayError {
    /// Worth asking again later, with backoff.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Network(_))
    }
}

/// The ledger's error body, `{"error": code, "message": text}`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Classifies a non-2xx answer from its status and body.
pub(crate) fn classify(status: u16, body: &[u8]) -> RelayError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let code = parsed.error.unwrap_or_default();
    let describe = || match (&code, &parsed.message) {
        (c, Some(m)) if !c.is_empty() => format!("{c}: {m}"),
        (c, None) if !c.is_empty() => c.clone(),
        (_, Some(m)) => format!("HTTP {status}: {m}"),
        (_, None) => format!("HTTP {status}"),
    };
    match status {
        401 => RelayError::Unauthorized,
        // Any other 404 means a wrong base URL; it must not pass for a missing transaction.
        404 if matches!(code.as_str(), "tx_not_found" | "wallet_not_found" | "public_key_not_found") => {
            RelayError::NotFound
        }
        // A rate limit passes; treating it as a refusal would reject paid sends.
        429 => RelayError::Unavailable { status },
        400..=499 => RelayError::InvalidRequest(describe()),
        500..=599 => RelayError::Unavailable { status },
        _ => RelayError::Decode(format!("unexpected HTTP status {status}")),
    }
}

/// Describes a reqwest failure with its causes but without the URL.
pub(crate) fn network(e: reqwest::Error) -> RelayError {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    RelayError::Network(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_answers_are_classified() {
        let c = |status, body: &str| classify(status, body.as_bytes());
        assert_eq!(c(404, r#"{"error":"tx_not_found","message":"x"}"#), RelayError::NotFound);
        assert_eq!(c(404, r#"{"error":"wallet_not_found","message":"x"}"#), RelayError::NotFound);
        assert_eq!(
            c(404, r#"{"error":"not_found","message":"no such route"}"#),
            RelayError::InvalidRequest("not_found: no such route".into())
        );
        assert_eq!(c(404, "<html>"), RelayError::InvalidRequest("HTTP 404".into()));
        assert_eq!(
            c(400, r#"{"error":"invalid_tx_hash","message":"bad"}"#),
            RelayError::InvalidRequest("invalid_tx_hash: bad".into())
        );
        assert_eq!(c(401, ""), RelayError::Unauthorized);
        assert_eq!(c(429, ""), RelayError::Unavailable { status: 429 });
        assert_eq!(c(503, r#"{"error":"unavailable"}"#), RelayError::Unavailable { status: 503 });
        assert_eq!(c(502, "Bad Gateway"), RelayError::Unavailable { status: 502 });
        assert!(matches!(c(302, ""), RelayError::Decode(_)));
    }

    #[test]
    fn only_unavailability_is_transient() {
        assert!(RelayError::Unavailable { status: 503 }.is_transient());
        assert!(RelayError::Network("timed out".into()).is_transient());
        for e in [
            RelayError::NotFound,
            RelayError::Unauthorized,
            RelayError::InvalidRequest("x".into()),
            RelayError::Decode("x".into()),
        ] {
            assert!(!e.is_transient(), "{e:?}");
        }
    }
}
