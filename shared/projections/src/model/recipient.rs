//! Recipients: users bound to a chat.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recipients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub recipient_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub public_user_ref: String,
    /// The sealed chat id (purpose `chat_id`).
    pub chat_sealed: Json,
    pub chat_hash: String,
    pub chat_kind: String,
    /// `active`, `disabled` (the user sent /stop) or `unreachable` (Telegram refused).
    pub status: String,
    pub disabled_reason: Option<String>,
    pub bound_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
