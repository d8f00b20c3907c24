//! The send aggregate: one message to one recipient, from acceptance to delivery.
//!
//! accepted → (payment, when required) → [scheduled →] queued → sent | failed
//!
//! A reminder is a send with `send_at`: it waits as `scheduled` until the
//! scheduler queues it, and may be `cancelled` until then.

use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::integration::PaymentMode;
use crate::money::Amount;
use crate::recipient::UnreachableReason;
use crate::Event;

/// Where a send came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendOrigin {
    /// `POST /api/v1/send` or its NATS equivalent.
    Api,
    /// A reply of the service itself (connect welcome, /stop confirmation).
    System,
    /// One recipient of a broadcast (`broadcast_id`).
    Broadcast,
}

/// Traffic class: interactive sends go ahead of bulk on the same bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Single sends, alerts, command and connect replies.
    #[default]
    Interactive,
    /// Broadcasts and batches: sent when no interactive message waits.
    Bulk,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Interactive => "interactive",
            Priority::Bulk => "bulk",
        }
    }
}

/// The message as the dispatcher will hand it to Telegram; sealed as a whole
/// (purpose `outgoing_message`) inside [`SendAccepted`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OutgoingMessage {
    pub chat_id: i64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Sent as a reply to this message of the chat (an alert card's details),
    /// or alone when it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    /// Inline buttons under it, by row (a command's result).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<MessageButton>>,
    /// One file (`text` is then empty: the captions are on the items), or
    /// an album of 2–10.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<crate::media::MediaItem>,
}

impl OutgoingMessage {
    /// A message of `text`, or, with media, of those media with `text` as
    /// the caption of the (first) item.
    pub fn new(
        chat_id: i64,
        text: String,
        parse_mode: Option<String>,
        mut media: Vec<crate::media::MediaItem>,
    ) -> Self {
        let (text, parse_mode) = match media.first_mut() {
            Some(first) => {
                first.caption = Some(text).filter(|t| !t.is_empty());
                first.parse_mode = parse_mode;
                (String::new(), None)
            }
            None => (text, parse_mode),
        };
        Self { chat_id, text, parse_mode, reply_to: None, buttons: Vec::new(), media }
    }
}

/// A button that sends `data` back as a callback query when pressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MessageButton {
    pub label: String,
    pub data: String,
}

/// What a paid (DSR) send claims to have paid with; the payment-verifier
/// checks it against the Relay ledger before the send may be queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PaymentClaim {
    /// The ledger transaction (64 lowercase hex).
    pub tx_hash: String,
    /// The wallet the transaction must come from.
    pub payer_wallet_id: String,
    /// The quote's code; the transaction's memo must equal it.
    pub payment_code: String,
    /// The quoted amount the transaction must reach.
    pub amount_due: Amount,
    pub asset: String,
    /// The service wallet the transaction must pay.
    pub receiver_wallet_id: String,
}

/// The request was validated and accepted; the client has its `send_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendAccepted {
    pub send_id: String,
    /// Absent for system replies to a chat that belongs to no integration yet
    /// (e.g. an unknown connect code on the common bot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
    pub bot_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<String>,
    pub template: String,
    pub payment_mode: PaymentMode,
    /// Keyed hash of the canonical request body: the same idempotency key with
    /// another body is a conflict.
    pub request_hash: String,
    pub origin: SendOrigin,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// [`OutgoingMessage`], sealed with the send's own payload key (see
    /// `payload_keys`), so deleting that key shreds this copy.
    pub message: Sealed,
    /// Present when the template's price must be paid on the ledger first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentClaim>,
    /// A reminder: not before this instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<chrono::DateTime<chrono::Utc>>,
    /// One recipient's send of this broadcast (origin `broadcast`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast_id: Option<String>,
    /// The uploads its media use, kept until it has ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<String>,
}

impl Event for SendAccepted {
    const AGGREGATE: &'static str = "send";
    const NAME: &'static str = "accepted";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.send_id
    }
}

/// Why a send may go to the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Clearance {
    /// The template and payment mode need no payment.
    NoPaymentRequired,
    /// An operator retried the dead-lettered send (`dlq retry`).
    RetriedFromDeadLetter,
    /// The ledger transaction was verified and claimed for this send.
    Paid { tx_hash: String, amount: Amount },
}

/// A reminder cleared for delivery (paid, when required), waiting for its
/// time; the scheduler queues it at `send_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendScheduled {
    pub send_id: String,
    pub bot_key: String,
    pub send_at: chrono::DateTime<chrono::Utc>,
    pub clearance: Clearance,
    #[serde(default)]
    pub priority: Priority,
}

impl Event for SendScheduled {
    const AGGREGATE: &'static str = "send";
    const NAME: &'static str = "scheduled";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.send_id
    }
}

crate::labelled_enum! {
    pub enum CancelReason {
        /// The client cancelled a reminder before it was queued.
        ByClient = "by_client",
        /// The send's integration was deleted before it was delivered.
        IntegrationDeleted = "integration_deleted",
        /// Its broadcast was cancelled before it was taken off the queue.
        BroadcastCancelled = "broadcast_cancelled",
    }
}

/// The send will not be delivered: cancelled by the client before it was
/// queued, or withdrawn because its integration was deleted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendCancelled {
    pub send_id: String,
    /// Absent in events written before deletion existed: `by_client`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CancelReason>,
}

impl Event for SendCancelled {
    const AGGREGATE: &'static str = "send";
    const NAME: &'static str = "cancelled";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.send_id
    }
}

/// The send is cleared for delivery and waits for the dispatcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendQueued {
    pub send_id: String,
    pub bot_key: String,
    pub clearance: Clearance,
    #[serde(default)]
    pub priority: Priority,
}

impl Event for SendQueued {
    const AGGREGATE: &'static str = "send";
    const NAME: &'static str = "queued";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.send_id
    }
}

/// Telegram accepted the message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MessageSent {
    pub send_id: String,
    pub telegram_message_id: i64,
    pub attempts: u32,
}

impl Event for MessageSent {
    const AGGREGATE: &'static str = "send";
    const NAME: &'static str = "sent";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.send_id
    }
}

crate::labelled_enum! {
    /// Why a send will not be delivered (`send.failed`), or waits for an
    /// operator (`send.dead_lettered`).
    pub enum FailureReason {
        /// Telegram: the user blocked the bot (also `recipient.unreachable`).
        RecipientBlocked = "recipient_blocked",
        /// Telegram: the user's account is deactivated (also `recipient.unreachable`).
        RecipientDeactivated = "recipient_deactivated",
        /// Telegram: the bot was removed from the group (also `recipient.unreachable`).
        BotKicked = "bot_kicked",
        /// Telegram: the user never pressed Start in the bot's chat.
        RecipientNotStarted = "recipient_not_started",
        /// The user sent /stop; nothing was sent.
        RecipientDisconnected = "recipient_disconnected",
        /// Telegram answered another 403.
        Forbidden = "forbidden",
        ChatNotFound = "chat_not_found",
        /// The group moved to a new chat again during one delivery.
        ChatMigrated = "chat_migrated",
        /// Telegram refused the call with another 4xx.
        RejectedByTelegram = "rejected_by_telegram",
        /// The message's key was shredded before it could be sent.
        PayloadExpired = "payload_expired",
        PayloadUnreadable = "payload_unreadable",
        /// The uploaded file it names was removed or is damaged.
        MediaUnavailable = "media_unavailable",
        /// 5xx, timeouts or network failures through every attempt.
        TelegramUnavailable = "telegram_unavailable",
        /// Payment: the ledger never showed the transaction before the deadline.
        TxNotFound = "tx_not_found",
        /// Payment: the transaction stayed pending past the deadline.
        TxPendingTimeout = "tx_pending_timeout",
        /// Payment: the ledger marked the transaction failed.
        TxFailed = "tx_failed",
        /// Payment: it paid another wallet than the service's.
        WrongReceiver = "wrong_receiver",
        /// Payment: it came from another wallet than `payer_wallet_id`.
        WrongSender = "wrong_sender",
        /// Payment: its memo is not the send's `payment_code`.
        WrongMemo = "wrong_memo",
        /// Payment: it is in another asset than the price.
        WrongAsset = "wrong_asset",
        /// Payment: it pays less than the quoted amount.
        InsufficientAmount = "insufficient_amount",
        /// Payment: it already paid for another send.
        TxAlreadyUsed = "tx_already_used",
    }
}

impl From<UnreachableReason> for FailureReason {
    fn from(reason: UnreachableReason) -> Self {
        match reason {
            UnreachableReason::RecipientBlocked => FailureReason::RecipientBlocked,
            UnreachableReason::RecipientDeactivated => FailureReason::RecipientDeactivated,
            UnreachableReason::BotKicked => FailureReason::BotKicked,
        }
    }
}

/// The send will not be delivered.
///
/// v2: `reason` is the closed [`FailureReason`] (v1: any string; every v1
/// string ever written is one of its labels, which the upcaster checks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendFailed {
    pub send_id: String,
    pub reason: FailureReason,
    /// Telegram's description or our own; never message content.
    pub detail: String,
    pub attempts: u32,
}

impl Event for SendFailed {
    const AGGREGATE: &'static str = "send";
    const NAME: &'static str = "failed";
    const VERSION: u16 = 2;
    fn aggregate_id(&self) -> &str {
        &self.send_id
    }
}

/// Telegram stayed unavailable (5xx, timeouts, network) through every attempt;
/// the send waits in the dead-letter stream for `dlq retry`.
///
/// v2: `reason` is the closed [`FailureReason`], as in `send.failed` v2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendDeadLettered {
    pub send_id: String,
    pub bot_key: String,
    #[serde(default)]
    pub priority: Priority,
    pub reason: FailureReason,
    pub detail: String,
    pub attempts: u32,
}

impl Event for SendDeadLettered {
    const AGGREGATE: &'static str = "send";
    const NAME: &'static str = "dead_lettered";
    const VERSION: u16 = 2;
    fn aggregate_id(&self) -> &str {
        &self.send_id
    }
}

/// An entry of the `DEAD_LETTERS` stream (`nt.dlq.send.<send_id>`), written
/// from `send.dead_lettered`; `sequence` is that event's position on the log,
/// which a retry is fenced on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeadLetter {
    #[serde(flatten)]
    pub event: SendDeadLettered,
    pub sequence: u64,
    pub dead_lettered_at: chrono::DateTime<chrono::Utc>,
}

/// A work item of the `DISPATCH` stream (`nt.dispatch.<partition>.<class>`):
/// the queued event and its position on the log, which the outcome is fenced on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DispatchItem {
    pub queued: crate::Envelope<SendQueued>,
    pub queued_sequence: u64,
}
