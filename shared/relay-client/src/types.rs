//! What the ledger answers, as docs/RELAY.md describes it.

use chrono::{DateTime, Utc};
use novij_events::money::Amount;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// May still become confirmed or failed.
    Pending,
    Confirmed,
    Failed,
}

impl TxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Pending => "pending",
            TxStatus::Confirmed => "confirmed",
            TxStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub tx_hash: String,
    pub status: TxStatus,
    pub from_wallet_id: String,
    pub to_wallet_id: String,
    pub amount: Amount,
    pub asset: String,
    pub memo: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    pub wallet_id: String,
    pub asset: String,
    pub balance: Amount,
}

/// A wallet's public key (`GET /v1/wallets/{wallet_id}/public-key`): what
/// checks the signatures of requests made for the wallet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletKey {
    pub wallet_id: String,
    pub algorithm: KeyAlgorithm,
    /// The key's 32 bytes, standard base64.
    pub public_key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAlgorithm {
    Ed25519,
}

/// True for exactly 64 lowercase hex characters, the only hashes the ledger accepts.
pub fn is_valid_tx_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_hashes_are_64_lowercase_hex() {
        assert!(is_valid_tx_hash(&"9f".repeat(32)));
        assert!(!is_valid_tx_hash(&"9F".repeat(32)));
        assert!(!is_valid_tx_hash(&"9f".repeat(33)));
        assert!(!is_valid_tx_hash(&format!("0x{}", "9f".repeat(31))));
        assert!(!is_valid_tx_hash(""));
    }

    #[test]
    fn a_transaction_decodes_from_the_documented_shape() {
        let tx: Transaction = serde_json::from_value(serde_json::json!({
            "tx_hash": "ab".repeat(32), "status": "confirmed", "from_wallet_id": "payer",
            "to_wallet_id": "service", "amount": "12.5", "asset": "NVJ", "memo": null,
            "created_at": "2024-05-01T10:00:00Z", "confirmed_at": "2024-05-01T12:00:01+02:00",
            "block": 7
        }))
        .unwrap();
        assert_eq!(tx.status, TxStatus::Confirmed);
        assert_eq!(tx.amount.micros(), 12_500_000);
        assert_eq!(tx.memo, None);
        assert_eq!(tx.confirmed_at.unwrap().to_rfc3339(), "2024-05-01T10:00:01+00:00");
    }
}
