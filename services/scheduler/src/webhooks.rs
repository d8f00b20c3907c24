//! Keeps bots' webhooks pointed here. Every `WEBHOOK_CHECK_SECONDS` one
//! scheduler instance (under a lease) asks the dispatcher how Telegram sees
//! each bot's webhook (`bot.test`) and re-syncs one that drifted
//! (`bot.sync`, which records a custom bot's as `integration.webhook_set`):
//! pointed at another URL, or updates piling up behind an error.

use std::collections::HashMap;
use std::time::Duration;

use novij_events::integration::COMMON_BOT_KEY;
use novij_events::rpc::{BotSyncRequest, BotTestReply, BotTestRequest, WebhookState};
use novij_events::subjects;
use novij_runtime::{ask_dispatcher, Runtime};
use tokio::sync::watch;

/// How long the dispatcher (and Telegram behind it) has to answer.
const ASK_WITHIN: Duration = Duration::from_secs(15);

/// Why a webhook is set again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drift {
    /// Telegram calls another URL (or none).
    Url,
    /// Updates pile up since the last check while Telegram reports an error.
    Stuck,
}

/// Whether `webhook` drifted from `expected`, given the pending count seen at the last check.
fn drift(expected: &str, webhook: &WebhookState, pending_before: Option<u64>) -> Option<Drift> {
    if webhook.url != expected {
        return Some(Drift::Url);
    }
    let growing = pending_before.is_some_and(|before| webhook.pending_update_count > before);
    (growing && webhook.last_error_message.is_some()).then_some(Drift::Stuck)
}

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    let every = rt.config.webhook_check_seconds;
    if every == 0 {
        return;
    }
    let js = rt.jetstream.clone();
    let replicas = rt.config.nats_stream_replicas;
    novij_bus::alone::run_alone(js, "webhook-check", replicas, shutdown, move |stop| {
        check_every(rt.clone(), Duration::from_secs(every.into()), stop)
    })
    .await
}

async fn check_every(rt: Runtime, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut pending: HashMap<String, u64> = HashMap::new();
    let mut ticks = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match bots(&rt).await {
            Ok(bots) => {
                pending.retain(|bot_key, _| bots.contains(bot_key));
                for bot_key in bots {
                    check(&rt, &bot_key, &mut pending).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot list the bots to check their webhooks"),
        }
    }
}

/// The bots with a webhook: the common bot, if configured, and every live
/// integration's own bot (from the projections); polled bots have none.
async fn bots(rt: &Runtime) -> Result<Vec<String>, sea_orm::DbErr> {
    let custom = novij_projections::queries::custom_bot_keys(&rt.db).await?;
    let common = rt.config.common_bot_token.is_some().then(|| COMMON_BOT_KEY.to_string());
    let updates = &rt.config.telegram_updates;
    Ok(common.into_iter().chain(custom).filter(|bot_key| !updates.polls(bot_key)).collect())
}

async fn check(rt: &Runtime, bot_key: &str, pending: &mut HashMap<String, u64>) {
    let request = BotTestRequest { bot_key: bot_key.to_string() };
    let webhook = match ask_dispatcher(rt, subjects::RPC_BOT_TEST, &request, ASK_WITHIN).await {
        Ok(BotTestReply::Tested { webhook, .. }) => webhook,
        // A refused token, a deleted bot, Telegram away: nothing to set now.
        Ok(_) => return,
        Err(e) => {
            tracing::warn!(bot_key, error = %e, "cannot check the webhook");
            return;
        }
    };
    let expected = novij_runtime::webhook_url(&rt.config, bot_key);
    let Some(drift) = drift(&expected, &webhook, pending.insert(bot_key.to_string(), webhook.pending_update_count))
    else {
        return;
    };
    let request = BotSyncRequest { bot_key: bot_key.to_string(), drop_pending_updates: false };
    match ask_dispatcher::<BotTestReply>(rt, subjects::RPC_BOT_SYNC, &request, ASK_WITHIN).await {
        Ok(BotTestReply::Tested { .. }) => {
            pending.remove(bot_key);
            tracing::info!(bot_key, ?drift, "the webhook drifted; set again");
        }
        Ok(other) => tracing::warn!(bot_key, ?drift, reply = ?other, "the webhook drifted and could not be set again"),
        Err(e) => tracing::warn!(bot_key, ?drift, error = %e, "the webhook drifted and could not be set again"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(url: &str, pending: u64, error: Option<&str>) -> WebhookState {
        WebhookState {
            url: url.into(),
            pending_update_count: pending,
            last_error_message: error.map(String::from),
            max_connections: Some(100),
        }
    }

    #[test]
    fn a_webhook_drifts_when_it_points_elsewhere_or_updates_pile_up_behind_an_error() {
        let ours = "https://tg.example.com/api/v1/telegram/webhook/common";
        assert_eq!(drift(ours, &webhook(ours, 0, None), None), None);
        assert_eq!(drift(ours, &webhook("https://elsewhere/hook", 0, None), None), Some(Drift::Url));
        assert_eq!(drift(ours, &webhook("", 0, None), None), Some(Drift::Url), "no webhook at all");
        assert_eq!(drift(ours, &webhook(ours, 40, Some("Connection refused")), Some(12)), Some(Drift::Stuck));
        assert_eq!(drift(ours, &webhook(ours, 40, Some("Connection refused")), None), None, "first look");
        assert_eq!(drift(ours, &webhook(ours, 40, None), Some(12)), None, "a burst Telegram delivers");
        assert_eq!(drift(ours, &webhook(ours, 12, Some("old error")), Some(40)), None, "draining");
    }
}
