//! Verifying a payment claim against the Relay ledger and claiming its
//! transaction on the log, for whatever it pays for (a send or an alert card).
//!
//! A pending (or not yet visible) transaction is asked about again with
//! backoff until the deadline. The transaction is then claimed with "no
//! events yet" as the fence on its own aggregate, so it pays for one thing
//! only, whichever verifier instance gets there first.

use std::time::Duration;

use chrono::{DateTime, Utc};
use novij_bus::{AppendError, Expect};
use novij_events::payment::TxClaimed;
use novij_events::send::{Clearance, FailureReason, PaymentClaim};
use novij_events::{Envelope, EventMeta};
use novij_relay_client::{RelayClient, RelayError};
use novij_runtime::Runtime;

use crate::checks::{judge, Verdict};

const MAX_RECHECK: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Verifier {
    pub rt: Runtime,
    relay: Option<RelayClient>,
}

/// What to do next with a paid send or card.
pub enum Payment {
    Cleared(Clearance),
    Refused(FailureReason, String),
    AskAgain(Duration),
}

/// What a claim pays for.
pub struct Claimant<'a> {
    /// A `send_id` or an `alert_id`.
    pub id: &'a str,
    /// When it was accepted: the pending deadline counts from it.
    pub accepted_at: DateTime<Utc>,
    /// The event that asked for the payment, as the claim's cause.
    pub cause: EventMeta,
    /// How many times the asking event has been delivered.
    pub delivered: u64,
}

impl Verifier {
    pub fn new(rt: Runtime, relay: Option<RelayClient>) -> Self {
        Verifier { rt, relay }
    }

    /// Asks the ledger and, when the transaction pays, claims it.
    pub async fn verify(&self, claimant: &Claimant<'_>, claim: &PaymentClaim) -> Result<Payment, AppendError> {
        let Some(relay) = &self.relay else {
            tracing::warn!("a payment waits: the Relay API is not configured");
            return Ok(Payment::AskAgain(MAX_RECHECK));
        };
        let deadline =
            claimant.accepted_at + chrono::Duration::seconds(self.rt.config.payments.pending_deadline_seconds.into());
        let past_deadline = Utc::now() >= deadline;
        let until_deadline = (deadline - Utc::now()).to_std().unwrap_or_default();
        let again = self.recheck_delay(claimant.delivered).min(until_deadline.max(Duration::from_millis(50)));
        let found = relay.transaction(&claim.tx_hash).await;
        novij_metrics::relay_lookup(match &found {
            Ok(_) => "found",
            Err(RelayError::NotFound) => "not_found",
            Err(e) if e.is_transient() => "unavailable",
            Err(_) => "refused",
        });
        let verdict = match found {
            Ok(tx) => judge(&tx, claim),
            Err(RelayError::NotFound) if past_deadline => {
                return Ok(Payment::Refused(FailureReason::TxNotFound, "the ledger has no such transaction".into()))
            }
            Err(RelayError::NotFound) => return Ok(Payment::AskAgain(again)),
            // The ledger being down is ours to wait out, not the client's loss.
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "the Relay API is unavailable; payment check postponed");
                return Ok(Payment::AskAgain(self.recheck_delay(claimant.delivered)));
            }
            Err(e) => {
                tracing::error!(error = %e, "the Relay API refused the lookup; payment check postponed");
                return Ok(Payment::AskAgain(MAX_RECHECK));
            }
        };
        match verdict {
            Verdict::Pending if past_deadline => Ok(Payment::Refused(
                FailureReason::TxPendingTimeout,
                "the transaction was still pending at the deadline".into(),
            )),
            Verdict::Pending => Ok(Payment::AskAgain(again)),
            Verdict::Rejected(reason, detail) => Ok(Payment::Refused(reason, detail)),
            Verdict::Paid => self.claim(claimant, claim).await,
        }
    }

    async fn claim(&self, claimant: &Claimant<'_>, claim: &PaymentClaim) -> Result<Payment, AppendError> {
        let claimed = TxClaimed {
            tx_hash: claim.tx_hash.clone(),
            send_id: claimant.id.to_string(),
            amount: claim.amount_due,
            asset: claim.asset.clone(),
        };
        let env = Envelope::new(claimed, claimant.cause.clone());
        let paid = Clearance::Paid { tx_hash: claim.tx_hash.clone(), amount: claim.amount_due };
        match self.rt.log.append(&env, Expect::NoEvents).await {
            Ok(_) => {
                tracing::info!(paid_for = %claimant.id, "payment verified and claimed");
                Ok(Payment::Cleared(paid))
            }
            Err(AppendError::Conflict) => {
                // Ours already (a redelivery after a crash), or another's.
                let owner = self
                    .rt
                    .log
                    .last::<TxClaimed>(&claim.tx_hash)
                    .await
                    .map_err(|e| AppendError::Unavailable(e.to_string()))?;
                match owner {
                    Some((c, _)) if c.payload.send_id == claimant.id => Ok(Payment::Cleared(paid)),
                    _ => Ok(Payment::Refused(
                        FailureReason::TxAlreadyUsed,
                        "the transaction already paid for another send".into(),
                    )),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn recheck_delay(&self, delivered: u64) -> Duration {
        let base = self.rt.config.payments.recheck_base_ms;
        let exp = u32::try_from(delivered.saturating_sub(1)).unwrap_or(0).min(16);
        Duration::from_millis(base.saturating_mul(1u64 << exp)).min(MAX_RECHECK)
    }
}
