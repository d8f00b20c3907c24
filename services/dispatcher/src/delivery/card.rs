//! Bringing one chat's alert card to the card's newest revision: sendMessage
//! the first time (and again after the user deleted it), editMessageText
//! after that → `incident.card_shown` | `incident.card_failed`.
//!
//! Items of one card coalesce: the card is rendered from its newest revision
//! once the pacer's slot is taken, and an item whose revision the chat
//! already shows is done without a call. So a burst of updates costs about
//! one edit per chat per second (Telegram's per-chat limit), and the last
//! state always gets shown.
//!
//! A card never shows an older state after a newer one: one process delivers
//! a chat's card one item at a time (another item of it waits its turn with
//! a short redelivery), only the partition's owner delivers, and a new owner
//! first waits for the calls its predecessor announced. Each call renders
//! the newest revision the log had when it was made, so calls in order show
//! revisions in order. "Message is not modified" is success; "message to
//! edit not found" sends the card afresh and records the new message.

use std::time::Duration;

use novij_aggregates::incident::Card;
use novij_bus::{AppendError, Expect, Handled, ReadError};
use novij_events::ids;
use novij_events::incident::{CardContent, CardFailed, CardItem, CardShown};
use novij_events::send::{FailureReason, Priority};
use novij_events::status::RecipientStatus;
use novij_events::{Envelope, Event, EventMeta};
use novij_runtime::{derive, PayloadError};
use novij_telegram_client::{
    BotApiErrorKind, EditMessageText, ForbiddenReason, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters,
    SendMessage,
};
use novij_templates::card::{render_card, render_notice, Button};

use super::{backoff, retry_later, Job, LEASE_LOST_RETRY, UNAUTHORIZED_RECHECK};
use crate::pacer::Request;

/// When an item of a card whose chat is being delivered to comes back: about
/// when that delivery is done (one call, one append).
const TURN: Duration = Duration::from_millis(300);

pub struct CardDelivery<'a> {
    job: Job<'a>,
    item: &'a CardItem,
    key: String,
}

/// What to do instead of calling Telegram.
enum Settled {
    Handled(Handled),
    /// The chat's message cannot show the card, for good.
    Failed(FailureReason, String),
}

impl From<Handled> for Settled {
    fn from(handled: Handled) -> Self {
        Settled::Handled(handled)
    }
}

impl<'a> CardDelivery<'a> {
    pub fn new(job: Job<'a>, item: &'a CardItem) -> Self {
        Self { job, item, key: item.key() }
    }

    pub async fn run(&self) -> Handled {
        let Some(_guard) = self.job.d.in_flight.enter(&self.key) else { return Handled::Retry(TURN) };
        let inherited = self.job.inherited(&self.key);
        if inherited {
            self.job.after_predecessor(&self.key).await;
        }
        match self.deliver(inherited).await {
            Settled::Handled(handled) => handled,
            Settled::Failed(reason, detail) => self.record_failed(reason, detail).await,
        }
    }

    /// The card as the log has it, read again when the cache is behind the
    /// item or has not seen the card's payment cleared (or `fresh`: a
    /// predecessor may have recorded something).
    async fn card(&self, fresh: bool) -> Result<Option<Card>, ReadError> {
        let generation = ids::parse_alert_id(&self.item.alert_id).map(|(_, g)| g);
        let incidents = &self.job.d.incidents;
        let find = |state: &novij_aggregates::incident::Incident| generation.and_then(|g| state.card(g)).cloned();
        let mut card = if fresh { None } else { find(&incidents.get(&self.item.incident_id).await?.state) };
        if card.as_ref().is_none_or(|c| c.revision < self.item.revision || !c.showable()) {
            card = find(&incidents.refresh(&self.item.incident_id).await?.state);
        }
        Ok(card)
    }

    /// The card still owed to this chat, if any.
    async fn owed(&self, fresh: bool) -> Result<Option<Card>, Settled> {
        match self.card(fresh).await {
            Ok(Some(card)) => Ok(card.owed(&self.item.recipient_id).is_some().then_some(card)),
            Ok(None) => Err(Handled::Reject(format!("card {} has no events", self.item.alert_id)).into()),
            Err(e) => Err(retry_later("log_unavailable", &e, Duration::from_secs(1)).into()),
        }
    }

    async fn chat_id(&self) -> Result<i64, Settled> {
        let d = self.job.d;
        let recipient = match d.recipients.get(&self.item.recipient_id).await {
            Ok(loaded) => loaded.state,
            Err(e) => return Err(retry_later("log_unavailable", &e, Duration::from_secs(1)).into()),
        };
        let reason = match recipient.status {
            Some(RecipientStatus::Active) => None,
            Some(RecipientStatus::Unreachable) => recipient.unreachable.map(Into::into),
            Some(RecipientStatus::Disabled | RecipientStatus::Unlinked) | None => {
                Some(FailureReason::RecipientDisconnected)
            }
        };
        let (None, Some(chat)) = (reason, recipient.chat) else {
            let reason = reason.unwrap_or(FailureReason::RecipientDisconnected);
            return Err(Settled::Failed(reason, "the recipient cannot be reached; not shown".into()));
        };
        let opened = d.rt.keyring.open_owned(derive::purpose::CHAT_ID, &self.item.recipient_id, &chat);
        let opened = opened.map_err(|e| e.to_string());
        opened
            .and_then(|chat| chat.parse().map_err(|e: std::num::ParseIntError| e.to_string()))
            .map_err(|e| Settled::Failed(FailureReason::PayloadUnreadable, e))
    }

    async fn content(&self, card: &Card) -> Result<CardContent, Settled> {
        match self.job.d.rt.payloads.open(derive::purpose::ALERT_CARD, &card.content).await {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Settled::Failed(FailureReason::PayloadUnreadable, e.to_string())),
            Err(PayloadError::Shredded) => {
                Err(Settled::Failed(FailureReason::PayloadExpired, "the card's content expired".into()))
            }
            Err(PayloadError::Store(e)) => {
                Err(retry_later("payload_store_unavailable", &e, Duration::from_secs(1)).into())
            }
            Err(e) => Err(Settled::Failed(FailureReason::PayloadUnreadable, e.to_string())),
        }
    }

    async fn deliver(&self, inherited: bool) -> Settled {
        match self.owed(inherited).await {
            Ok(Some(_)) => {}
            Ok(None) => return Handled::Done.into(),
            Err(settled) => return settled,
        }
        let chat_id = match self.chat_id().await {
            Ok(chat_id) => chat_id,
            Err(settled) => return settled,
        };
        let d = self.job.d;
        let bot = match d.bots.profile(&self.item.bot_key).await {
            Ok(bot) => bot,
            Err(e @ crate::bots::BotLookupError::Log(_)) => {
                return retry_later("log_unavailable", &e, Duration::from_secs(1)).into()
            }
            Err(e) => return retry_later("bot_unavailable", &e, Duration::from_secs(30)).into(),
        };
        if bot.unauthorized {
            return retry_later("bot_unauthorized", &"waiting for a new bot token", UNAUTHORIZED_RECHECK).into();
        }
        let request = Request {
            partition: self.job.partition,
            bot_key: &self.item.bot_key,
            chat_id,
            class: Priority::Interactive,
            tenant: &self.item.integration_id,
            paid_broadcast: false,
            messages: 1,
        };
        let mut deleted = false;
        loop {
            let Ok(slot) = self.job.wait_for_slot(&request).await else {
                return Handled::Retry(LEASE_LOST_RETRY).into();
            };
            let _announced = match self.job.calls.announcer.announce(&self.key).await {
                Ok(announced) => announced,
                Err(e) => return retry_later("handover_unavailable", &e, Duration::from_secs(1)).into(),
            };
            if !self.job.lease.is_valid() {
                return Handled::Retry(LEASE_LOST_RETRY).into();
            }
            // The newest revision, read after the wait for the slot.
            let card = match self.owed(false).await {
                Ok(Some(card)) => card,
                Ok(None) => return Handled::Done.into(),
                Err(settled) => return settled,
            };
            let content = match self.content(&card).await {
                Ok(content) => content,
                Err(settled) => return settled,
            };
            let rendered = match render_card(&card.alert_id, card.severity, card.status, &content) {
                Ok(rendered) => rendered,
                Err(e) => return Settled::Failed(FailureReason::PayloadUnreadable, e.to_string()),
            };
            let reply_markup = Some(keyboard(rendered.keyboard));
            let before = card.shown.get(&self.item.recipient_id);
            let shown = before.map(|s| s.telegram_message_id).filter(|_| !deleted);
            let answer = match shown {
                Some(message_id) => {
                    let params = EditMessageText {
                        chat_id,
                        message_id,
                        text: rendered.text,
                        parse_mode: Some("HTML".into()),
                        reply_markup,
                    };
                    d.api.edit_message_text(&bot.token, &params).await.map(|_| message_id)
                }
                None => {
                    let params = SendMessage {
                        chat_id,
                        text: rendered.text,
                        parse_mode: Some("HTML".into()),
                        allow_paid_broadcast: false,
                        reply_markup,
                        reply_parameters: None,
                    };
                    d.api.send_message(&bot.token, &params).await.map(|m| m.message_id)
                }
            };
            drop(slot);
            let error = match answer {
                Ok(message_id) => {
                    // An edit is silent; a fresh card notifies by itself.
                    let notice = before.filter(|_| shown.is_some()).and_then(|b| card.notice_since(b.revision));
                    if let Some(notice) = notice {
                        let text = render_notice(notice, card.severity, &content);
                        self.notify(&request, &bot.token, message_id, text).await;
                    }
                    return self.record_shown(card.revision, message_id, shown.is_none()).await.into();
                }
                Err(error) => error,
            };
            match (error.kind(), shown) {
                (BotApiErrorKind::NotModified, Some(message_id)) => {
                    return self.record_shown(card.revision, message_id, false).await.into()
                }
                (BotApiErrorKind::MessageToEditNotFound, Some(_)) => {
                    tracing::info!(alert_id = %card.alert_id, "the card's message was deleted; sending it afresh");
                    deleted = true;
                }
                (BotApiErrorKind::RetryAfter(secs), _) => {
                    tracing::warn!(bot_key = %self.item.bot_key, retry_after = secs, "rate limited by Telegram; bot paused");
                    d.pacer.pause(&self.item.bot_key, Duration::from_secs(secs));
                }
                (BotApiErrorKind::Forbidden(why), _) => {
                    let reason = match why {
                        ForbiddenReason::BotBlocked => FailureReason::RecipientBlocked,
                        ForbiddenReason::UserDeactivated => FailureReason::RecipientDeactivated,
                        ForbiddenReason::BotKicked => FailureReason::BotKicked,
                        ForbiddenReason::CannotInitiate => FailureReason::RecipientNotStarted,
                        ForbiddenReason::Other => FailureReason::Forbidden,
                    };
                    return Settled::Failed(reason, error.description().to_string());
                }
                (BotApiErrorKind::Unauthorized, _) => {
                    return retry_later("bot_unauthorized", &error, UNAUTHORIZED_RECHECK).into()
                }
                (kind, _) if kind.is_transient() => {
                    let failures = d.failures.record(&self.key);
                    let policy = &d.rt.config.retry;
                    if failures >= policy.max_attempts {
                        d.failures.forget(&self.key);
                        return Settled::Failed(FailureReason::TelegramUnavailable, error.description().to_string());
                    }
                    return retry_later("telegram_unavailable", &error, backoff(policy, failures)).into();
                }
                (BotApiErrorKind::ChatNotFound, _) => {
                    return Settled::Failed(FailureReason::ChatNotFound, error.description().to_string())
                }
                _ => return Settled::Failed(FailureReason::RejectedByTelegram, error.description().to_string()),
            }
        }
    }

    /// Sends the short reply under the card that an edit cannot give; a
    /// failure is logged, not retried (the card itself is shown).
    async fn notify(&self, request: &Request<'_>, token: &str, message_id: i64, text: String) {
        let Ok(slot) = self.job.wait_for_slot(request).await else { return };
        let params = SendMessage {
            chat_id: request.chat_id,
            text,
            parse_mode: Some("HTML".into()),
            allow_paid_broadcast: false,
            reply_markup: None,
            reply_parameters: Some(ReplyParameters { message_id, allow_sending_without_reply: true }),
        };
        if let Err(e) = self.job.d.api.send_message(token, &params).await {
            tracing::warn!(alert_id = %self.item.alert_id, error = %e, "cannot send the card's notice");
        }
        drop(slot);
    }

    fn meta(&self) -> EventMeta {
        EventMeta::new(&self.item.alert_id)
    }

    /// Appends what happened and waits until this process's cache has it, so
    /// the card's next item sees it.
    async fn record<E: Event>(&self, event: E) -> Handled {
        let env = Envelope::new(event, self.meta());
        match self.job.persist(&env, Expect::Any, &self.key).await {
            Ok(sequence) => {
                self.job.d.failures.forget(&self.key);
                self.job.d.incidents.wait_for(sequence).await;
                Handled::Done
            }
            Err(AppendError::Conflict) => Handled::Done,
            Err(e) => retry_later("log_unavailable", &e, Duration::from_secs(1)),
        }
    }

    async fn record_shown(&self, revision: u32, telegram_message_id: i64, fresh: bool) -> Handled {
        let item = self.item;
        tracing::info!(alert_id = %item.alert_id, revision, fresh, "card shown");
        self.record(CardShown {
            incident_id: item.incident_id.clone(),
            alert_id: item.alert_id.clone(),
            recipient_id: item.recipient_id.clone(),
            revision,
            telegram_message_id,
            fresh,
        })
        .await
    }

    async fn record_failed(&self, reason: FailureReason, detail: String) -> Handled {
        let item = self.item;
        tracing::warn!(alert_id = %item.alert_id, reason = reason.as_str(), "card cannot be shown in a chat");
        self.record(CardFailed {
            incident_id: item.incident_id.clone(),
            alert_id: item.alert_id.clone(),
            recipient_id: item.recipient_id.clone(),
            revision: item.revision,
            reason,
            detail,
        })
        .await
    }
}

fn keyboard(rows: Vec<Vec<Button>>) -> InlineKeyboardMarkup {
    let button = |b: Button| match b {
        Button::Callback { label, data } => InlineKeyboardButton { text: label, callback_data: Some(data), url: None },
        Button::Url { label, url } => InlineKeyboardButton { text: label, callback_data: None, url: Some(url) },
    };
    InlineKeyboardMarkup {
        inline_keyboard: rows.into_iter().map(|row| row.into_iter().map(button).collect()).collect(),
    }
}
