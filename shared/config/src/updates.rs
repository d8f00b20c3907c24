//! `TELEGRAM_UPDATES`: how each bot's updates come in.

use std::collections::BTreeSet;

use crate::Reader;

/// Telegram pushes updates to the webhook, or the service polls for them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UpdatesMode {
    /// Every bot's webhook points at ingress (production).
    #[default]
    Webhook,
    /// Every bot is polled with getUpdates (development without public HTTPS).
    PollingAll,
    /// These bot keys are polled, the others use the webhook.
    Polling(BTreeSet<String>),
}

impl UpdatesMode {
    /// Whether `bot_key`'s updates are taken with getUpdates.
    pub fn polls(&self, bot_key: &str) -> bool {
        match self {
            UpdatesMode::Webhook => false,
            UpdatesMode::PollingAll => true,
            UpdatesMode::Polling(keys) => keys.contains(bot_key),
        }
    }

    pub fn polls_any(&self) -> bool {
        *self != UpdatesMode::Webhook
    }
}

pub(crate) fn read(r: &mut Reader<'_>) -> UpdatesMode {
    let raw = r.string("TELEGRAM_UPDATES");
    match raw.trim() {
        "webhook" => UpdatesMode::Webhook,
        "polling" => UpdatesMode::PollingAll,
        other => match other.strip_prefix("polling:") {
            Some(keys) => {
                let keys: BTreeSet<String> =
                    keys.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string).collect();
                if keys.is_empty() {
                    r.problem("TELEGRAM_UPDATES", "`polling:` names no bot key");
                }
                UpdatesMode::Polling(keys)
            }
            None => {
                r.problem(
                    "TELEGRAM_UPDATES",
                    format!("`{other}` is not `webhook`, `polling` or `polling:<bot_key>,…`"),
                );
                UpdatesMode::Webhook
            }
        },
    }
}
