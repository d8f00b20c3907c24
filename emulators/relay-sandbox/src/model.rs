//! What the ledger shows (wallets, transactions) and what the control API accepts.

use novij_events::money::Amount;
use serde::Deserialize;

// The ledger's answers are the client's wire types: one definition of the contract.
pub use novij_relay_client::{KeyAlgorithm, Transaction, TxStatus, Wallet, WalletKey};

/// Body of `POST /relay/wallets`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWallet {
    pub wallet_id: String,
    #[serde(default)]
    pub balance: Amount,
    /// The wallet's Ed25519 public key, standard base64 of its 32 bytes.
    #[serde(default)]
    pub public_key: Option<String>,
}

/// Body of `PUT /relay/wallets/{wallet_id}/public-key`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWalletKey {
    pub public_key: String,
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
