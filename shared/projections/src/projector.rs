//! The projector: applies events to the projection tables in log order.
//!
//! One durable consumer (`projector`, one message in flight) feeds every
//! instance; each event is applied in a transaction that first locks the
//! checkpoint row, skips the event if it is at or below the checkpoint, and
//! moves the checkpoint with the rows. Several instances, redeliveries and a
//! concurrent rebuild therefore never apply an event twice.

use std::time::Duration;

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use novij_bus::{consume::stream_sequence, run_consumer, undecodable, Handled};
use novij_events::send::Clearance;
use novij_events::status::{BotStatus, ConnectCodeStatus, RecipientStatus, SendStatus, WebhookStatus};
use novij_events::{subjects, AnyEvent, Envelope};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    TransactionTrait,
};
use serde_json::json;
use tokio::sync::watch;

use crate::model::{checkpoint, connect_code, integration, recipient, send, send_history};

pub(crate) const CHECKPOINT: &str = "events";
const DURABLE: &str = "projector";

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("projection database: {0}")]
    Db(#[from] DbErr),
}

/// Whether an event changed the projections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Applied,
    AlreadyApplied,
}

#[derive(Clone)]
pub struct Projector {
    db: DatabaseConnection,
}

impl Projector {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }

    /// Applies the event at `sequence` unless the checkpoint is already past it.
    pub async fn apply(&self, sequence: u64, event: Option<&AnyEvent>) -> Result<Applied, ApplyError> {
        let txn = self.db.begin().await?;
        let last = lock_checkpoint(&txn).await?;
        if sequence <= last {
            txn.rollback().await?;
            return Ok(Applied::AlreadyApplied);
        }
        if let Some(event) = event {
            apply_event(&txn, sequence, event).await?;
        }
        set_checkpoint(&txn, sequence).await?;
        txn.commit().await?;
        Ok(Applied::Applied)
    }

    /// Runs the projector consumer until shutdown.
    pub async fn run(self, js: jetstream::Context, shutdown: watch::Receiver<bool>) {
        run_consumer(js, subjects::EVENTS_STREAM, DURABLE, 1, shutdown, |msg| {
            let projector = self.clone();
            async move {
                let sequence = stream_sequence(&msg);
                let event = match AnyEvent::from_slice(&msg.payload) {
                    Ok(e) => Some(e),
                    // A newer release's event stops the projector: stepping
                    // over it would leave these projections silently behind.
                    Err(e) if e.written_by_newer_release() => return (msg, undecodable(&e)),
                    Err(e) => {
                        tracing::error!(sequence, error = %e, "stepping over a malformed event");
                        None
                    }
                };
                let outcome = match projector.apply(sequence, event.as_ref()).await {
                    Ok(_) => Handled::Done,
                    Err(e) => {
                        tracing::warn!(sequence, error = %e, "projection failed; will retry");
                        Handled::Retry(Duration::from_secs(1))
                    }
                };
                (msg, outcome)
            }
        })
        .await
    }
}

pub(crate) async fn lock_checkpoint<C: ConnectionTrait>(txn: &C) -> Result<u64, DbErr> {
    let row = txn
        .query_one(sea_orm::Statement::from_string(
            txn.get_database_backend(),
            format!("SELECT last_sequence FROM projection_checkpoint WHERE name = '{CHECKPOINT}' FOR UPDATE"),
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("projection checkpoint (run `novij-telegram migrate`)".into()))?;
    let last: i64 = row.try_get("", "last_sequence")?;
    Ok(last as u64)
}

pub(crate) async fn set_checkpoint<C: ConnectionTrait>(txn: &C, sequence: u64) -> Result<(), DbErr> {
    checkpoint::Entity::update_many()
        .col_expr(checkpoint::Column::LastSequence, Expr::value(sequence as i64))
        .filter(checkpoint::Column::Name.eq(CHECKPOINT))
        .exec(txn)
        .await?;
    Ok(())
}

fn label<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

async fn history<C: ConnectionTrait, P>(
    txn: &C,
    env: &Envelope<P>,
    send_id: &str,
    sequence: u64,
    status: SendStatus,
    detail: Option<serde_json::Value>,
) -> Result<(), DbErr> {
    send_history::Entity::insert(send_history::ActiveModel {
        send_id: Set(send_id.to_string()),
        sequence: Set(sequence as i64),
        status: Set(status.to_string()),
        at: Set(env.occurred_at),
        detail: Set(detail),
    })
    .on_conflict(
        OnConflict::columns([send_history::Column::SendId, send_history::Column::Sequence]).do_nothing().to_owned(),
    )
    .do_nothing()
    .exec(txn)
    .await?;
    Ok(())
}

async fn send_status<C: ConnectionTrait>(
    txn: &C,
    send_id: &str,
    at: DateTime<Utc>,
    status: SendStatus,
    extra: Vec<(send::Column, sea_orm::sea_query::SimpleExpr)>,
) -> Result<(), DbErr> {
    let mut update = send::Entity::update_many()
        .col_expr(send::Column::Status, Expr::value(status.as_str()))
        .col_expr(send::Column::UpdatedAt, Expr::value(at));
    for (col, expr) in extra {
        update = update.col_expr(col, expr);
    }
    update.filter(send::Column::SendId.eq(send_id)).exec(txn).await?;
    Ok(())
}

fn paid_by(clearance: &Clearance) -> Vec<(send::Column, sea_orm::sea_query::SimpleExpr)> {
    match clearance {
        Clearance::Paid { tx_hash, .. } => vec![(send::Column::PaymentTx, Expr::value(tx_hash.clone()))],
        _ => vec![],
    }
}

/// Changes the projection rows for one event. Inserts are conflict-tolerant so
/// a replay over existing rows is harmless.
pub(crate) async fn apply_event<C: ConnectionTrait>(txn: &C, sequence: u64, event: &AnyEvent) -> Result<(), DbErr> {
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
        AnyEvent::SendAccepted(e) => {
            let p = &e.payload;
            send::Entity::insert(send::ActiveModel {
                send_id: Set(p.send_id.clone()),
                project_id: Set(p.project_id.clone()),
                integration_id: Set(p.integration_id.clone()),
                recipient_id: Set(p.recipient_id.clone()),
                template: Set(p.template.clone()),
                payment_mode: Set(label(&p.payment_mode)),
                origin: Set(label(&p.origin)),
                status: Set(SendStatus::Accepted.to_string()),
                telegram_message_id: Set(None),
                failure_reason: Set(None),
                failure_detail: Set(None),
                attempts: Set(0),
                accepted_at: Set(e.occurred_at),
                updated_at: Set(e.occurred_at),
                send_at: Set(p.send_at),
                payment_tx: Set(None),
            })
            .on_conflict(OnConflict::column(send::Column::SendId).do_nothing().to_owned())
            .do_nothing()
            .exec(txn)
            .await?;
            history(txn, e, &p.send_id, sequence, SendStatus::Accepted, None).await?;
        }
        AnyEvent::SendScheduled(e) => {
            let p = &e.payload;
            send_status(txn, &p.send_id, e.occurred_at, SendStatus::Scheduled, paid_by(&p.clearance)).await?;
            let detail = json!({ "send_at": p.send_at, "clearance": p.clearance });
            history(txn, e, &p.send_id, sequence, SendStatus::Scheduled, Some(detail)).await?;
        }
        AnyEvent::SendCancelled(e) => {
            let p = &e.payload;
            send_status(txn, &p.send_id, e.occurred_at, SendStatus::Cancelled, vec![]).await?;
            let detail = p.reason.map(|reason| json!({ "reason": reason }));
            history(txn, e, &p.send_id, sequence, SendStatus::Cancelled, detail).await?;
        }
        // The claim itself is shown through the send's clearance.
        AnyEvent::TxClaimed(_) => {}
        AnyEvent::SendQueued(e) => {
            let p = &e.payload;
            send_status(txn, &p.send_id, e.occurred_at, SendStatus::Queued, paid_by(&p.clearance)).await?;
            history(txn, e, &p.send_id, sequence, SendStatus::Queued, Some(json!({ "clearance": p.clearance })))
                .await?;
        }
        AnyEvent::MessageSent(e) => {
            let p = &e.payload;
            send_status(
                txn,
                &p.send_id,
                e.occurred_at,
                SendStatus::Sent,
                vec![
                    (send::Column::TelegramMessageId, Expr::value(p.telegram_message_id)),
                    (send::Column::Attempts, Expr::value(p.attempts as i32)),
                ],
            )
            .await?;
            history(
                txn,
                e,
                &p.send_id,
                sequence,
                SendStatus::Sent,
                Some(json!({ "telegram_message_id": p.telegram_message_id })),
            )
            .await?;
        }
        AnyEvent::SendFailed(e) => {
            let p = &e.payload;
            send_status(
                txn,
                &p.send_id,
                e.occurred_at,
                SendStatus::Failed,
                vec![
                    (send::Column::FailureReason, Expr::value(p.reason.as_str())),
                    (send::Column::FailureDetail, Expr::value(p.detail.clone())),
                    (send::Column::Attempts, Expr::value(p.attempts as i32)),
                ],
            )
            .await?;
            history(
                txn,
                e,
                &p.send_id,
                sequence,
                SendStatus::Failed,
                Some(json!({ "reason": p.reason, "detail": p.detail })),
            )
            .await?;
        }
        AnyEvent::SendDeadLettered(e) => {
            let p = &e.payload;
            send_status(
                txn,
                &p.send_id,
                e.occurred_at,
                SendStatus::DeadLettered,
                vec![
                    (send::Column::FailureReason, Expr::value(p.reason.as_str())),
                    (send::Column::FailureDetail, Expr::value(p.detail.clone())),
                    (send::Column::Attempts, Expr::value(p.attempts as i32)),
                ],
            )
            .await?;
            let detail = json!({ "reason": p.reason, "detail": p.detail, "attempts": p.attempts });
            history(txn, e, &p.send_id, sequence, SendStatus::DeadLettered, Some(detail)).await?;
        }
    }
    Ok(())
}
