//! Every status a send went through, in log order.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "send_history")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub send_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub sequence: i64,
    pub status: String,
    pub at: DateTimeUtc,
    pub detail: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
