//! Broadcasts, for `GET /broadcasts/{id}` (their sends are in `sends`, by `broadcast_id`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "broadcasts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub broadcast_id: String,
    pub project_id: String,
    pub integration_id: String,
    pub template: String,
    pub total: i32,
    /// `pending` (payment or `send_at`), `queued`, `refused` or `cancelled`.
    pub status: String,
    /// Sends queued (recipients still connected when it went out).
    pub queued: Option<i32>,
    /// Recipients skipped when it went out, by reason (JSON object).
    pub skipped: Option<Json>,
    /// Why its payment was refused.
    pub failure_reason: Option<String>,
    /// What the ledger showed (e.g. the amount paid and the amount due).
    pub failure_detail: Option<String>,
    pub send_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
