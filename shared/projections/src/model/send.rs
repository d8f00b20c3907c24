//! Sends and their current status.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sends")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub send_id: String,
    pub project_id: Option<String>,
    pub integration_id: Option<String>,
    pub recipient_id: Option<String>,
    pub template: String,
    pub payment_mode: String,
    pub origin: String,
    /// `accepted`, `scheduled`, `cancelled`, `queued`, `sent`, `failed` or `dead_lettered`.
    pub status: String,
    pub telegram_message_id: Option<i64>,
    pub failure_reason: Option<String>,
    pub failure_detail: Option<String>,
    pub attempts: i32,
    pub accepted_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Reminders only: when the send is due.
    pub send_at: Option<DateTimeUtc>,
    /// Paid sends: the ledger transaction claimed for it.
    pub payment_tx: Option<String>,
    /// A broadcast's send: the broadcast.
    pub broadcast_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
