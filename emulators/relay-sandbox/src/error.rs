//! Refusals of the ledger, each with the HTTP status and error code it is answered with.

use novij_events::money::Amount;

use crate::model::TxStatus;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("tx_hash must be 64 lowercase hex characters")]
    InvalidTxHash,
    #[error("transaction {0} not found")]
    TxNotFound(String),
    #[error("{field} {wallet_id:?} not found")]
    WalletNotFound { field: &'static str, wallet_id: String },
    #[error("wallet_id must be 1-128 characters from A-Z a-z 0-9 _ . : -")]
    InvalidWalletId,
    #[error("wallet {0:?} already exists")]
    WalletExists(String),
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("wallet {wallet_id:?} holds {balance}, less than {amount}")]
    InsufficientFunds { wallet_id: String, balance: Amount, amount: Amount },
    #[error("transaction {tx_hash} is {}, not pending", status.as_str())]
    NotPending { tx_hash: String, status: TxStatus },
    #[error("the total of all balances would exceed what the ledger can count")]
    SupplyOverflow,
    #[error("wallet {0:?} has no public key")]
    PublicKeyNotFound(String),
    #[error("public_key must be the standard base64 of an Ed25519 key's 32 bytes")]
    InvalidPublicKey,
    #[error("{0}")]
    Invalid(String),
}

impl LedgerError {
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidTxHash
            | Self::InvalidWalletId
            | Self::ZeroAmount
            | Self::SupplyOverflow
            | Self::InvalidPublicKey
            | Self::Invalid(_) => 400,
            Self::TxNotFound(_) | Self::WalletNotFound { .. } | Self::PublicKeyNotFound(_) => 404,
            Self::WalletExists(_) | Self::InsufficientFunds { .. } | Self::NotPending { .. } => 409,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidTxHash => "invalid_tx_hash",
            Self::TxNotFound(_) => "tx_not_found",
            Self::WalletNotFound { .. } => "wallet_not_found",
            Self::InvalidWalletId => "invalid_wallet_id",
            Self::WalletExists(_) => "wallet_exists",
            Self::ZeroAmount => "invalid_amount",
            Self::InsufficientFunds { .. } => "insufficient_funds",
            Self::NotPending { .. } => "not_pending",
            Self::SupplyOverflow => "invalid_amount",
            Self::PublicKeyNotFound(_) => "public_key_not_found",
            Self::InvalidPublicKey => "invalid_public_key",
            Self::Invalid(_) => "invalid_request",
        }
    }

    /// The request field at fault, where there is one worth naming.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            Self::WalletNotFound { field, .. } => Some(field),
            Self::InvalidPublicKey => Some("public_key"),
            _ => None,
        }
    }
}
