//! Connect codes by keyed hash (the code itself is never stored).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connect_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub public_user_ref: String,
    /// `issued` or `redeemed`.
    pub status: String,
    pub recipient_id: Option<String>,
    pub expires_at: DateTimeUtc,
    pub issued_at: DateTimeUtc,
    pub redeemed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
