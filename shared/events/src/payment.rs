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
    /// What it paid for: a send's `send_id`, or an alert card's `alert_id`.
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
