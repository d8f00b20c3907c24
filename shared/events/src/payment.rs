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

crate::labelled_enum! {
    /// Why a paid send was refused: the `reason` of its `send.failed`.
    pub enum PaymentRejection {
        /// The ledger never showed the transaction before the deadline.
        TxNotFound = "tx_not_found",
        /// The transaction stayed pending past the deadline.
        TxPendingTimeout = "tx_pending_timeout",
        /// The ledger marked the transaction failed.
        TxFailed = "tx_failed",
        /// It paid another wallet than the service's.
        WrongReceiver = "wrong_receiver",
        /// It came from another wallet than `payer_wallet_id`.
        WrongSender = "wrong_sender",
        /// Its memo is not the send's `payment_code`.
        WrongMemo = "wrong_memo",
        /// It is in another asset than the price.
        WrongAsset = "wrong_asset",
        /// It pays less than the quoted amount.
        InsufficientAmount = "insufficient_amount",
        /// It already paid for another send.
        TxAlreadyUsed = "tx_already_used",
    }
}
