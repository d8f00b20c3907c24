//! Read queries the services share (lookups and the projector's position).

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use crate::model::{alert_card, broadcast, checkpoint, integration, send, send_history};
use novij_events::status::SendStatus;

/// The last event sequence applied to the projections.
pub async fn checkpoint<C: sea_orm::ConnectionTrait>(db: &C) -> Result<u64, DbErr> {
    Ok(checkpoint::Entity::find_by_id(checkpoint::EVENTS).one(db).await?.map(|c| c.last_sequence as u64).unwrap_or(0))
}

/// Waits (bounded) until the projections include `sequence`, so a client that
/// reads right after a write sees it. Returns whether they caught up.
pub async fn wait_for(db: &DatabaseConnection, sequence: u64, timeout: std::time::Duration) -> Result<bool, DbErr> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if checkpoint(db).await? >= sequence {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

pub async fn integration(db: &DatabaseConnection, id: &str) -> Result<Option<integration::Model>, DbErr> {
    integration::Entity::find_by_id(id).one(db).await
}

/// The common bot's username, as getMe reported it when an integration used it.
pub async fn common_bot_usernames(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    use sea_orm::{QuerySelect, SelectColumns};
    integration::Entity::find()
        .select_only()
        .select_column(integration::Column::BotUsername)
        .filter(integration::Column::BotMode.eq("common"))
        .distinct()
        .into_tuple::<String>()
        .all(db)
        .await
}

/// The bot keys of every live integration with a bot of its own.
pub async fn custom_bot_keys(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    use sea_orm::{QuerySelect, SelectColumns};
    integration::Entity::find()
        .select_only()
        .select_column(integration::Column::BotKey)
        .filter(integration::Column::BotMode.eq("custom"))
        .distinct()
        .order_by_asc(integration::Column::BotKey)
        .into_tuple::<String>()
        .all(db)
        .await
}

/// The sends of an integration not delivered or ended yet.
pub async fn undelivered_sends(db: &DatabaseConnection, integration_id: &str) -> Result<Vec<String>, DbErr> {
    let waiting = [SendStatus::Accepted, SendStatus::Scheduled, SendStatus::Queued, SendStatus::DeadLettered];
    let rows = send::Entity::find()
        .filter(send::Column::IntegrationId.eq(integration_id))
        .filter(send::Column::Status.is_in(waiting.map(SendStatus::as_str)))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|s| s.send_id).collect())
}

/// How many reminders wait for their time.
pub async fn scheduled_reminders(db: &DatabaseConnection) -> Result<u64, DbErr> {
    send::Entity::find().filter(send::Column::Status.eq(SendStatus::Scheduled.as_str())).count(db).await
}

pub async fn send_with_history(
    db: &DatabaseConnection,
    send_id: &str,
) -> Result<Option<(send::Model, Vec<send_history::Model>)>, DbErr> {
    let Some(send) = send::Entity::find_by_id(send_id).one(db).await? else {
        return Ok(None);
    };
    let history = send_history::Entity::find()
        .filter(send_history::Column::SendId.eq(send_id))
        .order_by_asc(send_history::Column::Sequence)
        .all(db)
        .await?;
    Ok(Some((send, history)))
}

/// An integration's alert cards, newest first, at most `limit`; only those
/// with `status` when given.
/// An integration's alert cards, newest first, a page at a time: `after`
/// is the last card of the page before (its `alert_id`); `Ok(None)` when it
/// is not one of the integration's cards.
pub async fn alert_cards(
    db: &DatabaseConnection,
    project_id: &str,
    integration_id: &str,
    status: Option<&str>,
    after: Option<&str>,
    limit: u64,
) -> Result<Option<Vec<alert_card::Model>>, DbErr> {
    use sea_orm::{Condition, QuerySelect};
    let mut query = alert_card::Entity::find()
        .filter(alert_card::Column::ProjectId.eq(project_id))
        .filter(alert_card::Column::IntegrationId.eq(integration_id));
    if let Some(status) = status {
        query = query.filter(alert_card::Column::Status.eq(status));
    }
    if let Some(after) = after {
        let last = alert_card::Entity::find_by_id(after).one(db).await?;
        let Some(last) = last.filter(|c| c.project_id == project_id && c.integration_id == integration_id) else {
            return Ok(None);
        };
        // Keyset: before (opened_at, alert_id) of the last one shown.
        query = query.filter(
            Condition::any().add(alert_card::Column::OpenedAt.lt(last.opened_at)).add(
                Condition::all()
                    .add(alert_card::Column::OpenedAt.eq(last.opened_at))
                    .add(alert_card::Column::AlertId.lt(last.alert_id)),
            ),
        );
    }
    let query = query.order_by_desc(alert_card::Column::OpenedAt).order_by_desc(alert_card::Column::AlertId);
    query.limit(limit).all(db).await.map(Some)
}

pub async fn broadcast(db: &DatabaseConnection, broadcast_id: &str) -> Result<Option<broadcast::Model>, DbErr> {
    broadcast::Entity::find_by_id(broadcast_id).one(db).await
}

/// How many of a broadcast's sends are in each status, with each failure reason.
pub async fn broadcast_sends(
    db: &DatabaseConnection,
    broadcast_id: &str,
) -> Result<Vec<(String, Option<String>, i64)>, DbErr> {
    use sea_orm::{QuerySelect, SelectColumns};
    send::Entity::find()
        .select_only()
        .select_column(send::Column::Status)
        .select_column(send::Column::FailureReason)
        .column_as(send::Column::SendId.count(), "n")
        .filter(send::Column::BroadcastId.eq(broadcast_id))
        .group_by(send::Column::Status)
        .group_by(send::Column::FailureReason)
        .into_tuple::<(String, Option<String>, i64)>()
        .all(db)
        .await
}
