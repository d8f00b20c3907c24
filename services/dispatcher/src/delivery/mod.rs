//! Delivering one work item of an owned partition: a queued send (`send`), or
//! a chat's alert card brought to its newest revision (`card`). What both
//! need is a [`Job`]: the message held, the partition's lease and its
//! announced calls, the pacer's slots, and appends that outlast an election.

pub mod card;
pub mod media;
pub mod send;

use std::time::Duration;

use async_nats::jetstream::{AckKind, Message};
use novij_bus::{AppendError, Expect, Handled};
use novij_events::{Envelope, Event};

use crate::calls::Calls;
use crate::lease::Lease;
use crate::pacer::{Request, Slot};
use crate::Dispatcher;

/// How long a delivery keeps trying to append its outcome before it leaves
/// the message to a redelivery (which, for a sent message, calls Telegram
/// again): longer than a JetStream leader election.
pub(crate) const RECORD_FOR: Duration = Duration::from_secs(20);
/// How often a waiting message tells JetStream it is still being worked on.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How often a delivery for a bot whose token Telegram refused looks for a new one.
const UNAUTHORIZED_RECHECK: Duration = Duration::from_secs(5);
/// When a delivery that found the lease lost is redelivered: about when the
/// lease is refreshed or has moved (a moment, not a busy loop).
const LEASE_LOST_RETRY: Duration = Duration::from_secs(1);

/// Why a delivery stopped before calling Telegram.
struct LeaseLost;

fn retry_later(reason: &str, error: &dyn std::fmt::Display, delay: Duration) -> Handled {
    tracing::warn!(reason, error = %error, delay_ms = delay.as_millis() as u64, "delivery postponed");
    Handled::Retry(delay)
}

/// Exponential backoff with full jitter: uniform in [0, min(max, base·2^(n-1))].
pub fn backoff(policy: &novij_config::RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy.base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(20)).min(policy.max_ms);
    let random = (uuid::Uuid::new_v4().as_u128() % u128::from(ceiling.max(1) + 1)) as u64;
    Duration::from_millis(random.max(policy.base_ms.min(ceiling) / 10))
}

/// One work item being delivered by the partition's owner.
pub struct Job<'a> {
    d: &'a Dispatcher,
    msg: &'a Message,
    /// Deliveries of this message so far, this one included.
    attempt: u32,
    partition: u16,
    lease: &'a Lease,
    calls: &'a Calls,
}

impl<'a> Job<'a> {
    pub fn new(d: &'a Dispatcher, msg: &'a Message, partition: u16, lease: &'a Lease, calls: &'a Calls) -> Self {
        let attempt = msg.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
        Self { d, msg, attempt, partition, lease, calls }
    }

    /// Tells JetStream the message is still being worked on.
    async fn progress(&self) {
        if let Err(e) = self.msg.ack_with(AckKind::Progress).await {
            tracing::warn!(error = %e, "progress ack failed");
        }
    }

    /// Whether the previous owner of the partition announced a call for `key`.
    fn inherited(&self, key: &str) -> bool {
        self.calls.inherited.as_ref().is_some_and(|i| i.contains(key))
    }

    /// Waits until the previous owner is done with `key`.
    async fn after_predecessor(&self, key: &str) {
        if let Some(inherited) = &self.calls.inherited {
            while tokio::time::timeout(PROGRESS_EVERY, inherited.settled(key)).await.is_err() {
                self.progress().await;
            }
        }
    }

    /// Waits for the pacer's slot, telling JetStream the message is in
    /// progress; gives up when the partition's lease is no longer valid.
    async fn wait_for_slot(&self, request: &Request<'_>) -> Result<Slot<'a>, LeaseLost> {
        let pacer: &'a crate::pacer::Pacer = &self.d.pacer;
        let interactive = request.class == novij_events::send::Priority::Interactive;
        let _waiter = interactive.then(|| pacer.interactive_waiter(request.bot_key));
        let mut since_progress = Duration::ZERO;
        loop {
            if !self.lease.is_valid() {
                return Err(LeaseLost);
            }
            let wait = match pacer.try_take(request) {
                Ok(slot) => return Ok(slot),
                Err(wait) => wait,
            };
            let step = wait.min(PROGRESS_EVERY).min(Duration::from_secs(1));
            tokio::time::sleep(step).await;
            since_progress += step;
            if since_progress >= PROGRESS_EVERY {
                since_progress = Duration::ZERO;
                self.progress().await;
            }
        }
    }

    /// Appends an event of the delivery, retrying for [`RECORD_FOR`] while
    /// the log is unavailable; its sequence. Safe to repeat: the event id is
    /// stored once.
    async fn persist<E: Event>(&self, env: &Envelope<E>, expect: Expect, key: &str) -> Result<u64, AppendError> {
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.d.rt.log.append(env, expect).await {
                Ok(appended) => return Ok(appended.sequence),
                Err(AppendError::Unavailable(e)) if started.elapsed() < RECORD_FOR => {
                    tracing::warn!(key, error = %e, "cannot record the outcome yet; retrying");
                    let _ = self.msg.ack_with(AckKind::Progress).await;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let policy = novij_config::RetryPolicy { max_attempts: 10, base_ms: 1000, max_ms: 8000 };
        let samples: Vec<Duration> = (0..200).map(|_| backoff(&policy, 3)).collect();
        assert!(samples.iter().all(|d| *d <= Duration::from_millis(4000)));
        assert!(samples.iter().any(|d| *d != samples[0]), "no jitter");
        assert!((0..200).all(|_| backoff(&policy, 30) <= Duration::from_millis(8000)));
    }
}
