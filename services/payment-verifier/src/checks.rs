//! The checks a ledger transaction must pass to pay for a send. Pure: the
//! consumer fetches, these decide.

use novij_events::send::FailureReason;
use novij_events::send::PaymentClaim;
use novij_relay_client::{Transaction, TxStatus};

/// What the ledger's answer means for the send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Paid,
    /// Not final yet: ask again later (until the deadline).
    Pending,
    Rejected(FailureReason, String),
}

/// Checks in the order the client would fix them: state, parties, memo, money.
pub fn judge(tx: &Transaction, claim: &PaymentClaim) -> Verdict {
    use FailureReason::*;
    let reject = |reason, detail: String| Verdict::Rejected(reason, detail);
    match tx.status {
        TxStatus::Pending => return Verdict::Pending,
        TxStatus::Failed => return reject(TxFailed, "the ledger marked the transaction failed".into()),
        TxStatus::Confirmed => {}
    }
    if tx.to_wallet_id != claim.receiver_wallet_id {
        return reject(WrongReceiver, "the transaction does not pay the service wallet".into());
    }
    if tx.from_wallet_id != claim.payer_wallet_id {
        return reject(WrongSender, "the transaction does not come from payer_wallet_id".into());
    }
    if tx.memo.as_deref() != Some(claim.payment_code.as_str()) {
        return reject(WrongMemo, "the transaction's memo is not the payment_code".into());
    }
    if tx.asset != claim.asset {
        return reject(WrongAsset, format!("the transaction is in {}, the price in {}", tx.asset, claim.asset));
    }
    if tx.amount < claim.amount_due {
        return reject(InsufficientAmount, format!("paid {} of {} {}", tx.amount, claim.amount_due, claim.asset));
    }
    Verdict::Paid
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> PaymentClaim {
        PaymentClaim {
            tx_hash: "a".repeat(64),
            payer_wallet_id: "payer".into(),
            payment_code: "pq_code".into(),
            amount_due: "1.5".parse().unwrap(),
            asset: "NVJ".into(),
            receiver_wallet_id: "service".into(),
        }
    }

    fn tx() -> Transaction {
        Transaction {
            tx_hash: "a".repeat(64),
            status: TxStatus::Confirmed,
            from_wallet_id: "payer".into(),
            to_wallet_id: "service".into(),
            amount: "1.5".parse().unwrap(),
            asset: "NVJ".into(),
            memo: Some("pq_code".into()),
            created_at: chrono::Utc::now(),
            confirmed_at: Some(chrono::Utc::now()),
        }
    }

    fn reason(tx: Transaction) -> Option<FailureReason> {
        match judge(&tx, &claim()) {
            Verdict::Rejected(r, _) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn a_matching_confirmed_transaction_pays() {
        assert_eq!(judge(&tx(), &claim()), Verdict::Paid);
        assert_eq!(judge(&Transaction { amount: "2".parse().unwrap(), ..tx() }, &claim()), Verdict::Paid);
    }

    #[test]
    fn pending_waits_and_failed_is_refused() {
        assert_eq!(judge(&Transaction { status: TxStatus::Pending, ..tx() }, &claim()), Verdict::Pending);
        assert_eq!(reason(Transaction { status: TxStatus::Failed, ..tx() }), Some(FailureReason::TxFailed));
    }

    #[test]
    fn each_mismatch_has_its_reason() {
        use FailureReason::*;
        assert_eq!(reason(Transaction { to_wallet_id: "x".into(), ..tx() }), Some(WrongReceiver));
        assert_eq!(reason(Transaction { from_wallet_id: "x".into(), ..tx() }), Some(WrongSender));
        assert_eq!(reason(Transaction { memo: None, ..tx() }), Some(WrongMemo));
        assert_eq!(reason(Transaction { memo: Some("pq_other".into()), ..tx() }), Some(WrongMemo));
        assert_eq!(reason(Transaction { asset: "USD".into(), ..tx() }), Some(WrongAsset));
        assert_eq!(reason(Transaction { amount: "1.499999".parse().unwrap(), ..tx() }), Some(InsufficientAmount));
    }
}
