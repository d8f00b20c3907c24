//! The Bot API objects and parameters this service uses.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub is_bot: bool,
    pub first_name: String,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub date: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SendMessage {
    pub chat_id: i64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_mode: Option<String>,
    /// Beyond the free 30 messages/s, up to 1000/s for a fee in Telegram Stars.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_paid_broadcast: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SetWebhook {
    pub url: String,
    pub secret_token: String,
    pub max_connections: u32,
    pub allowed_updates: Vec<String>,
    pub drop_pending_updates: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookInfo {
    pub url: String,
    #[serde(default)]
    pub pending_update_count: u64,
    #[serde(default)]
    pub last_error_message: Option<String>,
    #[serde(default)]
    pub max_connections: Option<u32>,
}
