//! The projector: applies events to the projection tables in log order.
//!
//! Every instance follows the log from the checkpoint with an ordered
//! consumer (contiguous, in order, nothing to acknowledge) and applies what
//! arrived in batches: one transaction per batch that first locks the
//! checkpoint row, drops the events at or below it, applies the rest (the
//! sends coalesced, see [`crate::send_changes`]) and moves the checkpoint
//! once. Instances, restarts and a concurrent rebuild therefore never apply
//! an event twice or out of order, and whichever instance is up keeps the
//! projections current. While Postgres is down, the batch waits and grows;
//! it is applied when Postgres is back.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use novij_bus::follow::{Entry, FollowError, Followed, Follower};
use novij_events::status::{BotStatus, BroadcastStatus, ConnectCodeStatus, RecipientStatus, WebhookStatus};
use novij_events::{AnyEvent, DecodeError};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use tokio::sync::watch;

use crate::model::{alert_card, broadcast, checkpoint, connect_code, integration, recipient};
use crate::send_changes::SendChanges;

/// The name the projector goes by in logs.
const NAME: &str = "projector";
/// Most events applied in one transaction.
const MAX_BATCH: usize = 5_000;
/// How long to wait before trying again after Postgres failed.
const PAUSE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("projection database: {0}")]
    Db(#[from] DbErr),
}

/// What became of a batch.
#[derive(Debug)]
pub enum Applied {
    /// Applied up to this sequence (the batch, or the part past the checkpoint).
    Upto(u64),
    /// Every event was applied already.
    AlreadyApplied,
    /// Applied up to `upto`; the event after it needs a newer release.
    Stopped { upto: Option<u64>, sequence: u64, reason: DecodeError },
}

/// One event as it came off the log, decoded only if it is applied.
pub struct Raw {
    pub sequence: u64,
    pub payload: bytes::Bytes,
}

#[derive(Clone)]
pub struct Projector {
    db: DatabaseConnection,
}

impl Projector {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Applies the events of `batch` (in log order, contiguous) that are past
    /// the checkpoint, in one transaction.
    pub async fn apply(&self, batch: &[Raw]) -> Result<Applied, ApplyError> {
        let txn = self.db.begin().await?;
        let last = lock_checkpoint(&txn).await?;
        let mut events = Vec::with_capacity(batch.len());
        let (mut upto, mut stopped) = (None, None);
        for raw in batch.iter().filter(|r| r.sequence > last) {
            match AnyEvent::from_slice(&raw.payload) {
                Ok(event) => events.push((raw.sequence, event)),
                // A newer release's event stops the projector: stepping over
                // it would leave these projections silently behind.
                Err(reason) if reason.written_by_newer_release() => {
                    stopped = Some((raw.sequence, reason));
                    break;
                }
                Err(e) => tracing::error!(sequence = raw.sequence, error = %e, "stepping over a malformed event"),
            }
            upto = Some(raw.sequence);
        }
        if let Some(upto) = upto {
            apply_events(&txn, &events).await?;
            set_checkpoint(&txn, upto).await?;
            txn.commit().await?;
        } else {
            txn.rollback().await?;
        }
        Ok(match (stopped, upto) {
            (Some((sequence, reason)), upto) => Applied::Stopped { upto, sequence, reason },
            (None, Some(upto)) => Applied::Upto(upto),
            (None, None) => Applied::AlreadyApplied,
        })
    }

    /// Follows the log and applies it until shutdown.
    pub async fn run(self, js: jetstream::Context, mut shutdown: watch::Receiver<bool>) {
        let checkpoint = loop {
            if *shutdown.borrow() {
                return;
            }
            match crate::queries::checkpoint(&self.db).await {
                Ok(checkpoint) => break checkpoint,
                Err(e) => tracing::warn!(error = %e, "the projector cannot follow the log yet; retrying"),
            }
            if pause(&mut shutdown).await {
                return;
            }
        };
        // After a failure the follower resumes just past the last event it
        // delivered, whose batch is applied by then: at the checkpoint, or
        // before it if another instance moved on, and `apply` drops those.
        let from = DeliverPolicy::ByStartSequence { start_sequence: checkpoint + 1 };
        let mut log = Follower::new(js, Vec::new(), from, shutdown.clone());
        while let Some(followed) = log.next().await {
            let first = match followed {
                Followed::Message(entry) => entry,
                Followed::Lost(FollowError::Subscribe(e)) => {
                    tracing::warn!(error = %e, "the projector cannot follow the log yet; retrying");
                    continue;
                }
                Followed::Subscribed { .. } | Followed::Lost(_) => continue,
            };
            let mut batch = vec![raw(first)];
            // Whatever else has arrived joins the batch, without waiting.
            while batch.len() < MAX_BATCH {
                match log.ready() {
                    Some(entry) => batch.push(raw(entry)),
                    None => break,
                }
            }
            match self.apply_until_done(&batch, &mut shutdown).await {
                Some(Applied::Stopped { sequence, reason, .. }) => {
                    tracing::error!(
                        consumer = NAME,
                        sequence,
                        reason = %reason,
                        "CONSUMER STOPPED: an event this release cannot read; the checkpoint stays before it until a newer release applies it"
                    );
                    let _ = shutdown.wait_for(|s| *s).await;
                    return;
                }
                Some(_) => {}
                None => return,
            }
        }
    }

    /// Applies a batch, retrying while Postgres fails; `None` at shutdown.
    async fn apply_until_done(&self, batch: &[Raw], shutdown: &mut watch::Receiver<bool>) -> Option<Applied> {
        loop {
            match self.apply(batch).await {
                Ok(applied) => return Some(applied),
                Err(e) => {
                    tracing::warn!(events = batch.len(), error = %e, "projection failed; will retry");
                    if pause(shutdown).await {
                        return None;
                    }
                }
            }
        }
    }
}

fn raw(entry: Entry) -> Raw {
    Raw { sequence: entry.sequence, payload: entry.message.payload }
}

/// Sleeps [`PAUSE`]; true if shutdown came first.
async fn pause(shutdown: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = shutdown.changed() => true,
        _ = tokio::time::sleep(PAUSE) => false,
    }
}

/// Applies events in log order: sends coalesced, everything else one by one.
pub(crate) async fn apply_events<C: ConnectionTrait>(txn: &C, events: &[(u64, AnyEvent)]) -> Result<(), DbErr> {
    let mut sends = SendChanges::default();
    for (sequence, event) in events {
        if !sends.take(*sequence, event) {
            apply_event(txn, event).await?;
        }
    }
    sends.write(txn).await
}

pub(crate) async fn lock_checkpoint<C: ConnectionTrait>(txn: &C) -> Result<u64, DbErr> {
    let row = txn
        .query_one(sea_orm::Statement::from_string(
            txn.get_database_backend(),
            format!("SELECT last_sequence FROM projection_checkpoint WHERE name = '{}' FOR UPDATE", checkpoint::EVENTS),
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("projection checkpoint (run `novij-telegram migrate`)".into()))?;
    let last: i64 = row.try_get("", "last_sequence")?;
    Ok(last as u64)
}

pub(crate) async fn set_checkpoint<C: ConnectionTrait>(txn: &C, sequence: u64) -> Result<(), DbErr> {
    checkpoint::Entity::update_many()
        .col_expr(checkpoint::Column::LastSequence, Expr::value(sequence as i64))
        .filter(checkpoint::Column::Name.eq(checkpoint::EVENTS))
        .exec(txn)
        .await?;
    Ok(())
}

fn label<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Changes the projection rows for one event that is not a send's. Inserts
/// are conflict-tolerant so a replay over existing rows is harmless.
async fn apply_event<C: ConnectionTrait>(txn: &C, event: &AnyEvent) -> Result<(), DbErr> {
    match event {
        AnyEvent::IntegrationCreated(e) => {
            let p = &e.payload;
            integration::Entity::insert(integration::ActiveModel {
                id: Set(p.integration_id.clone()),
                project_id: Set(p.project_id.clone()),
                owner_wallet_id: Set(p.owner_wallet_id.clone()),
                bot_mode: Set(label(&p.bot_mode)),
                bot_key: Set(p.bot_key().to_string()),
                bot_id: Set(p.bot.bot_id),
                bot_username: Set(p.bot.username.clone()),
                payment_mode: Set(label(&p.payment_mode)),
                default_reminder_minutes: Set(p.default_reminder_minutes as i32),
                inbound_webhook_url: Set(p.inbound_webhook_url.clone()),
                webhook_status: Set(WebhookStatus::Pending.to_string()),
                webhook_error: Set(None),
                bot_status: Set(BotStatus::Ok.to_string()),
                bot_error: Set(None),
                default_locale: Set(p.default_locale.clone().unwrap_or_else(|| "ru".into())),
                allow_paid_broadcast: Set(p.allow_paid_broadcast),
                created_at: Set(e.occurred_at),
                updated_at: Set(e.occurred_at),
            })
            .on_conflict(OnConflict::column(integration::Column::Id).do_nothing().to_owned())
            .do_nothing()
            .exec(txn)
            .await?;
        }
        AnyEvent::IntegrationWebhookSet(e) => {
            integration::Entity::update_many()
                .col_expr(integration::Column::WebhookStatus, Expr::value(WebhookStatus::Set.as_str()))
                .col_expr(integration::Column::WebhookError, Expr::value(Option::<String>::None))
                .col_expr(integration::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(integration::Column::Id.eq(&e.payload.integration_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::IntegrationWebhookFailed(e) => {
            integration::Entity::update_many()
                .col_expr(integration::Column::WebhookStatus, Expr::value(WebhookStatus::Failed.as_str()))
                .col_expr(integration::Column::WebhookError, Expr::value(e.payload.reason.clone()))
                .col_expr(integration::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(integration::Column::Id.eq(&e.payload.integration_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::IntegrationBotUnauthorized(e) => {
            integration::Entity::update_many()
                .col_expr(integration::Column::BotStatus, Expr::value(BotStatus::Unauthorized.as_str()))
                .col_expr(integration::Column::BotError, Expr::value(e.payload.detail.clone()))
                .col_expr(integration::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(integration::Column::Id.eq(&e.payload.integration_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::IntegrationUpdated(e) => {
            let p = &e.payload;
            let mut update = integration::Entity::update_many()
                .col_expr(integration::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(integration::Column::Id.eq(&p.integration_id));
            if p.bot_token.is_some() {
                update = update
                    .col_expr(integration::Column::BotStatus, Expr::value(BotStatus::Ok.as_str()))
                    .col_expr(integration::Column::BotError, Expr::value(Option::<String>::None));
            }
            if let Some(allow) = p.allow_paid_broadcast {
                update = update.col_expr(integration::Column::AllowPaidBroadcast, Expr::value(allow));
            }
            if let Some(minutes) = p.default_reminder_minutes {
                update = update.col_expr(integration::Column::DefaultReminderMinutes, Expr::value(minutes as i32));
            }
            if let Some(locale) = &p.default_locale {
                update = update.col_expr(integration::Column::DefaultLocale, Expr::value(locale.clone()));
            }
            if let Some(url) = &p.inbound_webhook_url {
                update = update.col_expr(integration::Column::InboundWebhookUrl, Expr::value(url.clone()));
            }
            if p.inbound_webhook_removed {
                update = update.col_expr(integration::Column::InboundWebhookUrl, Expr::value(Option::<String>::None));
            }
            update.exec(txn).await?;
        }
        // A deleted integration is gone from the projections, with its
        // recipients and codes; its sends and their history stay.
        AnyEvent::IntegrationDeleted(e) => {
            let id = &e.payload.integration_id;
            connect_code::Entity::delete_many().filter(connect_code::Column::IntegrationId.eq(id)).exec(txn).await?;
            recipient::Entity::delete_many().filter(recipient::Column::IntegrationId.eq(id)).exec(txn).await?;
            integration::Entity::delete_by_id(id).exec(txn).await?;
        }
        AnyEvent::ConnectCodeIssued(e) => {
            let p = &e.payload;
            connect_code::Entity::insert(connect_code::ActiveModel {
                code_id: Set(p.code_id.clone()),
                integration_id: Set(p.integration_id.clone()),
                project_id: Set(p.project_id.clone()),
                public_user_ref: Set(p.public_user_ref.clone()),
                status: Set(ConnectCodeStatus::Issued.to_string()),
                recipient_id: Set(None),
                expires_at: Set(p.expires_at),
                issued_at: Set(e.occurred_at),
                redeemed_at: Set(None),
            })
            .on_conflict(OnConflict::column(connect_code::Column::CodeId).do_nothing().to_owned())
            .do_nothing()
            .exec(txn)
            .await?;
        }
        AnyEvent::ConnectCodeRedeemed(e) => {
            connect_code::Entity::update_many()
                .col_expr(connect_code::Column::Status, Expr::value(ConnectCodeStatus::Redeemed.as_str()))
                .col_expr(connect_code::Column::RecipientId, Expr::value(e.payload.recipient_id.clone()))
                .col_expr(connect_code::Column::RedeemedAt, Expr::value(e.occurred_at))
                .filter(connect_code::Column::CodeId.eq(&e.payload.code_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::RecipientBound(e) => {
            let p = &e.payload;
            let chat = serde_json::to_value(&p.chat).map_err(|err| DbErr::Custom(err.to_string()))?;
            recipient::Entity::insert(recipient::ActiveModel {
                recipient_id: Set(p.recipient_id.clone()),
                integration_id: Set(p.integration_id.clone()),
                project_id: Set(p.project_id.clone()),
                public_user_ref: Set(p.public_user_ref.clone()),
                chat_sealed: Set(chat),
                chat_hash: Set(p.chat_hash.clone()),
                chat_kind: Set(label(&p.chat_kind)),
                status: Set(RecipientStatus::Active.to_string()),
                disabled_reason: Set(None),
                bound_at: Set(e.occurred_at),
                updated_at: Set(e.occurred_at),
            })
            .on_conflict(
                OnConflict::column(recipient::Column::RecipientId)
                    .update_columns([
                        recipient::Column::ChatSealed,
                        recipient::Column::ChatHash,
                        recipient::Column::ChatKind,
                        recipient::Column::Status,
                        recipient::Column::DisabledReason,
                        recipient::Column::BoundAt,
                        recipient::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(txn)
            .await?;
        }
        AnyEvent::RecipientDisabled(e) => {
            recipient::Entity::update_many()
                .col_expr(recipient::Column::Status, Expr::value(RecipientStatus::Disabled.as_str()))
                .col_expr(recipient::Column::DisabledReason, Expr::value(e.payload.reason.as_str()))
                .col_expr(recipient::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(recipient::Column::RecipientId.eq(&e.payload.recipient_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::RecipientUnreachable(e) => {
            recipient::Entity::update_many()
                .col_expr(recipient::Column::Status, Expr::value(RecipientStatus::Unreachable.as_str()))
                .col_expr(recipient::Column::DisabledReason, Expr::value(e.payload.reason.as_str()))
                .col_expr(recipient::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(recipient::Column::RecipientId.eq(&e.payload.recipient_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::RecipientUnlinked(e) => {
            recipient::Entity::update_many()
                .col_expr(recipient::Column::Status, Expr::value(RecipientStatus::Unlinked.as_str()))
                .col_expr(recipient::Column::DisabledReason, Expr::value(Option::<String>::None))
                .col_expr(recipient::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(recipient::Column::RecipientId.eq(&e.payload.recipient_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::RecipientChatMigrated(e) => {
            let chat = serde_json::to_value(&e.payload.chat).map_err(|err| DbErr::Custom(err.to_string()))?;
            recipient::Entity::update_many()
                .col_expr(recipient::Column::ChatSealed, Expr::value(chat))
                .col_expr(recipient::Column::ChatHash, Expr::value(e.payload.chat_hash.clone()))
                .col_expr(recipient::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(recipient::Column::RecipientId.eq(&e.payload.recipient_id))
                .exec(txn)
                .await?;
        }
        // The claim itself is shown through the send's clearance.
        AnyEvent::TxClaimed(_) => {}
        // Sends are written by `SendChanges`, a batch at a time.
        AnyEvent::SendAccepted(_)
        | AnyEvent::SendScheduled(_)
        | AnyEvent::SendCancelled(_)
        | AnyEvent::SendQueued(_)
        | AnyEvent::MessageSent(_)
        | AnyEvent::SendFailed(_)
        | AnyEvent::SendDeadLettered(_) => {}
        AnyEvent::CardOpened(e) => {
            let p = &e.payload;
            alert_card::Entity::insert(alert_card::ActiveModel {
                alert_id: Set(p.alert_id.clone()),
                incident_id: Set(p.incident_id.clone()),
                project_id: Set(p.project_id.clone()),
                integration_id: Set(p.integration_id.clone()),
                external_id: Set(p.external_id.clone()),
                generation: Set(p.generation as i32),
                severity: Set(p.severity.to_string()),
                status: Set(p.status.to_string()),
                revision: Set(1),
                payment: Set(p.payment.as_ref().map(|_| "pending".to_string())),
                opened_at: Set(e.occurred_at),
                updated_at: Set(e.occurred_at),
            })
            .on_conflict(OnConflict::column(alert_card::Column::AlertId).do_nothing().to_owned())
            .do_nothing()
            .exec(txn)
            .await?;
        }
        AnyEvent::CardUpdated(e) => {
            let p = &e.payload;
            alert_card::Entity::update_many()
                .col_expr(alert_card::Column::Severity, Expr::value(p.severity.as_str()))
                .col_expr(alert_card::Column::Status, Expr::value(p.status.as_str()))
                .col_expr(alert_card::Column::Revision, Expr::value(p.revision as i32))
                .col_expr(alert_card::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(alert_card::Column::AlertId.eq(&p.alert_id))
                .filter(alert_card::Column::Revision.lt(p.revision as i32))
                .exec(txn)
                .await?;
        }
        // The command manifest is read from the integration's events, and
        // commands from their own (ingress keeps the pending ones in memory).
        AnyEvent::CommandsSet(_) | AnyEvent::CommandsPushed(_) | AnyEvent::CommandsPushFailed(_) => {}
        AnyEvent::CommandRequested(_)
        | AnyEvent::CommandAcked(_)
        | AnyEvent::CommandReplied(_)
        | AnyEvent::CommandExpired(_)
        | AnyEvent::CommandPressed(_)
        | AnyEvent::CommandPressesAcked(_) => {}
        // Inbound messages are the project's to keep: answered by id from the
        // log; their dead letters are listed from `DEAD_LETTERS`.
        AnyEvent::InboundReceived(_)
        | AnyEvent::InboundDelivered(_)
        | AnyEvent::InboundDeliveryFailed(_)
        | AnyEvent::InboundDeadLettered(_)
        | AnyEvent::InboundRedeliveryRequested(_) => {}
        // The secrets are never shown again.
        AnyEvent::IntegrationInboundSecretRotated(_) => {}
        // Uploads are read from the log and the object store, not listed.
        AnyEvent::UploadStored(_)
        | AnyEvent::UploadClaimed(_)
        | AnyEvent::UploadFileIdLearned(_)
        | AnyEvent::UploadRemoved(_) => {}
        // API keys are read from the log by every ingress, not from Postgres.
        AnyEvent::ApiKeyCreated(_) | AnyEvent::ApiKeyRevoked(_) => {}
        AnyEvent::BroadcastCreated(e) => {
            let p = &e.payload;
            let row = broadcast::ActiveModel {
                broadcast_id: Set(p.broadcast_id.clone()),
                project_id: Set(p.project_id.clone()),
                integration_id: Set(p.integration_id.clone()),
                template: Set(p.template.clone()),
                total: Set(i32::try_from(p.recipients.len()).unwrap_or(i32::MAX)),
                status: Set(BroadcastStatus::Pending.to_string()),
                queued: Set(None),
                skipped: Set(None),
                failure_reason: Set(None),
                failure_detail: Set(None),
                send_at: Set(p.send_at),
                created_at: Set(e.occurred_at),
                updated_at: Set(e.occurred_at),
            };
            broadcast::Entity::insert(row)
                .on_conflict(OnConflict::column(broadcast::Column::BroadcastId).do_nothing().to_owned())
                .do_nothing()
                .exec(txn)
                .await?;
        }
        AnyEvent::BroadcastCleared(e) => {
            let from = [BroadcastStatus::Pending];
            broadcast_status(txn, &e.payload.broadcast_id, &from, BroadcastStatus::Cleared, e.occurred_at).await?
        }
        AnyEvent::BroadcastRefused(e) => {
            broadcast::Entity::update_many()
                .col_expr(broadcast::Column::Status, Expr::value(BroadcastStatus::Refused.as_str()))
                .col_expr(broadcast::Column::FailureReason, Expr::value(e.payload.reason.as_str()))
                .col_expr(broadcast::Column::FailureDetail, Expr::value(e.payload.detail.clone()))
                .col_expr(broadcast::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(broadcast::Column::BroadcastId.eq(&e.payload.broadcast_id))
                .exec(txn)
                .await?;
        }
        AnyEvent::BroadcastQueued(e) => {
            let p = &e.payload;
            let skipped = serde_json::to_value(&p.skipped).map_err(|e| DbErr::Custom(e.to_string()))?;
            broadcast::Entity::update_many()
                .col_expr(broadcast::Column::Queued, Expr::value(i32::try_from(p.queued).unwrap_or(i32::MAX)))
                .col_expr(broadcast::Column::Skipped, Expr::value(skipped))
                .col_expr(broadcast::Column::UpdatedAt, Expr::value(e.occurred_at))
                .filter(broadcast::Column::BroadcastId.eq(&p.broadcast_id))
                .exec(txn)
                .await?;
            // A cancel that came first stands.
            broadcast::Entity::update_many()
                .col_expr(broadcast::Column::Status, Expr::value(BroadcastStatus::Queued.as_str()))
                .filter(broadcast::Column::BroadcastId.eq(&p.broadcast_id))
                .filter(broadcast::Column::Status.ne(BroadcastStatus::Cancelled.as_str()))
                .exec(txn)
                .await?;
        }
        AnyEvent::BroadcastCancelled(e) => {
            let from = [BroadcastStatus::Pending, BroadcastStatus::Cleared, BroadcastStatus::Queued];
            broadcast_status(txn, &e.payload.broadcast_id, &from, BroadcastStatus::Cancelled, e.occurred_at).await?
        }
        // The first outcome of a payment stands, as in the incident.
        AnyEvent::CardCleared(e) => card_payment(txn, &e.payload.alert_id, "paid").await?,
        AnyEvent::CardRefused(e) => card_payment(txn, &e.payload.alert_id, "refused").await?,
        // What each chat shows and the presses are read from the log.
        AnyEvent::CardShown(_) | AnyEvent::CardFailed(_) | AnyEvent::ActionPressed(_) | AnyEvent::ActionsAcked(_) => {}
    }
    Ok(())
}

/// Moves a broadcast to `status` when it is in one of `from`.
async fn broadcast_status<C: ConnectionTrait>(
    txn: &C,
    broadcast_id: &str,
    from: &[BroadcastStatus],
    status: BroadcastStatus,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), DbErr> {
    broadcast::Entity::update_many()
        .col_expr(broadcast::Column::Status, Expr::value(status.as_str()))
        .col_expr(broadcast::Column::UpdatedAt, Expr::value(at))
        .filter(broadcast::Column::BroadcastId.eq(broadcast_id))
        .filter(broadcast::Column::Status.is_in(from.iter().map(|s| s.as_str())))
        .exec(txn)
        .await?;
    Ok(())
}

async fn card_payment<C: ConnectionTrait>(txn: &C, alert_id: &str, outcome: &str) -> Result<(), DbErr> {
    alert_card::Entity::update_many()
        .col_expr(alert_card::Column::Payment, Expr::value(outcome))
        .filter(alert_card::Column::AlertId.eq(alert_id))
        .filter(alert_card::Column::Payment.eq("pending"))
        .exec(txn)
        .await?;
    Ok(())
}
