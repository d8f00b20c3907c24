//! Standard Webhooks signatures (standardwebhooks.com): the secret is
//! `whsec_` + base64 of its key; a signature is `v1,` + base64 of
//! HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<body>"), and
//! `webhook-signature` holds one per secret in use, separated by spaces.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

const PREFIX: &str = "whsec_";
const KEY_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("not a `whsec_` secret")]
    Malformed,
    #[error("no randomness available")]
    NoRandomness,
}

/// One signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A fresh random secret.
    pub fn generate() -> Result<Secret, SecretError> {
        let mut key = vec![0u8; KEY_BYTES];
        SystemRandom::new().fill(&mut key).map_err(|_| SecretError::NoRandomness)?;
        Ok(Secret(key))
    }

    /// Reads `whsec_<base64>`.
    pub fn parse(text: &str) -> Result<Secret, SecretError> {
        let key = text.strip_prefix(PREFIX).ok_or(SecretError::Malformed)?;
        let key = B64.decode(key).map_err(|_| SecretError::Malformed)?;
        if key.is_empty() {
            return Err(SecretError::Malformed);
        }
        Ok(Secret(key))
    }

    /// `whsec_<base64>`: how the project is given it, and how it is sealed.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", B64.encode(&self.0))
    }

    /// `v1,<base64 signature>` of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(format!("{id}.{timestamp}.").as_bytes());
        ctx.update(body);
        format!("v1,{}", B64.encode(ctx.sign().as_ref()))
    }
}

/// The `webhook-signature` header: a signature per secret.
pub fn header(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| s.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_standard_webhooks_reference_does() {
        // The example of the Standard Webhooks reference libraries' tests.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_differ() {
        let a = Secret::generate().expect("a");
        let b = Secret::generate().expect("b");
        assert_ne!(a, b);
        assert_eq!(Secret::parse(&a.expose()), Ok(a.clone()));
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(Secret::parse("nope"), Err(SecretError::Malformed));
        let both = header(&[a.clone(), b.clone()], "m", 1, b"{}");
        assert_eq!(both, format!("{} {}", a.sign("m", 1, b"{}"), b.sign("m", 1, b"{}")));
    }
}
