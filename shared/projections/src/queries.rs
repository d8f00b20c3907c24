//! Read queries the services share (lookups and the projector's position).

use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::model::{checkpoint, integration, recipient, send, send_history};
use crate::projector::CHECKPOINT;

/// The last event sequence applied to the projections.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<u64, DbErr> {
    Ok(checkpoint::Entity::find_by_id(CHECKPOINT).one(db).await?.map(|c| c.last_sequence as u64).unwrap_or(0))
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

pub async fn recipient_by_ref(
    db: &DatabaseConnection,
    integration_id: &str,
    public_user_ref: &str,
) -> Result<Option<recipient::Model>, DbErr> {
    recipient::Entity::find()
        .filter(recipient::Column::IntegrationId.eq(integration_id))
        .filter(recipient::Column::PublicUserRef.eq(public_user_ref))
        .one(db)
        .await
}

/// Active recipients whose chat has this keyed hash (one per integration of the bot).
pub async fn recipients_by_chat(db: &DatabaseConnection, chat_hash: &str) -> Result<Vec<recipient::Model>, DbErr> {
    recipient::Entity::find()
        .filter(recipient::Column::ChatHash.eq(chat_hash))
        .filter(recipient::Column::Status.eq("active"))
        .all(db)
        .await
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
