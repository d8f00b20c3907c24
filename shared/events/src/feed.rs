//! The project feed: each project's public events, republished from the log
//! on `nt.feed.<project>.<aggregate>.<name>` (stream `FEED`), so a project's
//! NATS-native consumer never reads the raw log. Sealed fields (chat ids,
//! tokens, message text) are left out; what remains is ids and statuses.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::incident::{AlertStatus, Severity};
use crate::send::FailureReason;
use crate::status::{BotStatus, BroadcastStatus, RecipientStatus, SendStatus, WebhookStatus};
use crate::AnyEvent;

/// The stream of every project's feed.
pub const FEED_STREAM: &str = "FEED";
/// Root of the feed subjects.
pub const FEED_ROOT: &str = "nt.feed";

/// A project id as one subject token: `.` (allowed in project ids, a token
/// separator in subjects) is written `%2E`; no other allowed character needs it.
pub fn project_token(project_id: &str) -> String {
    project_id.replace('.', "%2E")
}

/// Every feed message of one project: what its consumer filters on.
pub fn project_subjects(project_id: &str) -> String {
    format!("{FEED_ROOT}.{}.>", project_token(project_id))
}

/// One event of a project's feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FeedMessage {
    /// The id of the log event it shows (also its `Nats-Msg-Id`).
    pub event_id: Uuid,
    /// The log event's type, e.g. `send.sent`.
    pub event_type: String,
    pub occurred_at: DateTime<Utc>,
    pub project_id: String,
    /// The request or update that started the flow (`X-Request-Id` when given).
    pub correlation_id: String,
    #[serde(flatten)]
    pub update: FeedUpdate,
}

impl FeedMessage {
    pub fn subject(&self) -> String {
        format!("{FEED_ROOT}.{}.{}", project_token(&self.project_id), self.event_type)
    }
}

/// What changed, by aggregate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedUpdate {
    Send(SendUpdate),
    Recipient(RecipientUpdate),
    Integration(IntegrationUpdate),
    Alert(AlertUpdate),
    /// Someone pressed a card's button: the same press `GET /alerts/actions/poll` offers.
    Action(ActionUpdate),
    /// A connected user wrote to the bot (not its content: answer it by id).
    Inbound(InboundUpdate),
    /// A broadcast's new state (its sends' progress comes as `send` updates
    /// carrying its `broadcast_id`).
    Broadcast(BroadcastUpdate),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BroadcastUpdate {
    pub broadcast_id: String,
    pub status: BroadcastStatus,
    /// `broadcast.created`: its integration and recipients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    /// `broadcast.queued`: its sends, one per recipient still connected…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued: Option<u32>,
    /// …and the recipients skipped, by reason.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub skipped: std::collections::BTreeMap<String, u32>,
    /// `broadcast.refused`: why its payment was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InboundUpdate {
    /// Answer it with `POST /inbound/{message_id}/reply`.
    pub message_id: String,
    pub integration_id: String,
    /// The sender's `public_user_ref`, or an opaque id.
    pub from: String,
    pub chat_kind: crate::recipient::ChatKind,
}

/// An alert card's new state (never its content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertUpdate {
    pub alert_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
    /// `incident.card_opened`: the project's id of the incident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<u32>,
    /// Payment mode `dsr`: `pending`, `paid` or `refused`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
    /// `incident.card_failed`: the chat that cannot show the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_id: Option<String>,
    /// `card_refused` and `card_failed`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ActionUpdate {
    pub action_id: String,
    pub alert_id: String,
    /// The card's action (its `id` in the upsert).
    pub action: String,
    /// The presser's `public_user_ref`, or an opaque id.
    pub pressed_by: String,
    pub pressed_at: DateTime<Utc>,
}

/// A send's new status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SendUpdate {
    pub send_id: String,
    pub status: SendStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integration_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Reminders: when it is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram_message_id: Option<i64>,
    /// `failed` and `dead_lettered`: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<FailureReason>,
    /// Telegram's description or ours; never message content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// `send.accepted` of a broadcast's send: the broadcast.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broadcast_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
}

/// A recipient's new status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecipientUpdate {
    pub recipient_id: String,
    pub integration_id: String,
    pub status: RecipientStatus,
    /// `recipient.bound`: the project's own reference of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_user_ref: Option<String>,
    /// `disabled` / `unreachable`: why (`user_stopped`, `recipient_blocked`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An integration's bot or webhook changed state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationUpdate {
    pub integration_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_status: Option<BotStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_status: Option<WebhookStatus>,
    /// Telegram's description of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The project deleted the integration.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// Which project an event belongs to, when the event does not say it itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectOf {
    Known(String),
    /// The project of this send (from its `send.accepted`).
    Send(String),
    /// The project of this integration (from its `integration.created`).
    Integration(String),
    /// The project of this recipient (from its `recipient.bound`).
    Recipient(String),
    /// The project of this incident (from its `incident.card_opened`).
    Incident(String),
    /// The project of this broadcast (from its `broadcast.created`).
    Broadcast(String),
}

/// The feed's view of a log event: its project (or where to find it) and
/// the update, or `None` for events that are not part of any feed.
pub fn view(event: &AnyEvent) -> Option<(ProjectOf, FeedUpdate)> {
    let send = |send_id: &str, status| SendUpdate {
        send_id: send_id.to_string(),
        status,
        integration_id: None,
        template: None,
        send_at: None,
        telegram_message_id: None,
        reason: None,
        detail: None,
        attempts: None,
        broadcast_id: None,
    };
    let recipient = |recipient_id: &str, integration_id: &str, status, reason: Option<String>| RecipientUpdate {
        recipient_id: recipient_id.to_string(),
        integration_id: integration_id.to_string(),
        status,
        public_user_ref: None,
        reason,
    };
    let integration = |integration_id: &str| IntegrationUpdate {
        integration_id: integration_id.to_string(),
        bot_status: None,
        webhook_status: None,
        error: None,
        deleted: false,
    };
    let of_recipient = |id: &str| ProjectOf::Recipient(id.to_string());
    let of_integration = |id: &str| ProjectOf::Integration(id.to_string());
    let of_send = |id: &str| ProjectOf::Send(id.to_string());
    let alert = |alert_id: &str| AlertUpdate {
        alert_id: alert_id.to_string(),
        integration_id: None,
        external_id: None,
        status: None,
        severity: None,
        revision: None,
        payment: None,
        recipient_id: None,
        reason: None,
    };
    let of_incident = |id: &str| ProjectOf::Incident(id.to_string());
    let broadcast = |broadcast_id: &str, status| BroadcastUpdate {
        broadcast_id: broadcast_id.to_string(),
        status,
        integration_id: None,
        total: None,
        queued: None,
        skipped: Default::default(),
        reason: None,
    };
    let of_broadcast = |id: &str| ProjectOf::Broadcast(id.to_string());
    Some(match event {
        AnyEvent::SendAccepted(e) => {
            let p = &e.payload;
            let update = SendUpdate {
                integration_id: p.integration_id.clone(),
                template: Some(p.template.clone()),
                send_at: p.send_at,
                broadcast_id: p.broadcast_id.clone(),
                ..send(&p.send_id, SendStatus::Accepted)
            };
            // A system reply to a chat of no integration belongs to no project.
            (ProjectOf::Known(p.project_id.clone()?), FeedUpdate::Send(update))
        }
        AnyEvent::SendScheduled(e) => {
            let update =
                SendUpdate { send_at: Some(e.payload.send_at), ..send(&e.payload.send_id, SendStatus::Scheduled) };
            (of_send(&e.payload.send_id), FeedUpdate::Send(update))
        }
        AnyEvent::SendQueued(e) => {
            (of_send(&e.payload.send_id), FeedUpdate::Send(send(&e.payload.send_id, SendStatus::Queued)))
        }
        AnyEvent::SendCancelled(e) => {
            (of_send(&e.payload.send_id), FeedUpdate::Send(send(&e.payload.send_id, SendStatus::Cancelled)))
        }
        AnyEvent::MessageSent(e) => {
            let p = &e.payload;
            let update = SendUpdate {
                telegram_message_id: Some(p.telegram_message_id),
                attempts: Some(p.attempts),
                ..send(&p.send_id, SendStatus::Sent)
            };
            (of_send(&p.send_id), FeedUpdate::Send(update))
        }
        AnyEvent::SendFailed(e) => {
            let p = &e.payload;
            let update = SendUpdate {
                reason: Some(p.reason),
                detail: Some(p.detail.clone()),
                attempts: Some(p.attempts),
                ..send(&p.send_id, SendStatus::Failed)
            };
            (of_send(&p.send_id), FeedUpdate::Send(update))
        }
        AnyEvent::SendDeadLettered(e) => {
            let p = &e.payload;
            let update = SendUpdate {
                reason: Some(p.reason),
                detail: Some(p.detail.clone()),
                attempts: Some(p.attempts),
                ..send(&p.send_id, SendStatus::DeadLettered)
            };
            (of_send(&p.send_id), FeedUpdate::Send(update))
        }
        AnyEvent::RecipientBound(e) => {
            let p = &e.payload;
            let update = RecipientUpdate {
                public_user_ref: Some(p.public_user_ref.clone()),
                ..recipient(&p.recipient_id, &p.integration_id, RecipientStatus::Active, None)
            };
            (ProjectOf::Known(p.project_id.clone()), FeedUpdate::Recipient(update))
        }
        AnyEvent::RecipientDisabled(e) => {
            let p = &e.payload;
            let reason = Some(p.reason.to_string());
            let update = recipient(&p.recipient_id, &p.integration_id, RecipientStatus::Disabled, reason);
            (of_recipient(&p.recipient_id), FeedUpdate::Recipient(update))
        }
        AnyEvent::RecipientUnreachable(e) => {
            let p = &e.payload;
            let reason = Some(p.reason.to_string());
            let update = recipient(&p.recipient_id, &p.integration_id, RecipientStatus::Unreachable, reason);
            (of_recipient(&p.recipient_id), FeedUpdate::Recipient(update))
        }
        AnyEvent::RecipientUnlinked(e) => {
            let p = &e.payload;
            let update = recipient(&p.recipient_id, &p.integration_id, RecipientStatus::Unlinked, None);
            (of_recipient(&p.recipient_id), FeedUpdate::Recipient(update))
        }
        AnyEvent::IntegrationDeleted(e) => {
            let id = &e.payload.integration_id;
            (of_integration(id), FeedUpdate::Integration(IntegrationUpdate { deleted: true, ..integration(id) }))
        }
        AnyEvent::IntegrationWebhookSet(e) => {
            let id = &e.payload.integration_id;
            let update = IntegrationUpdate { webhook_status: Some(WebhookStatus::Set), ..integration(id) };
            (of_integration(id), FeedUpdate::Integration(update))
        }
        AnyEvent::IntegrationWebhookFailed(e) => {
            let id = &e.payload.integration_id;
            let update = IntegrationUpdate {
                webhook_status: Some(WebhookStatus::Failed),
                error: Some(e.payload.reason.clone()),
                ..integration(id)
            };
            (of_integration(id), FeedUpdate::Integration(update))
        }
        AnyEvent::IntegrationBotUnauthorized(e) => {
            let id = &e.payload.integration_id;
            let update = IntegrationUpdate {
                bot_status: Some(BotStatus::Unauthorized),
                error: Some(e.payload.detail.clone()),
                ..integration(id)
            };
            (of_integration(id), FeedUpdate::Integration(update))
        }
        AnyEvent::CardOpened(e) => {
            let p = &e.payload;
            let update = AlertUpdate {
                integration_id: Some(p.integration_id.clone()),
                external_id: Some(p.external_id.clone()),
                status: Some(p.status),
                severity: Some(p.severity),
                revision: Some(1),
                payment: p.payment.as_ref().map(|_| "pending".to_string()),
                ..alert(&p.alert_id)
            };
            (ProjectOf::Known(p.project_id.clone()), FeedUpdate::Alert(update))
        }
        AnyEvent::CardUpdated(e) => {
            let p = &e.payload;
            let update = AlertUpdate {
                status: Some(p.status),
                severity: Some(p.severity),
                revision: Some(p.revision),
                ..alert(&p.alert_id)
            };
            (of_incident(&p.incident_id), FeedUpdate::Alert(update))
        }
        AnyEvent::CardCleared(e) => {
            let p = &e.payload;
            let update = AlertUpdate { payment: Some("paid".into()), ..alert(&p.alert_id) };
            (of_incident(&p.incident_id), FeedUpdate::Alert(update))
        }
        AnyEvent::CardRefused(e) => {
            let p = &e.payload;
            let update = AlertUpdate { payment: Some("refused".into()), reason: Some(p.reason), ..alert(&p.alert_id) };
            (of_incident(&p.incident_id), FeedUpdate::Alert(update))
        }
        AnyEvent::CardFailed(e) => {
            let p = &e.payload;
            let update = AlertUpdate {
                recipient_id: Some(p.recipient_id.clone()),
                reason: Some(p.reason),
                ..alert(&p.alert_id)
            };
            (of_incident(&p.incident_id), FeedUpdate::Alert(update))
        }
        AnyEvent::InboundReceived(e) => {
            let p = &e.payload;
            let update = InboundUpdate {
                message_id: p.message_id.clone(),
                integration_id: p.integration_id.clone(),
                from: p.from.clone(),
                chat_kind: p.chat_kind,
            };
            (ProjectOf::Known(p.project_id.clone()), FeedUpdate::Inbound(update))
        }
        AnyEvent::ActionPressed(e) => {
            let p = &e.payload;
            let update = ActionUpdate {
                action_id: p.action_id.clone(),
                alert_id: p.alert_id.clone(),
                action: p.action.clone(),
                pressed_by: p.pressed_by.clone(),
                pressed_at: p.pressed_at,
            };
            (of_incident(&p.incident_id), FeedUpdate::Action(update))
        }
        AnyEvent::BroadcastCreated(e) => {
            let p = &e.payload;
            let update = BroadcastUpdate {
                integration_id: Some(p.integration_id.clone()),
                total: u32::try_from(p.recipients.len()).ok(),
                ..broadcast(&p.broadcast_id, BroadcastStatus::Pending)
            };
            (ProjectOf::Known(p.project_id.clone()), FeedUpdate::Broadcast(update))
        }
        AnyEvent::BroadcastCleared(e) => {
            let id = &e.payload.broadcast_id;
            (of_broadcast(id), FeedUpdate::Broadcast(broadcast(id, BroadcastStatus::Cleared)))
        }
        AnyEvent::BroadcastRefused(e) => {
            let id = &e.payload.broadcast_id;
            let update = BroadcastUpdate { reason: Some(e.payload.reason), ..broadcast(id, BroadcastStatus::Refused) };
            (of_broadcast(id), FeedUpdate::Broadcast(update))
        }
        AnyEvent::BroadcastQueued(e) => {
            let p = &e.payload;
            let update = BroadcastUpdate {
                queued: Some(p.queued),
                skipped: p.skipped.clone(),
                ..broadcast(&p.broadcast_id, BroadcastStatus::Queued)
            };
            (of_broadcast(&p.broadcast_id), FeedUpdate::Broadcast(update))
        }
        AnyEvent::BroadcastCancelled(e) => {
            let id = &e.payload.broadcast_id;
            (of_broadcast(id), FeedUpdate::Broadcast(broadcast(id, BroadcastStatus::Cancelled)))
        }
        _ => return None,
    })
}

/// The feed message of an event whose project is known.
pub fn message(event: &AnyEvent, project_id: String, update: FeedUpdate) -> FeedMessage {
    let head = event.head();
    FeedMessage {
        event_id: head.event_id,
        event_type: head.event_type,
        occurred_at: head.occurred_at,
        project_id,
        correlation_id: head.correlation_id,
        update,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_id_is_one_subject_token() {
        assert_eq!(project_token("acme.prod"), "acme%2Eprod");
        assert_eq!(project_subjects("p_1:x@y-z"), "nt.feed.p_1:x@y-z.>");
    }
}
