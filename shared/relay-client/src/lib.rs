//! A typed client of the Relay ledger API (docs/RELAY.md), with every failure classified.
//!
//! The payment-verifier holds one. The API key is sent only as a bearer header
//! and never printed; no error produced here carries a URL.

mod error;
mod types;

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use error::RelayError;
pub use types::{is_valid_tx_hash, KeyAlgorithm, Transaction, TxStatus, Wallet, WalletKey};

/// Longest wait for a TCP connection, when the overall timeout is longer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct RelayClient {
    http: reqwest::Client,
    base_url: reqwest::Url,
    api_key: Option<String>,
}

impl fmt::Debug for RelayClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayClient")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Deserialize)]
struct Health {
    status: String,
}

impl RelayClient {
    /// A client of the ledger at `base_url` (`RELAY_API_BASE_URL`); every call gives up after `timeout`.
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> Result<Self, RelayError> {
        let mut base_url = reqwest::Url::parse(base_url)
            .map_err(|e| RelayError::InvalidRequest(format!("the ledger base URL is not a URL: {e}")))?;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(RelayError::InvalidRequest("the ledger base URL must be an http(s) URL".into()));
        }
        // Segments are appended below, so the base must not end in an empty one.
        let trimmed = base_url.path().trim_end_matches('/').to_string();
        base_url.set_path(&trimmed);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            // A redirect is not part of the contract; following it could carry the key elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(error::network)?;
        Ok(Self { http, base_url, api_key: api_key.filter(|k| !k.is_empty()) })
    }

    /// `GET /v1/health`: Ok when the ledger says it is up.
    pub async fn health(&self) -> Result<(), RelayError> {
        let health: Health = self.get(&["v1", "health"]).await?;
        if health.status != "ok" {
            return Err(RelayError::Decode(format!("health status is {:?}", health.status)));
        }
        Ok(())
    }

    /// `GET /v1/transactions/{tx_hash}`.
    pub async fn transaction(&self, tx_hash: &str) -> Result<Transaction, RelayError> {
        let tx: Transaction = self.get(&["v1", "transactions", tx_hash]).await?;
        if tx.tx_hash != tx_hash {
            return Err(RelayError::Decode(format!("asked for transaction {tx_hash}, got {}", tx.tx_hash)));
        }
        Ok(tx)
    }

    /// `GET /v1/wallets/{wallet_id}`.
    pub async fn wallet(&self, wallet_id: &str) -> Result<Wallet, RelayError> {
        let wallet: Wallet = self.get(&["v1", "wallets", wallet_id]).await?;
        if wallet.wallet_id != wallet_id {
            return Err(RelayError::Decode(format!("asked for wallet {wallet_id:?}, got {:?}", wallet.wallet_id)));
        }
        Ok(wallet)
    }

    /// `GET /v1/wallets/{wallet_id}/public-key`.
    pub async fn wallet_key(&self, wallet_id: &str) -> Result<WalletKey, RelayError> {
        let key: WalletKey = self.get(&["v1", "wallets", wallet_id, "public-key"]).await?;
        if key.wallet_id != wallet_id {
            return Err(RelayError::Decode(format!("asked for the key of {wallet_id:?}, got {:?}", key.wallet_id)));
        }
        Ok(key)
    }

    /// GETs the path made of `segments`, each percent-encoded so no caller input can change the route.
    async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, RelayError> {
        // The URL parser drops "." and ".." segments, which would silently ask for another route.
        if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
            return Err(RelayError::InvalidRequest("an id must not be empty, \".\" or \"..\"".into()));
        }
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .map_err(|()| RelayError::InvalidRequest("the ledger base URL cannot take a path".into()))?
            .extend(segments);
        let mut request = self.http.get(url).header(reqwest::header::ACCEPT, "application/json");
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(error::network)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(error::network)?;
        if !(200..300).contains(&status) {
            return Err(error::classify(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| RelayError::Decode(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_must_be_http() {
        let t = Duration::from_secs(1);
        assert!(RelayClient::new("http://127.0.0.1:8082", None, t).is_ok());
        assert!(RelayClient::new("https://relay.example/api/", None, t).is_ok());
        assert!(matches!(RelayClient::new("relay.example", None, t), Err(RelayError::InvalidRequest(_))));
        assert!(matches!(RelayClient::new("ftp://relay.example", None, t), Err(RelayError::InvalidRequest(_))));
    }

    #[test]
    fn the_key_is_not_printed() {
        let client = RelayClient::new("http://127.0.0.1:1", Some("s3cret".into()), Duration::from_secs(1)).unwrap();
        assert!(!format!("{client:?}").contains("s3cret"));
    }
}
