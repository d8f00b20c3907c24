//! What the ledger shows (wallets, transactions) and what the control API accepts.

use chrono::{DateTime, Utc};
use novij_events::money::Amount;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
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

/// A transaction as `GET /v1/transactions/{tx_hash}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// A wallet as `GET /v1/wallets/{wallet_id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wallet {
    pub wallet_id: String,
    pub asset: String,
    pub balance: Amount,
}

/// Body of `POST /relay/wallets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWallet {
    pub wallet_id: String,
    #[serde(default)]
    pub balance: Amount,
}

/// Body of `POST /relay/transfers`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    pub from_wallet_id: String,
    pub to_wallet_id: String,
    pub amount: Amount,
    #[serde(default)]
    pub memo: Option<String>,
    /// Defaults to `confirmed`, or to `pending` when `confirm_after_ms` is given.
    #[serde(default)]
    pub status: Option<TxStatus>,
    /// Only for pending transfers: confirm automatically after this many milliseconds.
    #[serde(default)]
    pub confirm_after_ms: Option<u64>,
}

impl TransferRequest {
    /// A confirmed transfer with no memo; adjust the public fields for the rest.
    pub fn new(from_wallet_id: &str, to_wallet_id: &str, amount: Amount) -> Self {
        Self {
            from_wallet_id: from_wallet_id.to_string(),
            to_wallet_id: to_wallet_id.to_string(),
            amount,
            memo: None,
            status: None,
            confirm_after_ms: None,
        }
    }
}
