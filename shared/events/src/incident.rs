//! The incident aggregate (`nt.ev.incident.<id>.*`): a project's monitoring
//! incident, keyed by its integration and `external_id`, and the live alert
//! cards it has had.
//!
//! An incident has one current card at a time: a Telegram message per chat,
//! edited in place as the card changes. When a resolved card fires again, a
//! new card opens (the card generation goes up) and the old one stays as it
//! was. A card's `alert_id` names the incident and the generation
//! ([`crate::ids::alert_id`]), so every card operation finds its aggregate
//! without a lookup.

use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::send::{Clearance, FailureReason, PaymentClaim};
use crate::Event;

crate::labelled_enum! {
    /// How bad it is; a card shows it, and a raise notifies the chat.
    pub enum Severity {
        Info = "info",
        Warning = "warning",
        High = "high",
        Critical = "critical",
    }
}

impl Severity {
    /// Higher is worse.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Info => 0,
            Severity::Warning => 1,
            Severity::High => 2,
            Severity::Critical => 3,
        }
    }
}

crate::labelled_enum! {
    pub enum AlertStatus {
        Firing = "firing",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
}

/// What a card says besides its severity and status; sealed as a whole
/// (purpose `alert_card`) in the events, since it is message text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct CardContent {
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<CardField>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<CardLink>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<CardAction>,
    /// `ru` or `en`.
    pub locale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardField {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardLink {
    pub label: String,
    pub url: String,
}

/// A button under the card; a press is reported to the project with `id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CardAction {
    pub id: String,
    pub label: String,
}

/// Why an edit also sends a short reply under the card: Telegram does not
/// notify anyone of an edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CardNotice {
    SeverityRaised,
    FiringAgain,
}

/// A card was opened: the incident's first, or a new one after its last was
/// resolved. It is revision 1 of the card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardOpened {
    /// `inc_<keyed hash of integration and external_id>`.
    pub incident_id: String,
    pub alert_id: String,
    /// 1 for the incident's first card.
    pub generation: u32,
    pub project_id: String,
    pub integration_id: String,
    pub bot_key: String,
    /// The project's own id of the incident.
    pub external_id: String,
    /// The chats the card is shown in, as recipients of the integration.
    pub recipients: Vec<String>,
    pub severity: Severity,
    pub status: AlertStatus,
    /// [`CardContent`], sealed with the data key of its expiry epoch.
    pub card: Sealed,
    /// Keyed hash of the content, to tell an update that changes nothing.
    pub content_hash: String,
    /// The ids of the card's action buttons, by position.
    #[serde(default)]
    pub actions: Vec<String>,
    /// In payment mode `dsr`: what pays for the card's first message in each
    /// chat. The card is shown once the payment-verifier clears it
    /// ([`CardCleared`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentClaim>,
}

impl Event for CardOpened {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "card_opened";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}

/// The current card changed: every chat's message is to show this revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardUpdated {
    pub incident_id: String,
    pub alert_id: String,
    /// One more than the card's revision before.
    pub revision: u32,
    pub severity: Severity,
    pub status: AlertStatus,
    /// [`CardContent`] as a whole (not a difference), sealed.
    pub card: Sealed,
    pub content_hash: String,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<CardNotice>,
}

impl Event for CardUpdated {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "card_updated";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}

/// The payment-verifier found a paid card's transaction valid and claimed
/// it: the card may be shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardCleared {
    pub incident_id: String,
    pub alert_id: String,
    pub clearance: Clearance,
}

impl Event for CardCleared {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "card_cleared";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}

/// The payment-verifier refused a paid card's transaction: the card is never
/// shown, and the incident's next firing upsert opens a new card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardRefused {
    pub incident_id: String,
    pub alert_id: String,
    /// e.g. `insufficient_amount`, `tx_already_used`, `tx_not_found`.
    pub reason: FailureReason,
    pub detail: String,
}

impl Event for CardRefused {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "card_refused";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}

/// A chat's message shows a revision of the card: sent (`fresh`: the first
/// time, or again after the user deleted it) or edited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardShown {
    pub incident_id: String,
    pub alert_id: String,
    pub recipient_id: String,
    pub revision: u32,
    pub telegram_message_id: i64,
    pub fresh: bool,
}

impl Event for CardShown {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "card_shown";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}

/// A chat's message could not show a revision, for good (the recipient
/// blocked the bot, Telegram refused the text, it stayed unavailable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardFailed {
    pub incident_id: String,
    pub alert_id: String,
    pub recipient_id: String,
    pub revision: u32,
    pub reason: FailureReason,
    pub detail: String,
}

impl Event for CardFailed {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "card_failed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}

/// A `DISPATCH` work item: bring one chat's message of a card to the card's
/// newest revision (at least `revision`). Items of one card coalesce: the
/// delivery renders the newest revision, and an item already shown is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CardItem {
    pub incident_id: String,
    pub alert_id: String,
    pub recipient_id: String,
    pub revision: u32,
    pub bot_key: String,
    pub integration_id: String,
}

impl CardItem {
    /// One chat's message of one card: deliveries of the same key are made
    /// one at a time, in revision order.
    pub fn key(&self) -> String {
        format!("{}:{}", self.alert_id, self.recipient_id)
    }
}

/// Someone pressed one of a card's action buttons; offered to the project by
/// `GET /alerts/actions/poll` until acked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionPressed {
    pub incident_id: String,
    pub alert_id: String,
    /// The press ([`crate::ids::action_id`]), which the project acks.
    pub action_id: String,
    /// The card's action (its `id` in the upsert).
    pub action: String,
    /// The presser: their `public_user_ref` when they are a connected
    /// recipient of the card, else an opaque id (`tg_<keyed hash>`); never a
    /// Telegram id or name.
    pub pressed_by: String,
    pub pressed_at: chrono::DateTime<chrono::Utc>,
}

impl Event for ActionPressed {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "action_pressed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}

/// The project took these presses (`POST /alerts/actions/ack`); they leave the poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionsAcked {
    pub incident_id: String,
    pub action_ids: Vec<String>,
}

impl Event for ActionsAcked {
    const AGGREGATE: &'static str = "incident";
    const NAME: &'static str = "actions_acked";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.incident_id
    }
}
