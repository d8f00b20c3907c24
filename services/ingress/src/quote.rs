//! Payment codes: what a quote hands out and a paid send presents again.
//!
//! A code is self-describing and MAC'd with the key ring, so any ingress
//! instance can check it without shared state:
//! `pq_<expires unix>_<amount micros>_<recipients>_<nonce>_<mac>`. The MAC binds
//! the project and template too, so a code quoted for a cheap template cannot
//! pay for a dear one. The ledger transaction's memo must equal the code.

use chrono::{DateTime, TimeZone, Utc};
use novij_crypto::Keyring;
use novij_events::money::Amount;

const PREFIX: &str = "pq";
const MAC_HEX: usize = 24;

/// What a valid code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted {
    pub amount: Amount,
    pub recipients: u32,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("is not a payment code issued by this service for this project and template")]
    Invalid,
    #[error("expired at {0}; ask for a new quote")]
    Expired(DateTime<Utc>),
}

fn mac(keyring: &Keyring, project_id: &str, template: &str, body: &str) -> String {
    let mut h = keyring.hash("payment_code", format!("{project_id}\0{template}\0{body}").as_bytes());
    h.truncate(MAC_HEX);
    h
}

/// Issues a code for `amount` in total, valid until `expires_at`.
pub fn issue(keyring: &Keyring, project_id: &str, template: &str, quoted: Quoted) -> String {
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let body =
        format!("{PREFIX}_{}_{}_{}_{nonce}", quoted.expires_at.timestamp(), quoted.amount.micros(), quoted.recipients);
    let mac = mac(keyring, project_id, template, &body);
    format!("{body}_{mac}")
}

/// Checks a presented code for `project_id` and `template` at `now`.
pub fn check(
    keyring: &Keyring,
    code: &str,
    project_id: &str,
    template: &str,
    now: DateTime<Utc>,
) -> Result<Quoted, QuoteError> {
    let (body, presented) = code.rsplit_once('_').ok_or(QuoteError::Invalid)?;
    if !Keyring::secrets_equal(&mac(keyring, project_id, template, body), presented) {
        return Err(QuoteError::Invalid);
    }
    let parts: Vec<&str> = body.split('_').collect();
    let [PREFIX, expires, micros, recipients, _nonce] = parts[..] else { return Err(QuoteError::Invalid) };
    let expires_at = expires.parse().ok().and_then(|s| Utc.timestamp_opt(s, 0).single()).ok_or(QuoteError::Invalid)?;
    let quoted = Quoted {
        amount: Amount::from_micros(micros.parse().map_err(|_| QuoteError::Invalid)?),
        recipients: recipients.parse().map_err(|_| QuoteError::Invalid)?,
        expires_at,
    };
    if now > expires_at {
        return Err(QuoteError::Expired(expires_at));
    }
    Ok(quoted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::parse(&Keyring::generate_spec("k1").unwrap()).unwrap()
    }

    #[test]
    fn a_code_checks_only_for_its_project_template_and_time() {
        let ring = ring();
        let now = Utc::now();
        let quoted =
            Quoted { amount: "2.5".parse().unwrap(), recipients: 1, expires_at: now + chrono::Duration::minutes(15) };
        let code = issue(&ring, "p1", "text_message", quoted);
        let expires_at = Utc.timestamp_opt(quoted.expires_at.timestamp(), 0).unwrap();
        assert_eq!(check(&ring, &code, "p1", "text_message", now), Ok(Quoted { expires_at, ..quoted }));
        assert_eq!(check(&ring, &code, "p2", "text_message", now), Err(QuoteError::Invalid));
        assert_eq!(check(&ring, &code, "p1", "test_message", now), Err(QuoteError::Invalid));
        let other = Keyring::parse(&Keyring::generate_spec("k1").unwrap()).unwrap();
        assert_eq!(check(&other, &code, "p1", "text_message", now), Err(QuoteError::Invalid));
        let later = now + chrono::Duration::minutes(16);
        assert_eq!(check(&ring, &code, "p1", "text_message", later), Err(QuoteError::Expired(expires_at)));
        let forged = code.replacen("_2500000_", "_1_", 1);
        assert_eq!(check(&ring, &forged, "p1", "text_message", now), Err(QuoteError::Invalid));
        assert_eq!(check(&ring, "nonsense", "p1", "text_message", now), Err(QuoteError::Invalid));
    }
}
