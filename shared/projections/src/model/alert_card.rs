//! Live alert cards and their states, for `GET /alerts`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_cards")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub alert_id: String,
    pub incident_id: String,
    pub project_id: String,
    pub integration_id: String,
    pub external_id: String,
    pub generation: i32,
    pub severity: String,
    pub status: String,
    pub revision: i32,
    /// Paid cards (mode `dsr`): `pending`, `paid` or `refused`; free cards: none.
    pub payment: Option<String>,
    pub opened_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
