//! The integration aggregate: a project's use of the common bot or its own bot.

use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Event;

/// The bot key of the shared common bot (webhook path, update subjects).
pub const COMMON_BOT_KEY: &str = "common";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BotMode {
    Common,
    Custom,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMode {
    /// Free sends: no payment step.
    #[default]
    None,
    /// Paid per message with a confirmed Relay transaction.
    Dsr,
}

/// What Telegram's getMe said about a bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BotIdentity {
    pub bot_id: i64,
    pub username: String,
}

/// A project registered an integration; its bot token was verified with getMe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationCreated {
    pub integration_id: String,
    pub project_id: String,
    pub owner_wallet_id: String,
    pub bot_mode: BotMode,
    pub bot: BotIdentity,
    /// The custom bot's token, sealed for purpose `bot_token`; absent for the common bot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<Sealed>,
    pub payment_mode: PaymentMode,
    pub default_reminder_minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_webhook_url: Option<String>,
    /// The secret inbound messages are signed with (`whsec_…`), sealed for
    /// purpose `inbound_secret`; made with the first `inbound_webhook_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_secret: Option<Sealed>,
    /// `ru` or `en`: the language of messages whose send names none (absent: `ru`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// The custom bot may go beyond the free 30 messages/s with Telegram's
    /// paid broadcast (`allow_paid_broadcast`, charged in Stars to the bot).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_paid_broadcast: bool,
}

impl IntegrationCreated {
    /// The key the bot's webhook and updates are addressed by.
    pub fn bot_key(&self) -> &str {
        match self.bot_mode {
            BotMode::Common => COMMON_BOT_KEY,
            BotMode::Custom => &self.integration_id,
        }
    }
}

impl Event for IntegrationCreated {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "created";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// The dispatcher pointed the integration's bot webhook at this service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationWebhookSet {
    pub integration_id: String,
    pub bot_key: String,
    pub url: String,
    pub max_connections: u32,
}

impl Event for IntegrationWebhookSet {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "webhook_set";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// Setting the webhook failed; `reason` is Telegram's description (no secrets).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationWebhookFailed {
    pub integration_id: String,
    pub bot_key: String,
    pub reason: String,
}

impl Event for IntegrationWebhookFailed {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "webhook_failed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// Telegram answered 401 for the integration's bot: the token is no longer
/// valid. Its sends wait until the token is fixed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationBotUnauthorized {
    pub integration_id: String,
    pub bot_key: String,
    pub detail: String,
}

impl Event for IntegrationBotUnauthorized {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "bot_unauthorized";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// The project changed its integration; absent fields keep their value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationUpdated {
    pub integration_id: String,
    /// A new token of the same bot (getMe answered with the bot's id), sealed
    /// for purpose `bot_token`. A bot marked unauthorized works again with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<Sealed>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_paid_broadcast: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_reminder_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_locale: Option<String>,
    /// Inbound messages go to this URL from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_webhook_url: Option<String>,
    /// Inbound messages are no longer POSTed anywhere (only on the feed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inbound_webhook_removed: bool,
    /// The integration's first inbound secret, made with its first URL (as in
    /// `integration.created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound_secret: Option<Sealed>,
}

impl Event for IntegrationUpdated {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "updated";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// The project deleted its integration (`DELETE /integrations/{id}`): its
/// pending sends are cancelled, a custom bot's webhook is removed and its
/// token's keys are shredded; nothing is sent through it any more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationDeleted {
    pub integration_id: String,
    pub bot_key: String,
}

impl Event for IntegrationDeleted {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "deleted";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// The project rotated the secret its inbound messages are signed with; until
/// `previous_valid_until` they carry a signature with the previous one too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntegrationInboundSecretRotated {
    pub integration_id: String,
    /// The new secret, sealed for purpose `inbound_secret`.
    pub secret: Sealed,
    pub previous_valid_until: chrono::DateTime<chrono::Utc>,
}

impl Event for IntegrationInboundSecretRotated {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "inbound_secret_rotated";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}
