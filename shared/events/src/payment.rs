//! The ledger-transaction aggregate (`tx`, id = the transaction hash): a
//! transaction pays for one send only. Its first event is the claim, appended
//! with "no events yet" as the fence, so two verifiers can never both win.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::money::Amount;
use crate::Event;

/// The payment-verifier found the transaction valid and bound it to a send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TxClaimed {
    pub tx_hash: String,
    pub send_id: String,
    pub amount: Amount,
    pub asset: String,
}

impl Event for TxClaimed {
    const AGGREGATE: &'static str = "tx";
    const NAME: &'static str = "claimed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.tx_hash
    }
}

/// Why a paid send was refused: the `reason` of its `send.failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentRejection {
    /// The ledger never showed the transaction before the deadline.
    TxNotFound,
    /// The transaction stayed pending past the deadline.
    TxPendingTimeout,
    /// The ledger marked the transaction failed.
    TxFailed,
    /// It paid another wallet than the service's.
    WrongReceiver,
    /// It came from another wallet than `payer_wallet_id`.
    WrongSender,
    /// Its memo is not the send's `payment_code`.
    WrongMemo,
    /// It is in another asset than the price.
    WrongAsset,
    /// It pays less than the quoted amount.
    InsufficientAmount,
    /// It already paid for another send.
    TxAlreadyUsed,
}

impl PaymentRejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TxNotFound => "tx_not_found",
            Self::TxPendingTimeout => "tx_pending_timeout",
            Self::TxFailed => "tx_failed",
            Self::WrongReceiver => "wrong_receiver",
            Self::WrongSender => "wrong_sender",
            Self::WrongMemo => "wrong_memo",
            Self::WrongAsset => "wrong_asset",
            Self::InsufficientAmount => "insufficient_amount",
            Self::TxAlreadyUsed => "tx_already_used",
        }
    }
}
