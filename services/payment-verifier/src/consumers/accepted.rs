//! `payment-verifier-accepted`: `send.accepted` → `send.queued` (or
//! `send.scheduled` for a reminder) once cleared, `send.failed` when a payment
//! is refused.
//!
//! A paid send is checked against the Relay ledger; a pending (or not yet
//! visible) transaction is asked about again with backoff until the deadline.
//! The transaction is then claimed on the log with "no events yet" as the
//! fence on its own aggregate, so it pays for one send only, whichever
//! verifier instance gets there first. Every outcome on the send is fenced on
//! the accepted event, so a redelivery finds the work done.

use std::time::Duration;

use chrono::Utc;
use novij_bus::{run_event_consumer, AppendError, Expect, Handled};
use novij_events::payment::TxClaimed;
use novij_events::send::{Clearance, FailureReason, PaymentClaim, SendAccepted, SendFailed, SendQueued, SendScheduled};
use novij_events::{ids, Envelope, EventMeta};
use novij_relay_client::{RelayClient, RelayError};
use novij_runtime::Runtime;
use tokio::sync::watch;

use crate::checks::{judge, Verdict};

const DURABLE: &str = "payment-verifier-accepted";
const MAX_RECHECK: Duration = Duration::from_secs(30);

#[derive(Clone)]
struct Verifier {
    rt: Runtime,
    relay: Option<RelayClient>,
}

pub async fn run(rt: Runtime, relay: Option<RelayClient>, shutdown: watch::Receiver<bool>) {
    let v = Verifier { rt, relay };
    run_event_consumer(v.rt.jetstream.clone(), DURABLE, 64, shutdown, |accepted: Envelope<SendAccepted>, at| {
        let v = v.clone();
        async move { v.handle(&accepted, at.sequence, at.times).await }
    })
    .await
}

/// What to do next with a paid send.
enum Payment {
    Cleared(Clearance),
    Refused(FailureReason, String),
    AskAgain(Duration),
}

impl Verifier {
    async fn handle(&self, accepted: &Envelope<SendAccepted>, sequence: u64, delivered: u64) -> Handled {
        let clearance = match &accepted.payload.payment {
            None => Clearance::NoPaymentRequired,
            Some(claim) => match self.verify(accepted, claim, delivered).await {
                Ok(Payment::Cleared(c)) => c,
                Ok(Payment::Refused(reason, detail)) => return self.refuse(accepted, sequence, reason, detail).await,
                Ok(Payment::AskAgain(after)) => return Handled::Retry(after),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot record a payment; will retry");
                    return Handled::Retry(Duration::from_secs(1));
                }
            },
        };
        let p = &accepted.payload;
        let meta = EventMeta::caused_by(accepted);
        let result = match p.send_at.filter(|at| *at > Utc::now()) {
            Some(send_at) => {
                let scheduled = SendScheduled {
                    send_id: p.send_id.clone(),
                    bot_key: p.bot_key.clone(),
                    send_at,
                    clearance,
                    priority: p.priority,
                };
                let env = Envelope::new(scheduled, meta)
                    .with_event_id(ids::caused_event_id(&accepted.event_id.to_string(), "scheduled"));
                self.rt.log.append(&env, Expect::LastSequence(sequence)).await
            }
            None => {
                let queued = SendQueued {
                    send_id: p.send_id.clone(),
                    bot_key: p.bot_key.clone(),
                    clearance,
                    priority: p.priority,
                };
                let env = Envelope::new(queued, meta)
                    .with_event_id(ids::caused_event_id(&accepted.event_id.to_string(), "queued"));
                self.rt.log.append(&env, Expect::LastSequence(sequence)).await
            }
        };
        settle(result)
    }

    /// Asks the ledger and, when the transaction pays, claims it for this send.
    async fn verify(
        &self,
        accepted: &Envelope<SendAccepted>,
        claim: &PaymentClaim,
        delivered: u64,
    ) -> Result<Payment, AppendError> {
        let Some(relay) = &self.relay else {
            tracing::warn!("a paid send waits: the Relay API is not configured");
            return Ok(Payment::AskAgain(MAX_RECHECK));
        };
        let deadline =
            accepted.occurred_at + chrono::Duration::seconds(self.rt.config.payments.pending_deadline_seconds.into());
        let past_deadline = Utc::now() >= deadline;
        let until_deadline = (deadline - Utc::now()).to_std().unwrap_or_default();
        let again = self.recheck_delay(delivered).min(until_deadline.max(Duration::from_millis(50)));
        let verdict = match relay.transaction(&claim.tx_hash).await {
            Ok(tx) => judge(&tx, claim),
            Err(RelayError::NotFound) if past_deadline => {
                return Ok(Payment::Refused(FailureReason::TxNotFound, "the ledger has no such transaction".into()))
            }
            Err(RelayError::NotFound) => return Ok(Payment::AskAgain(again)),
            // The ledger being down is ours to wait out, not the client's loss.
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "the Relay API is unavailable; payment check postponed");
                return Ok(Payment::AskAgain(self.recheck_delay(delivered)));
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
            Verdict::Paid => self.claim(accepted, claim).await,
        }
    }

    async fn claim(&self, accepted: &Envelope<SendAccepted>, claim: &PaymentClaim) -> Result<Payment, AppendError> {
        let send_id = &accepted.payload.send_id;
        let claimed = TxClaimed {
            tx_hash: claim.tx_hash.clone(),
            send_id: send_id.clone(),
            amount: claim.amount_due,
            asset: claim.asset.clone(),
        };
        let env = Envelope::new(claimed, EventMeta::caused_by(accepted));
        let paid = Clearance::Paid { tx_hash: claim.tx_hash.clone(), amount: claim.amount_due };
        match self.rt.log.append(&env, Expect::NoEvents).await {
            Ok(_) => {
                tracing::info!(send_id = %send_id, "payment verified and claimed");
                Ok(Payment::Cleared(paid))
            }
            Err(AppendError::Conflict) => {
                // Ours already (a redelivery after a crash), or another send's.
                let owner = self
                    .rt
                    .log
                    .last::<TxClaimed>(&claim.tx_hash)
                    .await
                    .map_err(|e| AppendError::Unavailable(e.to_string()))?;
                match owner {
                    Some((c, _)) if &c.payload.send_id == send_id => Ok(Payment::Cleared(paid)),
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
        let exp = u32::try_from(delivered - 1).unwrap_or(0).min(16);
        Duration::from_millis(base.saturating_mul(1u64 << exp)).min(MAX_RECHECK)
    }

    async fn refuse(
        &self,
        accepted: &Envelope<SendAccepted>,
        sequence: u64,
        reason: FailureReason,
        detail: String,
    ) -> Handled {
        tracing::info!(send_id = %accepted.payload.send_id, reason = reason.as_str(), "payment refused");
        let failed = SendFailed { send_id: accepted.payload.send_id.clone(), reason, detail, attempts: 0 };
        let env = Envelope::new(failed, EventMeta::caused_by(accepted))
            .with_event_id(ids::caused_event_id(&accepted.event_id.to_string(), "payment_refused"));
        settle(self.rt.log.append(&env, Expect::LastSequence(sequence)).await)
    }
}

/// A conflict means the send already moved on (a redelivery, or a cancel).
fn settle(result: Result<novij_bus::Appended, AppendError>) -> Handled {
    match result {
        Ok(_) | Err(AppendError::Conflict) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the outcome; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
