//! Delivering one work item of an owned partition: sendMessage → `send.sent` | `send.failed` | `send.dead_lettered`.
//!
//! Every Telegram answer has one consequence:
//! - 429: the bot is paused for `retry_after`; the message waits in this
//!   delivery (keeping it alive with progress acks) and is sent afterwards.
//! - 403 blocked / deactivated / kicked: `recipient.unreachable`, the send fails
//!   with that reason; later sends to the recipient fail before any call.
//! - 400 with `migrate_to_chat_id`: `recipient.chat_migrated`, resent to the new chat.
//! - 400 chat not found and other 400s: the send fails with a reason.
//! - 401: `integration.bot_unauthorized`; the integration's sends wait
//!   (redelivered, without calling Telegram) until `integration.updated`
//!   brings a new token.
//! - 5xx, timeouts, network: redelivered with exponential backoff and full
//!   jitter, then dead-lettered after the last attempt (counted by `failures`).
//!
//! Outcomes are appended fenced on the queued event, so a redelivered message
//! whose outcome is on the log is not sent again. An append that fails (NATS
//! electing a leader, a lost connection) is retried for a while by the
//! delivery that knows the outcome, not left to a redelivery that would call
//! Telegram again. A call is announced before it is made (`calls`): a new
//! owner of the partition waits for the outcome of its predecessor's
//! announced calls rather than repeat them. The window left is a crash
//! between Telegram's answer and the append: that message is sent again.

use std::time::Duration;

use crate::calls::Calls;
use crate::lease::Lease;
use crate::pacer::{Pacer, Request, Slot};
use crate::Dispatcher;
use async_nats::jetstream::{AckKind, Message};
use novij_bus::{AppendError, Expect, Handled};
use novij_events::integration::{IntegrationBotUnauthorized, COMMON_BOT_KEY};
use novij_events::recipient::{RecipientChatMigrated, RecipientUnreachable, UnreachableReason};
use novij_events::send::{
    CancelReason, DispatchItem, FailureReason, MessageSent, OutgoingMessage, Priority, SendAccepted, SendCancelled,
    SendDeadLettered, SendFailed, SendOrigin, SendQueued,
};
use novij_events::status::RecipientStatus;
use novij_events::{ids, Envelope, Event, EventMeta};
use novij_runtime::{derive, PayloadError};
use novij_telegram_client::{BotApiError, BotApiErrorKind, ForbiddenReason, SendMessage};

/// How long a delivery keeps trying to append its outcome before it leaves
/// the message to a redelivery (which, for a sent message, calls Telegram
/// again): longer than a JetStream leader election.
const RECORD_FOR: Duration = Duration::from_secs(20);
/// How often a waiting message tells JetStream it is still being worked on.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How often a send of a bot whose token Telegram refused looks for a new one.
const UNAUTHORIZED_RECHECK: Duration = Duration::from_secs(5);

/// One delivery of one queued send.
pub struct Delivery<'a> {
    d: &'a Dispatcher,
    queued: &'a Envelope<SendQueued>,
    msg: &'a Message,
    queued_seq: u64,
    /// Deliveries of this message so far, this one included.
    attempt: u32,
    partition: u16,
    lease: &'a Lease,
    calls: &'a Calls,
}

/// Why a delivery stopped before calling Telegram.
struct LeaseLost;

/// When a delivery that found the lease lost is redelivered: about when the
/// lease is refreshed or has moved (a moment, not a busy loop).
const LEASE_LOST_RETRY: Duration = Duration::from_secs(1);

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

impl<'a> Delivery<'a> {
    pub fn new(
        d: &'a Dispatcher,
        item: &'a DispatchItem,
        msg: &'a Message,
        partition: u16,
        lease: &'a Lease,
        calls: &'a Calls,
    ) -> Self {
        let attempt = msg.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
        Self { d, queued: &item.queued, msg, queued_seq: item.queued_sequence, attempt, partition, lease, calls }
    }

    fn send_id(&self) -> &str {
        &self.queued.payload.send_id
    }

    fn bot_key(&self) -> &str {
        &self.queued.payload.bot_key
    }

    pub async fn run(&self) -> Handled {
        // A redelivered copy of an item this process is still handling waits
        // for that handling to acknowledge it.
        let Some(_guard) = self.d.in_flight.enter(self.send_id()) else { return Handled::Hold };
        if self.calls.inherited.as_ref().is_some_and(|i| i.contains(self.send_id())) {
            return self.after_predecessor().await;
        }
        self.deliver().await
    }

    /// A send the previous owner announced: once it is done with it, the
    /// log's leader says whether its outcome was recorded.
    async fn after_predecessor(&self) -> Handled {
        if let Some(inherited) = &self.calls.inherited {
            while tokio::time::timeout(PROGRESS_EVERY, inherited.settled(self.send_id())).await.is_err() {
                if let Err(e) = self.msg.ack_with(AckKind::Progress).await {
                    tracing::warn!(error = %e, "progress ack failed");
                }
            }
        }
        match self.d.rt.log.last_sequence_at_leader(SendQueued::AGGREGATE, self.send_id()).await {
            Ok(Some(last)) if last > self.queued_seq => Handled::Done,
            Ok(_) => self.deliver().await,
            Err(e) => retry_later("log_unavailable", &e, Duration::from_secs(1)),
        }
    }

    async fn deliver(&self) -> Handled {
        let log = &self.d.rt.log;
        match log.last_sequence(SendQueued::AGGREGATE, self.send_id()).await {
            Ok(Some(last)) if last > self.queued_seq => return Handled::Done,
            Ok(_) => {}
            Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
        }
        let accepted = match log.last::<SendAccepted>(self.send_id()).await {
            Ok(Some((accepted, _))) => accepted.payload,
            Ok(None) => return Handled::Reject(format!("send {} has no accepted event", self.send_id())),
            Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
        };
        if let Some(integration_id) = &accepted.integration_id {
            match self.d.integrations.get(integration_id).await {
                Ok(integration) if integration.state.deleted => return self.withdraw().await,
                Ok(_) => {}
                Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
            }
        }
        // The service's own replies go out regardless: the /stop confirmation
        // is addressed to the recipient /stop has just disabled.
        let checked = accepted.recipient_id.as_ref().filter(|_| accepted.origin == SendOrigin::Api);
        if let Some(recipient_id) = checked {
            match self.recipient_block(recipient_id).await {
                Ok(Some(reason)) => return self.fail(reason, "the recipient cannot be reached; not sent", 0).await,
                Ok(None) => {}
                Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
            }
        }
        let message = match self.d.rt.payloads.open(derive::purpose::OUTGOING_MESSAGE, &accepted.message).await {
            Ok(bytes) => serde_json::from_slice::<OutgoingMessage>(&bytes).map_err(|e| e.to_string()),
            Err(PayloadError::Shredded) => {
                return self.fail(FailureReason::PayloadExpired, "the message expired before it could be sent", 0).await
            }
            Err(PayloadError::Store(e)) => return retry_later("payload_store_unavailable", &e, Duration::from_secs(1)),
            Err(e) => Err(e.to_string()),
        };
        let message = match message {
            Ok(m) => m,
            Err(e) => return self.fail(FailureReason::PayloadUnreadable, &e, 0).await,
        };
        let bot = match self.d.bots.profile(self.bot_key()).await {
            Ok(bot) => bot,
            // A log read that failed (NATS electing a leader) is worth
            // another try soon, unlike a bot that is missing or unusable.
            Err(e @ crate::bots::BotLookupError::Log(_)) => {
                return retry_later("log_unavailable", &e, Duration::from_secs(1))
            }
            Err(e) => return retry_later("bot_unavailable", &e, Duration::from_secs(30)),
        };
        if bot.unauthorized {
            return retry_later("bot_unauthorized", &"waiting for a new bot token", UNAUTHORIZED_RECHECK);
        }
        let mut params = SendMessage {
            chat_id: message.chat_id,
            text: message.text,
            parse_mode: message.parse_mode,
            allow_paid_broadcast: false,
        };
        let tenant = accepted.integration_id.as_deref().unwrap_or(self.bot_key());
        let mut migrated = false;
        loop {
            let Ok(slot) = self.wait_for_slot(params.chat_id, tenant, bot.paid_broadcast).await else {
                // Not at once: until this worker is stopped (or its lease
                // refreshed) it would get the message straight back, and
                // spin. A new owner resets the consumers and gets it anyway.
                return Handled::Retry(LEASE_LOST_RETRY);
            };
            // Held until the outcome is recorded (or no call was made).
            let _announced = match self.calls.announcer.announce(self.send_id()).await {
                Ok(announced) => announced,
                Err(e) => return retry_later("handover_unavailable", &e, Duration::from_secs(1)),
            };
            // The write may have outlasted the lease.
            if !self.lease.is_valid() {
                return Handled::Retry(LEASE_LOST_RETRY);
            }
            params.allow_paid_broadcast = slot.paid;
            let answer = self.d.api.send_message(&bot.token, &params).await;
            drop(slot);
            let error = match answer {
                Ok(sent) => {
                    tracing::info!(send_id = %self.send_id(), attempts = self.attempt, "message sent");
                    let event = MessageSent {
                        send_id: self.send_id().to_string(),
                        telegram_message_id: sent.message_id,
                        attempts: self.attempt,
                    };
                    return self.record(event).await;
                }
                Err(e) => e,
            };
            match error.kind() {
                BotApiErrorKind::RetryAfter(secs) => {
                    tracing::warn!(bot_key = %self.bot_key(), retry_after = secs, "rate limited by Telegram; bot paused");
                    self.d.pacer.pause(self.bot_key(), Duration::from_secs(secs));
                }
                BotApiErrorKind::ChatMigrated(new_chat) if !migrated => {
                    if let Some(recipient_id) = &accepted.recipient_id {
                        if let Err(e) = self.record_migration(recipient_id, &accepted, new_chat).await {
                            return retry_later("log_unavailable", &e, Duration::from_secs(1));
                        }
                    }
                    tracing::info!(send_id = %self.send_id(), "chat migrated to a supergroup; resending");
                    params.chat_id = new_chat;
                    migrated = true;
                }
                kind => return self.after_failure(kind, &error, &accepted, bot.as_of).await,
            }
        }
    }

    /// Waits for the pacer's slot, telling JetStream the message is in
    /// progress; gives up when the partition's lease is no longer valid.
    async fn wait_for_slot(&self, chat_id: i64, tenant: &str, paid_broadcast: bool) -> Result<Slot<'a>, LeaseLost> {
        let class = self.queued.payload.priority;
        let pacer: &'a Pacer = &self.d.pacer;
        let _waiter = (class == Priority::Interactive).then(|| pacer.interactive_waiter(self.bot_key()));
        let request =
            Request { partition: self.partition, bot_key: self.bot_key(), chat_id, class, tenant, paid_broadcast };
        let mut since_progress = Duration::ZERO;
        loop {
            if !self.lease.is_valid() {
                return Err(LeaseLost);
            }
            let wait = match pacer.try_take(&request) {
                Ok(slot) => return Ok(slot),
                Err(wait) => wait,
            };
            let step = wait.min(PROGRESS_EVERY).min(Duration::from_secs(1));
            tokio::time::sleep(step).await;
            since_progress += step;
            if since_progress >= PROGRESS_EVERY {
                since_progress = Duration::ZERO;
                if let Err(e) = self.msg.ack_with(AckKind::Progress).await {
                    tracing::warn!(error = %e, "progress ack failed");
                }
            }
        }
    }

    async fn after_failure(
        &self,
        kind: BotApiErrorKind,
        error: &BotApiError,
        accepted: &SendAccepted,
        bot_as_of: u64,
    ) -> Handled {
        match kind {
            BotApiErrorKind::Forbidden(why) => {
                let reason = match why {
                    ForbiddenReason::BotBlocked => Some(UnreachableReason::RecipientBlocked),
                    ForbiddenReason::UserDeactivated => Some(UnreachableReason::RecipientDeactivated),
                    ForbiddenReason::BotKicked => Some(UnreachableReason::BotKicked),
                    ForbiddenReason::CannotInitiate | ForbiddenReason::Other => None,
                };
                if let (Some(reason), Some(recipient_id)) = (reason, &accepted.recipient_id) {
                    if let Err(e) = self.record_unreachable(recipient_id, accepted, reason).await {
                        return retry_later("log_unavailable", &e, Duration::from_secs(1));
                    }
                }
                let code = match (reason, why) {
                    (Some(reason), _) => reason.into(),
                    (None, ForbiddenReason::CannotInitiate) => FailureReason::RecipientNotStarted,
                    (None, _) => FailureReason::Forbidden,
                };
                self.fail(code, error.description(), self.attempt).await
            }
            BotApiErrorKind::ChatNotFound => {
                self.fail(FailureReason::ChatNotFound, error.description(), self.attempt).await
            }
            BotApiErrorKind::ChatMigrated(_) => {
                self.fail(FailureReason::ChatMigrated, error.description(), self.attempt).await
            }
            BotApiErrorKind::Unauthorized => {
                match self.record_unauthorized(accepted, error, bot_as_of).await {
                    // The integration changed meanwhile (a new token?): try again with it.
                    Err(AppendError::Conflict) => retry_later("bot_changed", error, Duration::from_secs(1)),
                    Err(e) => retry_later("log_unavailable", &e, Duration::from_secs(1)),
                    Ok(()) => retry_later("bot_unauthorized", error, UNAUTHORIZED_RECHECK),
                }
            }
            kind if kind.is_transient() => {
                let failures = self.d.failures.record(self.send_id());
                let policy = &self.d.rt.config.retry;
                if failures >= policy.max_attempts {
                    self.dead_letter(error, failures).await
                } else {
                    retry_later("telegram_unavailable", error, backoff(policy, failures))
                }
            }
            _ => self.fail(FailureReason::RejectedByTelegram, error.description(), self.attempt).await,
        }
    }

    /// The send's integration is gone: nothing is sent.
    async fn withdraw(&self) -> Handled {
        tracing::info!(send_id = %self.send_id(), "integration deleted; send withdrawn");
        let reason = Some(CancelReason::IntegrationDeleted);
        self.record(SendCancelled { send_id: self.send_id().to_string(), reason }).await
    }

    /// Why the recipient must not be called, from its last event on the log.
    /// Why the recipient cannot be sent to, as the log has it (kept in memory).
    async fn recipient_block(&self, recipient_id: &str) -> Result<Option<FailureReason>, String> {
        let recipient = self.d.recipients.get(recipient_id).await.map_err(|e| e.to_string())?.state;
        Ok(match recipient.status {
            Some(RecipientStatus::Unreachable) => recipient.unreachable.map(Into::into),
            Some(RecipientStatus::Disabled | RecipientStatus::Unlinked) => Some(FailureReason::RecipientDisconnected),
            Some(RecipientStatus::Active) | None => None,
        })
    }

    fn meta(&self) -> EventMeta {
        EventMeta::caused_by(self.queued)
    }

    fn event_id(&self, purpose: &str) -> uuid::Uuid {
        ids::caused_event_id(&format!("{}:{}", self.queued.event_id, self.attempt), purpose)
    }

    async fn record_unreachable(
        &self,
        recipient_id: &str,
        accepted: &SendAccepted,
        reason: UnreachableReason,
    ) -> Result<(), AppendError> {
        let event = RecipientUnreachable {
            recipient_id: recipient_id.to_string(),
            integration_id: accepted.integration_id.clone().unwrap_or_default(),
            reason,
        };
        tracing::info!(recipient_id, reason = reason.as_str(), "recipient unreachable");
        let env = Envelope::new(event, self.meta()).with_event_id(self.event_id("unreachable"));
        self.d.rt.log.append(&env, Expect::Any).await.map(|_| ())
    }

    async fn record_migration(
        &self,
        recipient_id: &str,
        accepted: &SendAccepted,
        new_chat: i64,
    ) -> Result<(), AppendError> {
        let rt = &self.d.rt;
        let chat = rt
            .keyring
            .seal_str(derive::purpose::CHAT_ID, &new_chat.to_string())
            .map_err(|e| AppendError::Unavailable(e.to_string()))?;
        let event = RecipientChatMigrated {
            recipient_id: recipient_id.to_string(),
            integration_id: accepted.integration_id.clone().unwrap_or_default(),
            chat,
            chat_hash: derive::chat_hash(&rt.keyring, self.bot_key(), new_chat),
        };
        let env = Envelope::new(event, self.meta()).with_event_id(self.event_id("chat_migrated"));
        rt.log.append(&env, Expect::Any).await.map(|_| ())
    }

    /// Marks the integration's bot unauthorized, fenced on the integration's
    /// state the call was made with: a token replaced meanwhile is not marked.
    async fn record_unauthorized(
        &self,
        accepted: &SendAccepted,
        error: &BotApiError,
        bot_as_of: u64,
    ) -> Result<(), AppendError> {
        let Some(integration_id) = accepted.integration_id.clone().filter(|_| self.bot_key() != COMMON_BOT_KEY) else {
            tracing::error!(bot_key = %self.bot_key(), "Telegram refused the common bot's token");
            return Ok(());
        };
        let event = IntegrationBotUnauthorized {
            integration_id,
            bot_key: self.bot_key().to_string(),
            detail: error.description().to_string(),
        };
        let env = Envelope::new(event, self.meta()).with_event_id(self.event_id("bot_unauthorized"));
        self.d.rt.log.append(&env, Expect::LastSequence(bot_as_of)).await.map(|_| ())
    }

    async fn fail(&self, reason: FailureReason, detail: &str, attempts: u32) -> Handled {
        tracing::warn!(send_id = %self.send_id(), reason = reason.as_str(), "send failed");
        let event = SendFailed { send_id: self.send_id().to_string(), reason, detail: detail.to_string(), attempts };
        self.record(event).await
    }

    async fn dead_letter(&self, error: &BotApiError, attempts: u32) -> Handled {
        tracing::warn!(send_id = %self.send_id(), attempts, "attempts exhausted; dead-lettered");
        let event = SendDeadLettered {
            send_id: self.send_id().to_string(),
            bot_key: self.bot_key().to_string(),
            priority: self.queued.payload.priority,
            reason: FailureReason::TelegramUnavailable,
            detail: error.description().to_string(),
            attempts,
        };
        self.record(event).await
    }

    /// Appends the send's outcome, fenced on the queued event.
    async fn record<E: Event>(&self, event: E) -> Handled {
        let env = Envelope::new(event, self.meta())
            .with_event_id(ids::caused_event_id(&self.queued.event_id.to_string(), "outcome"));
        let started = tokio::time::Instant::now();
        let mut pause = Duration::from_millis(100);
        loop {
            match self.d.rt.log.append(&env, Expect::LastSequence(self.queued_seq)).await {
                Ok(_) | Err(AppendError::Conflict) => {
                    self.d.failures.forget(self.send_id());
                    return Handled::Done;
                }
                // Safe to repeat: the same event id is stored once, and the
                // fence refuses anything after another outcome.
                Err(AppendError::Unavailable(e)) if started.elapsed() < RECORD_FOR => {
                    tracing::warn!(send_id = %self.send_id(), error = %e, "cannot record the outcome yet; retrying");
                    let _ = self.msg.ack_with(AckKind::Progress).await;
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(500));
                }
                Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
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
