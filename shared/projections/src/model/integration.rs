//! Integrations: a project's bot, payment mode and webhook state.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub project_id: String,
    pub owner_wallet_id: String,
    pub bot_mode: String,
    pub bot_key: String,
    pub bot_id: i64,
    pub bot_username: String,
    pub payment_mode: String,
    pub default_reminder_minutes: i32,
    pub inbound_webhook_url: Option<String>,
    /// `pending`, `set` or `failed`.
    pub webhook_status: String,
    pub webhook_error: Option<String>,
    /// `ok`, or `unauthorized` once Telegram refused the token.
    pub bot_status: String,
    pub bot_error: Option<String>,
    /// `ru` or `en`.
    pub default_locale: String,
    /// Calls beyond the free limit may carry Telegram's `allow_paid_broadcast`.
    pub allow_paid_broadcast: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
