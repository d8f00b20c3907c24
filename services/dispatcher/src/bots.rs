//! Bot tokens by bot key: the common bot from configuration, custom bots from
//! their `integration.created` event on the log (cached; tokens stay sealed
//! until the moment of a call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use novij_crypto::Sealed;
use novij_events::integration::{IntegrationCreated, COMMON_BOT_KEY};
use novij_runtime::{derive::purpose, Runtime};

#[derive(Debug, thiserror::Error)]
pub enum BotLookupError {
    #[error("no common bot is configured (TELEGRAM_COMMON_BOT_TOKEN)")]
    NoCommonBot,
    #[error("no integration {0} on the log")]
    UnknownIntegration(String),
    #[error("integration {0} has no custom bot token")]
    NoToken(String),
    #[error("event log: {0}")]
    Log(String),
    #[error("bot token cannot be unsealed: {0}")]
    Unseal(String),
}

#[derive(Clone)]
pub struct Bots {
    rt: Runtime,
    sealed: Arc<Mutex<HashMap<String, Sealed>>>,
}

impl Bots {
    pub fn new(rt: Runtime) -> Self {
        Self { rt, sealed: Arc::default() }
    }

    /// The token of the bot behind `bot_key`.
    pub async fn token(&self, bot_key: &str) -> Result<String, BotLookupError> {
        if bot_key == COMMON_BOT_KEY {
            return self.rt.config.common_bot_token.clone().ok_or(BotLookupError::NoCommonBot);
        }
        let cached = self.sealed.lock().ok().and_then(|m| m.get(bot_key).cloned());
        let sealed = match cached {
            Some(s) => s,
            None => {
                let (created, _) = self
                    .rt
                    .log
                    .last::<IntegrationCreated>(bot_key)
                    .await
                    .map_err(|e| BotLookupError::Log(e.to_string()))?
                    .ok_or_else(|| BotLookupError::UnknownIntegration(bot_key.to_string()))?;
                let sealed = created.payload.bot_token.ok_or_else(|| BotLookupError::NoToken(bot_key.to_string()))?;
                if let Ok(mut m) = self.sealed.lock() {
                    m.insert(bot_key.to_string(), sealed.clone());
                }
                sealed
            }
        };
        self.unseal(&sealed)
    }

    pub fn unseal(&self, sealed: &Sealed) -> Result<String, BotLookupError> {
        self.rt.keyring.open_string(purpose::BOT_TOKEN, sealed).map_err(|e| BotLookupError::Unseal(e.to_string()))
    }
}
