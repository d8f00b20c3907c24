//! Bots by bot key: the common bot from configuration, custom bots from their
//! integration's events on the log (token, paid broadcast, whether Telegram
//! refused the token). A custom bot's profile is cached against the sequence
//! of its integration's last event, so a changed token or setting is seen by
//! every dispatcher at its next call. A token is opened once per change of its
//! integration (a key store read) and kept only in this process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use novij_aggregates::integration::Integration;
use novij_aggregates::Aggregate;
use novij_crypto::Sealed;
use novij_events::integration::COMMON_BOT_KEY;
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

/// What a call needs to know of its bot.
pub struct BotProfile {
    pub token: String,
    /// Calls beyond the free limit may be flagged `allow_paid_broadcast`.
    pub paid_broadcast: bool,
    /// Telegram answered 401 to the current token: no call until it is replaced.
    pub unauthorized: bool,
    /// Sequence of the integration's last event this profile reflects (0: the common bot).
    pub as_of: u64,
}

#[derive(Clone)]
struct Folded {
    as_of: u64,
    /// Opened once per change of the integration: no key store read per call.
    token: String,
    paid_broadcast: bool,
    unauthorized: bool,
}

#[derive(Clone)]
pub struct Bots {
    rt: Runtime,
    cache: Arc<Mutex<HashMap<String, Folded>>>,
}

impl Bots {
    pub fn new(rt: Runtime) -> Self {
        Self { rt, cache: Arc::default() }
    }

    /// The bot behind `bot_key`, as of its integration's last event.
    pub async fn profile(&self, bot_key: &str) -> Result<BotProfile, BotLookupError> {
        if bot_key == COMMON_BOT_KEY {
            let token = self.rt.config.common_bot_token.clone().ok_or(BotLookupError::NoCommonBot)?;
            return Ok(BotProfile { token, paid_broadcast: false, unauthorized: false, as_of: 0 });
        }
        let log_error = |e: novij_bus::ReadError| BotLookupError::Log(e.to_string());
        let last = self
            .rt
            .log
            .last_sequence(Integration::TYPE, bot_key)
            .await
            .map_err(log_error)?
            .ok_or_else(|| BotLookupError::UnknownIntegration(bot_key.to_string()))?;
        let cached = self.cache.lock().ok().and_then(|m| m.get(bot_key).cloned()).filter(|f| f.as_of == last);
        let folded = match cached {
            Some(f) => f,
            None => {
                let f = self.fold(bot_key).await?;
                if let Ok(mut m) = self.cache.lock() {
                    m.insert(bot_key.to_string(), f.clone());
                }
                f
            }
        };
        Ok(BotProfile {
            token: folded.token,
            paid_broadcast: folded.paid_broadcast,
            unauthorized: folded.unauthorized,
            as_of: folded.as_of,
        })
    }

    /// The integration's events folded into what calls need.
    async fn fold(&self, integration_id: &str) -> Result<Folded, BotLookupError> {
        let loaded =
            self.rt.log.load::<Integration>(integration_id).await.map_err(|e| BotLookupError::Log(e.to_string()))?;
        let integration = loaded.state;
        if integration.project_id.is_none() {
            return Err(BotLookupError::UnknownIntegration(integration_id.to_string()));
        }
        let sealed = integration.tokens.last().ok_or_else(|| BotLookupError::NoToken(integration_id.to_string()))?;
        Ok(Folded {
            as_of: loaded.version,
            token: self.unseal(sealed).await?,
            paid_broadcast: integration.allow_paid_broadcast,
            unauthorized: integration.unauthorized,
        })
    }

    /// Opens a sealed token: with its own data key, or (tokens sealed before
    /// those existed) with the key ring.
    pub async fn unseal(&self, sealed: &Sealed) -> Result<String, BotLookupError> {
        let bytes = self
            .rt
            .payloads
            .open(purpose::BOT_TOKEN, sealed)
            .await
            .map_err(|e| BotLookupError::Unseal(e.to_string()))?;
        String::from_utf8(bytes).map_err(|e| BotLookupError::Unseal(e.to_string()))
    }
}
