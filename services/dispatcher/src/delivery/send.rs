//! Delivering a queued send: sendMessage → `send.sent` | `send.failed` | `send.dead_lettered`.
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

use super::media::{self, MediaError};
use super::{backoff, retry_later, Job, LeaseLost, LEASE_LOST_RETRY, UNAUTHORIZED_RECHECK};
use crate::pacer::{Request, Slot};
use novij_bus::{AppendError, Expect, Handled};
use novij_events::integration::{IntegrationBotUnauthorized, COMMON_BOT_KEY};
use novij_events::recipient::{RecipientChatMigrated, RecipientUnreachable, UnreachableReason};
use novij_events::send::{
    CancelReason, DispatchItem, FailureReason, MessageSent, OutgoingMessage, SendAccepted, SendCancelled,
    SendDeadLettered, SendFailed, SendOrigin, SendQueued,
};
use novij_events::status::RecipientStatus;
use novij_events::{ids, Envelope, Event, EventMeta};
use novij_runtime::{derive, PayloadError};
use novij_telegram_client::{BotApiError, BotApiErrorKind, ForbiddenReason};

/// One delivery of one queued send.
pub struct Delivery<'a> {
    job: Job<'a>,
    queued: &'a Envelope<SendQueued>,
    queued_seq: u64,
}

impl<'a> Delivery<'a> {
    pub fn new(job: Job<'a>, item: &'a DispatchItem) -> Self {
        Self { job, queued: &item.queued, queued_seq: item.queued_sequence }
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
        let Some(_guard) = self.job.d.in_flight.enter(self.send_id()) else { return Handled::Hold };
        // Boxed: a delivery's state (a file being sent among it) is large.
        if self.job.inherited(self.send_id()) {
            return Box::pin(self.after_predecessor()).await;
        }
        Box::pin(self.deliver()).await
    }

    /// A send the previous owner announced: once it is done with it, the
    /// log's leader says whether its outcome was recorded.
    async fn after_predecessor(&self) -> Handled {
        self.job.after_predecessor(self.send_id()).await;
        match self.job.d.rt.log.last_sequence_at_leader(SendQueued::AGGREGATE, self.send_id()).await {
            Ok(Some(last)) if last > self.queued_seq => Handled::Done,
            Ok(_) => self.deliver().await,
            Err(e) => retry_later("log_unavailable", &e, Duration::from_secs(1)),
        }
    }

    async fn deliver(&self) -> Handled {
        let log = &self.job.d.rt.log;
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
            match self.job.d.integrations.get(integration_id).await {
                Ok(integration) if integration.state.deleted => return self.withdraw().await,
                Ok(_) => {}
                Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
            }
        }
        // The service's own replies go out regardless: the /stop confirmation
        // is addressed to the recipient /stop has just disabled.
        let checked = accepted.recipient_id.as_ref().filter(|_| accepted.origin != SendOrigin::System);
        if let Some(recipient_id) = checked {
            match self.recipient_block(recipient_id).await {
                Ok(Some(reason)) => return self.fail(reason, "the recipient cannot be reached; not sent", 0).await,
                Ok(None) => {}
                Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
            }
        }
        let message = match self.job.d.rt.payloads.open(derive::purpose::OUTGOING_MESSAGE, &accepted.message).await {
            Ok(bytes) => serde_json::from_slice::<OutgoingMessage>(&bytes).map_err(|e| e.to_string()),
            Err(PayloadError::Shredded) => {
                return self.fail(FailureReason::PayloadExpired, "the message expired before it could be sent", 0).await
            }
            Err(PayloadError::Store(e)) => return retry_later("payload_store_unavailable", &e, Duration::from_secs(1)),
            Err(e) => Err(e.to_string()),
        };
        let mut message = match message {
            Ok(m) => m,
            Err(e) => return self.fail(FailureReason::PayloadUnreadable, &e, 0).await,
        };
        let bot = match self.job.d.bots.profile(self.bot_key()).await {
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
        let reply_markup = buttons(std::mem::take(&mut message.buttons));
        let mut prepared = match media::prepare(self.job.d, self.bot_key(), message, reply_markup).await {
            Ok(prepared) => prepared,
            Err(MediaError::Gone(why)) => return self.fail(FailureReason::MediaUnavailable, &why, 0).await,
            Err(MediaError::Unavailable(e)) => {
                return retry_later("upload_store_unavailable", &e, Duration::from_secs(1))
            }
        };
        let tenant = accepted.integration_id.as_deref().unwrap_or(self.bot_key());
        let mut migrated = false;
        // Items of an album Telegram sent before one failed.
        let mut partly: Option<usize> = None;
        loop {
            let chat_id = prepared.call.chat_id();
            let Ok(slot) = self.wait_for_slot(chat_id, tenant, bot.paid_broadcast, prepared.call.messages()).await
            else {
                // Not at once: until this worker is stopped (or its lease
                // refreshed) it would get the message straight back, and
                // spin. A new owner resets the consumers and gets it anyway.
                return Handled::Retry(LEASE_LOST_RETRY);
            };
            // Held until the outcome is recorded (or no call was made).
            let _announced = match self.job.calls.announcer.announce(self.send_id()).await {
                Ok(announced) => announced,
                Err(e) => return retry_later("handover_unavailable", &e, Duration::from_secs(1)),
            };
            // The write may have outlasted the lease.
            if !self.job.lease.is_valid() {
                return Handled::Retry(LEASE_LOST_RETRY);
            }
            // Asked last, so a cancel acknowledged before the call stops it.
            if let Some(broadcast_id) = &accepted.broadcast_id {
                match self.job.d.cancelled.is_cancelled(&self.job.d.rt.log, broadcast_id).await {
                    Ok(true) => {
                        let reason = Some(CancelReason::BroadcastCancelled);
                        return self.record(SendCancelled { send_id: self.send_id().to_string(), reason }, None).await;
                    }
                    Ok(false) => {}
                    Err(e) => return retry_later("log_unavailable", &e, Duration::from_secs(1)),
                }
            }
            let answer = prepared.call.make(&self.job.d.api, &bot.token, slot.paid).await;
            drop(slot);
            let error = match answer {
                Ok(sent) => {
                    tracing::info!(send_id = %self.send_id(), attempts = self.job.attempt, "message sent");
                    let Some(first) = sent.first() else {
                        return self.fail(FailureReason::RejectedByTelegram, "Telegram sent no message", 0).await;
                    };
                    let event = MessageSent {
                        send_id: self.send_id().to_string(),
                        telegram_message_id: first.message_id,
                        attempts: self.job.attempt,
                    };
                    prepared.learn(self.job.d, self.bot_key(), &sent, &self.meta()).await;
                    return self.record(event, None).await;
                }
                Err(e) => e,
            };
            // Telegram names an album's item that failed; the ones before it arrived.
            if let Some(arrived) = error.album_failed_item().and_then(|n| n.checked_sub(1)).filter(|n| *n > 0) {
                tracing::warn!(send_id = %self.send_id(), arrived, "an album arrived in part; the rest is sent alone");
                prepared.call.skip_delivered(arrived);
                partly = Some(arrived + partly.unwrap_or(0));
            }
            match error.kind() {
                BotApiErrorKind::RetryAfter(secs) => {
                    tracing::warn!(bot_key = %self.bot_key(), retry_after = secs, "rate limited by Telegram; bot paused");
                    self.job.d.pacer.pause(self.bot_key(), Duration::from_secs(secs));
                }
                BotApiErrorKind::ChatMigrated(new_chat) if !migrated => {
                    if let Some(recipient_id) = &accepted.recipient_id {
                        if let Err(e) = self.record_migration(recipient_id, &accepted, new_chat).await {
                            return retry_later("log_unavailable", &e, Duration::from_secs(1));
                        }
                    }
                    tracing::info!(send_id = %self.send_id(), "chat migrated to a supergroup; resending");
                    prepared.call.move_to(new_chat);
                    migrated = true;
                }
                kind => {
                    let error = match partly {
                        Some(n) => {
                            BotApiError::new(kind, format!("{} (the album's first {n} arrived)", error.description()))
                        }
                        None => error,
                    };
                    return self.after_failure(kind, &error, &accepted, bot.as_of).await;
                }
            }
        }
    }

    /// Waits for the pacer's slot, telling JetStream the message is in
    /// progress; gives up when the partition's lease is no longer valid.
    async fn wait_for_slot(
        &self,
        chat_id: i64,
        tenant: &str,
        paid_broadcast: bool,
        messages: usize,
    ) -> Result<Slot<'a>, LeaseLost> {
        let class = self.queued.payload.priority;
        let partition = self.job.partition;
        let request = Request { partition, bot_key: self.bot_key(), chat_id, class, tenant, paid_broadcast, messages };
        self.job.wait_for_slot(&request).await
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
                self.fail(code, error.description(), self.job.attempt).await
            }
            BotApiErrorKind::ChatNotFound => {
                self.fail(FailureReason::ChatNotFound, error.description(), self.job.attempt).await
            }
            BotApiErrorKind::ChatMigrated(_) => {
                self.fail(FailureReason::ChatMigrated, error.description(), self.job.attempt).await
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
                let failures = self.job.d.failures.record(self.send_id());
                let policy = &self.job.d.rt.config.retry;
                if failures >= policy.max_attempts {
                    self.dead_letter(error, failures).await
                } else {
                    retry_later("telegram_unavailable", error, backoff(policy, failures))
                }
            }
            _ => self.fail(FailureReason::RejectedByTelegram, error.description(), self.job.attempt).await,
        }
    }

    /// The send's integration is gone: nothing is sent.
    async fn withdraw(&self) -> Handled {
        tracing::info!(send_id = %self.send_id(), "integration deleted; send withdrawn");
        let reason = Some(CancelReason::IntegrationDeleted);
        self.record(SendCancelled { send_id: self.send_id().to_string(), reason }, None).await
    }

    /// Why the recipient must not be called, from its last event on the log.
    /// Why the recipient cannot be sent to, as the log has it (kept in memory).
    async fn recipient_block(&self, recipient_id: &str) -> Result<Option<FailureReason>, String> {
        let recipient = self.job.d.recipients.get(recipient_id).await.map_err(|e| e.to_string())?.state;
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
        ids::caused_event_id(&format!("{}:{}", self.queued.event_id, self.job.attempt), purpose)
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
        self.job.d.rt.log.append(&env, Expect::Any).await.map(|_| ())
    }

    async fn record_migration(
        &self,
        recipient_id: &str,
        accepted: &SendAccepted,
        new_chat: i64,
    ) -> Result<(), AppendError> {
        let rt = &self.job.d.rt;
        let chat = rt
            .keyring
            .seal_owned(derive::purpose::CHAT_ID, recipient_id, &new_chat.to_string())
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
        self.job.d.rt.log.append(&env, Expect::LastSequence(bot_as_of)).await.map(|_| ())
    }

    async fn fail(&self, reason: FailureReason, detail: &str, attempts: u32) -> Handled {
        tracing::warn!(send_id = %self.send_id(), reason = reason.as_str(), "send failed");
        let event = SendFailed { send_id: self.send_id().to_string(), reason, detail: detail.to_string(), attempts };
        self.record(event, Some(reason)).await
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
        self.record(event, Some(FailureReason::TelegramUnavailable)).await
    }

    /// Appends the send's outcome, fenced on the queued event, and counts it.
    async fn record<E: Event>(&self, event: E, reason: Option<FailureReason>) -> Handled {
        let env = Envelope::new(event, self.meta())
            .with_event_id(ids::caused_event_id(&self.queued.event_id.to_string(), "outcome"));
        // The fence refuses anything after another outcome.
        match self.job.persist(&env, Expect::LastSequence(self.queued_seq), self.send_id()).await {
            Ok(_) => {
                novij_metrics::send_outcome(E::NAME, reason.map(FailureReason::as_str));
                self.job.d.failures.forget(self.send_id());
                Handled::Done
            }
            Err(AppendError::Conflict) => {
                self.job.d.failures.forget(self.send_id());
                Handled::Done
            }
            Err(e) => retry_later("log_unavailable", &e, Duration::from_secs(1)),
        }
    }
}

/// A message's buttons as Telegram's inline keyboard.
fn buttons(rows: Vec<Vec<novij_events::send::MessageButton>>) -> Option<novij_telegram_client::InlineKeyboardMarkup> {
    if rows.is_empty() {
        return None;
    }
    let button = |b: novij_events::send::MessageButton| novij_telegram_client::InlineKeyboardButton {
        text: b.label,
        callback_data: Some(b.data),
        url: None,
    };
    Some(novij_telegram_client::InlineKeyboardMarkup {
        inline_keyboard: rows.into_iter().map(|row| row.into_iter().map(button).collect()).collect(),
    })
}
