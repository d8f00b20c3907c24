//! Signed requests (`REQUIRE_SIGNATURES=true`): a project key's
//! state-changing request carries an Ed25519 signature by the Relay wallet
//! that owns what it acts on.
//!
//! The signature covers [`message`]: the method, the path, the timestamp and
//! the body's SHA-256, so it cannot be moved to another request. It is sent
//! in three headers (over HTTP and as NATS headers alike):
//! `X-Novij-Wallet`, `X-Novij-Timestamp` (Unix seconds) and
//! `X-Novij-Signature` (standard base64). A timestamp more than
//! [`MAX_SKEW`] away is refused, and so is a signature seen before, on any
//! instance: each one is recorded in the key-value bucket `api_signatures`
//! until it could no longer pass the timestamp check.
//!
//! Checking here proves who signed; which wallet must have signed is
//! decided where the request finds what it acts on
//! ([`crate::auth::Caller::require_owner`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv};
use base64::Engine as _;
use novij_relay_client::{RelayClient, RelayError};
use warp::http::{Method, StatusCode};

use crate::error::ApiError;

pub const WALLET_HEADER: &str = "X-Novij-Wallet";
pub const TIMESTAMP_HEADER: &str = "X-Novij-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Novij-Signature";
/// How far a request's timestamp may be from this server's clock, either way.
pub const MAX_SKEW: Duration = Duration::from_secs(300);
/// The first line of every signed message: the scheme's version.
const SCHEME: &str = "novij-signature-v1";
const BUCKET: &str = "api_signatures";
/// How long a wallet's public key is used before Relay is asked again.
const KEY_TTL: Duration = Duration::from_secs(60);

/// The signature headers of a request, as presented.
#[derive(Debug, Clone, Default)]
pub struct Presented {
    pub wallet: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
}

/// What a wallet signs: the scheme, the method, the path (`/api/v1/…`, no
/// query), the timestamp and the body's SHA-256 in lowercase hex, one per line.
pub fn message(method: &Method, path: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, body);
    format!("{SCHEME}\n{method}\n{path}\n{timestamp}\n{}", hex::encode(digest.as_ref()))
}

/// Why a signature is refused; each is a 401 with its own code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No signature headers, or not all three.
    Required,
    /// The timestamp is not a number, or too far from now.
    Expired,
    /// Not a signature of this request by this wallet's key.
    Invalid,
    /// Seen before.
    Replayed,
    /// Relay knows no public key for the wallet.
    UnknownWallet,
}

impl Refusal {
    fn code(self) -> &'static str {
        match self {
            Refusal::Required => "signature_required",
            Refusal::Expired => "signature_expired",
            Refusal::Invalid => "signature_invalid",
            Refusal::Replayed => "signature_replayed",
            Refusal::UnknownWallet => "wallet_unknown",
        }
    }

    fn message(self) -> String {
        match self {
            Refusal::Required => format!(
                "this request must be signed by the owning wallet ({WALLET_HEADER}, {TIMESTAMP_HEADER}, {SIGNATURE_HEADER})"
            ),
            Refusal::Expired => format!(
                "{TIMESTAMP_HEADER} must be Unix seconds within {} seconds of now",
                MAX_SKEW.as_secs()
            ),
            Refusal::Invalid => "the signature does not match this request and the wallet's key".into(),
            Refusal::Replayed => "this signature was used before; sign each request anew".into(),
            Refusal::UnknownWallet => "the Relay ledger has no public key for this wallet".into(),
        }
    }

    fn field(self) -> &'static str {
        match self {
            Refusal::Expired => TIMESTAMP_HEADER,
            Refusal::UnknownWallet => WALLET_HEADER,
            Refusal::Required | Refusal::Invalid | Refusal::Replayed => SIGNATURE_HEADER,
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, refusal.code(), refusal.message()).with_field(refusal.field())
    }
}

/// Each wallet's public key, and when Relay gave it.
type KeyCache = Arc<Mutex<HashMap<String, (Vec<u8>, Instant)>>>;

/// Checks signatures; one per ingress.
#[derive(Clone)]
pub struct Signatures {
    relay: RelayClient,
    seen: kv::Store,
    keys: KeyCache,
}

impl Signatures {
    /// The checker, with its bucket of seen signatures.
    pub async fn start(relay: RelayClient, js: &jetstream::Context, replicas: usize) -> anyhow::Result<Self> {
        let seen = match js.get_key_value(BUCKET).await {
            Ok(store) => store,
            Err(_) => js
                .create_key_value(kv::Config {
                    bucket: BUCKET.to_string(),
                    description: "signatures of API requests, kept while they could be replayed".into(),
                    history: 1,
                    // Past this, the timestamp check refuses the signature anyway.
                    max_age: MAX_SKEW * 2 + Duration::from_secs(60),
                    num_replicas: replicas.max(1),
                    ..Default::default()
                })
                .await
                .map_err(|e| anyhow::anyhow!("cannot create the bucket {BUCKET}: {e}"))?,
        };
        Ok(Self { relay, seen, keys: Arc::default() })
    }

    /// The wallet that signed this request, if the signature holds and is
    /// new; the signature is then spent.
    pub async fn verify(
        &self,
        method: &Method,
        path: &str,
        body: &[u8],
        presented: &Presented,
    ) -> Result<String, ApiError> {
        let (Some(wallet), Some(timestamp), Some(signature)) =
            (&presented.wallet, &presented.timestamp, &presented.signature)
        else {
            return Err(Refusal::Required.into());
        };
        let timestamp: i64 = timestamp.trim().parse().map_err(|_| Refusal::Expired)?;
        let now = chrono::Utc::now().timestamp();
        if now.abs_diff(timestamp) > MAX_SKEW.as_secs() {
            return Err(Refusal::Expired.into());
        }
        let signature =
            base64::engine::general_purpose::STANDARD.decode(signature.trim()).map_err(|_| Refusal::Invalid)?;
        let signed = message(method, path, timestamp, body);
        let (key, cached) = self.public_key(wallet, false).await?;
        if !holds(&key, signed.as_bytes(), &signature) {
            // The wallet may have a new key since it was cached.
            let fresh = if cached { Some(self.public_key(wallet, true).await?.0) } else { None };
            if !fresh.is_some_and(|key| holds(&key, signed.as_bytes(), &signature)) {
                return Err(Refusal::Invalid.into());
            }
        }
        self.spend(&signature).await?;
        Ok(wallet.clone())
    }

    /// Records the signature; a second use, here or on another instance, fails.
    async fn spend(&self, signature: &[u8]) -> Result<(), ApiError> {
        let id = hex::encode(ring::digest::digest(&ring::digest::SHA256, signature).as_ref());
        match self.seen.create(&id, bytes::Bytes::new()).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Err(Refusal::Replayed.into()),
            Err(e) => Err(ApiError::unavailable("NATS", &e)),
        }
    }

    /// The wallet's public key and whether it came from the cache.
    async fn public_key(&self, wallet: &str, fresh: bool) -> Result<(Vec<u8>, bool), ApiError> {
        if !fresh {
            let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((key, _)) = keys.get(wallet).filter(|(_, at)| at.elapsed() < KEY_TTL) {
                return Ok((key.clone(), true));
            }
        }
        let found = match self.relay.wallet_key(wallet).await {
            Ok(found) => found,
            Err(RelayError::NotFound | RelayError::InvalidRequest(_)) => return Err(Refusal::UnknownWallet.into()),
            Err(e) => return Err(ApiError::unavailable("the Relay API", &e)),
        };
        let key = base64::engine::general_purpose::STANDARD
            .decode(found.public_key.trim())
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| ApiError::unavailable("the Relay API", &"a wallet key that is not 32 bytes of base64"))?;
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.insert(wallet.to_string(), (key.clone(), Instant::now()));
        Ok((key, false))
    }
}

fn holds(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key).verify(message, signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::KeyPair as _;

    #[test]
    fn the_message_binds_method_path_time_and_body() {
        let m = message(&Method::POST, "/api/v1/send", 1_700_000_000, b"{}");
        assert_eq!(
            m,
            "novij-signature-v1\nPOST\n/api/v1/send\n1700000000\n\
             44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_ne!(m, message(&Method::PATCH, "/api/v1/send", 1_700_000_000, b"{}"));
        assert_ne!(m, message(&Method::POST, "/api/v1/sends", 1_700_000_000, b"{}"));
        assert_ne!(m, message(&Method::POST, "/api/v1/send", 1_700_000_001, b"{}"));
        assert_ne!(m, message(&Method::POST, "/api/v1/send", 1_700_000_000, b"{ }"));
    }

    #[test]
    fn only_the_wallets_key_holds() {
        let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[7; 32]).unwrap();
        let other = ring::signature::Ed25519KeyPair::from_seed_unchecked(&[8; 32]).unwrap();
        let signed = message(&Method::POST, "/api/v1/send", 1, b"{}");
        let signature = pair.sign(signed.as_bytes());
        assert!(holds(pair.public_key().as_ref(), signed.as_bytes(), signature.as_ref()));
        assert!(!holds(other.public_key().as_ref(), signed.as_bytes(), signature.as_ref()));
        assert!(!holds(pair.public_key().as_ref(), b"another message", signature.as_ref()));
    }
}
