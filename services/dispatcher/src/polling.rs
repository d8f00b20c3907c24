//! Long polling (`TELEGRAM_UPDATES=polling`, or `polling:<bot_key>,…`): the
//! bots that take their updates with getUpdates instead of the webhook, for a
//! developer with a real bot and no public HTTPS URL.
//!
//! One poller per bot across all dispatchers: the holder of the lease
//! `poll.<bot_key>` (`novij_bus::alone`). It stores each update in
//! `TG_UPDATES` exactly as the webhook intake does (`novij_runtime::updates`),
//! and confirms it to Telegram (the next call's `offset`) only once JetStream
//! has it. A poller that dies leaves what it did not confirm with Telegram;
//! the next holder gets those again and they are dropped as duplicates of
//! their `update_id`. So nothing is lost or stored twice across a restart
//! or a hand-over.
//!
//! Telegram refuses getUpdates while a webhook is set, so a poller deletes
//! the bot's webhook first (keeping the updates it holds) and marks the bot
//! in the bucket `polled_bots`; a dispatcher that starts with a marked bot
//! in webhook mode sets its webhook again and clears the mark.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::{consumer::DeliverPolicy, kv};
use futures::StreamExt;
use novij_bus::follow::{Followed, Follower};
use novij_events::integration::{IntegrationCreated, IntegrationDeleted, COMMON_BOT_KEY};
use novij_events::{subjects, AnyEvent};
use novij_runtime::updates;
use novij_telegram_client::{BotApi, BotApiErrorKind};
use tokio::sync::watch;

use crate::bots::BotLookupError;
use crate::{ownership, webhook, Dispatcher};

/// How long one getUpdates waits for an update.
const POLL: Duration = Duration::from_secs(25);
/// The bots switched to polling, to switch back.
const MARKS: &str = "polled_bots";
/// A pause after a failure that is not Telegram asking for one.
const PAUSE: Duration = Duration::from_secs(1);

pub async fn run(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    let marks = loop {
        match ownership::bucket(&d.rt.jetstream, MARKS, None, d.rt.config.nats_stream_replicas).await {
            Ok(marks) => break marks,
            Err(e) => tracing::warn!(error = %e, "the bucket {MARKS} is unavailable; retrying"),
        }
        if pause(&mut shutdown.clone(), PAUSE).await {
            return;
        }
    };
    restore_webhooks(&d, &marks).await;
    let mode = d.rt.config.telegram_updates.clone();
    if !mode.polls_any() {
        return;
    }
    let api = match BotApi::new(&d.rt.config.telegram_api_base_url, POLL + Duration::from_secs(10)) {
        Ok(api) => api,
        Err(e) => return tracing::error!(error = %e, "cannot make a Bot API client for polling"),
    };
    let poller = Poller { d, api, marks };
    let mut running: HashMap<String, watch::Sender<bool>> = HashMap::new();
    if poller.d.rt.config.common_bot_token.is_some() && mode.polls(COMMON_BOT_KEY) {
        running.insert(COMMON_BOT_KEY.into(), poller.start(COMMON_BOT_KEY, shutdown.clone()));
    }
    // The custom bots, as the log creates and deletes them.
    let filter = vec![subjects::all_of::<IntegrationCreated>(), subjects::all_of::<IntegrationDeleted>()];
    let mut follower = Follower::new(poller.d.rt.jetstream.clone(), filter, DeliverPolicy::All, shutdown.clone());
    while let Some(followed) = follower.next().await {
        let Followed::Message(entry) = followed else { continue };
        match AnyEvent::from_slice(&entry.message.payload) {
            Ok(AnyEvent::IntegrationCreated(e)) if e.payload.bot_key() != COMMON_BOT_KEY => {
                let bot_key = e.payload.bot_key().to_string();
                if mode.polls(&bot_key) && !running.contains_key(&bot_key) {
                    let stop = poller.start(&bot_key, shutdown.clone());
                    running.insert(bot_key, stop);
                }
            }
            Ok(AnyEvent::IntegrationDeleted(e)) => {
                if let Some(stop) = running.remove(&e.payload.bot_key) {
                    let _ = stop.send(true);
                }
            }
            _ => {}
        }
    }
    for stop in running.into_values() {
        let _ = stop.send(true);
    }
}

/// Sets the webhook again of each marked bot that is no longer polled.
async fn restore_webhooks(d: &Dispatcher, marks: &kv::Store) {
    let Ok(mut keys) = marks.keys().await else { return };
    while let Some(Ok(bot_key)) = keys.next().await {
        if d.rt.config.telegram_updates.polls(&bot_key) {
            continue;
        }
        let restored = match d.bots.profile(&bot_key).await {
            Ok(bot) => webhook::set(d, &bot_key, &bot.token).await.map(|_| ()).map_err(|e| e.to_string()),
            // A bot that is gone needs no webhook.
            Err(BotLookupError::UnknownIntegration(_) | BotLookupError::NoCommonBot) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        match restored {
            Ok(()) => {
                tracing::info!(bot_key = %bot_key, "back to the webhook");
                let _ = marks.purge(&bot_key).await;
            }
            Err(e) => {
                tracing::warn!(bot_key = %bot_key, error = %e, "cannot set the webhook again; next start retries")
            }
        }
    }
}

#[derive(Clone)]
struct Poller {
    d: Dispatcher,
    /// With a timeout longer than a poll.
    api: BotApi,
    marks: kv::Store,
}

impl Poller {
    /// Polls `bot_key` whenever this process holds its lease, until the
    /// returned sender (or `shutdown`) says stop.
    fn start(&self, bot_key: &str, mut shutdown: watch::Receiver<bool>) -> watch::Sender<bool> {
        let (stop, stopped) = watch::channel(false);
        let forward = stop.clone();
        tokio::spawn(async move {
            let _ = shutdown.wait_for(|s| *s).await;
            let _ = forward.send(true);
        });
        let (poller, bot_key) = (self.clone(), bot_key.to_string());
        tokio::spawn(async move {
            let (js, replicas) = (poller.d.rt.jetstream.clone(), poller.d.rt.config.nats_stream_replicas);
            novij_bus::alone::run_alone(js, &format!("poll.{bot_key}"), replicas, stopped, move |lease| {
                let (poller, bot_key) = (poller.clone(), bot_key.clone());
                async move { poller.poll(&bot_key, lease).await }
            })
            .await
        });
        stop
    }

    /// Takes the bot's updates until `stop` turns true.
    async fn poll(&self, bot_key: &str, mut stop: watch::Receiver<bool>) {
        let Some(mut token) = self.token(bot_key, &mut stop).await else { return };
        if self.marks.put(bot_key, "polled".into()).await.is_err() {
            tracing::warn!(bot_key, "cannot mark the bot as polled");
        }
        self.drop_webhook(bot_key, &token).await;
        tracing::info!(bot_key, "polling for updates");
        let mut offset = None;
        loop {
            let answer = tokio::select! {
                _ = stop.wait_for(|s| *s) => return,
                answer = self.api.get_updates(&token, offset, POLL, webhook::ALLOWED_UPDATES) => answer,
            };
            let wait = match answer {
                Ok(list) => match self.store(bot_key, &list).await {
                    (next, None) => {
                        offset = next.or(offset);
                        continue;
                    }
                    (next, Some(e)) => {
                        offset = next.or(offset);
                        tracing::warn!(bot_key, error = %e, "cannot store an update; asking again");
                        PAUSE
                    }
                },
                Err(e) => match e.kind() {
                    BotApiErrorKind::Conflict if e.description().contains("webhook") => {
                        self.drop_webhook(bot_key, &token).await;
                        continue;
                    }
                    BotApiErrorKind::RetryAfter(seconds) => Duration::from_secs(seconds),
                    BotApiErrorKind::Unauthorized => {
                        tracing::warn!(bot_key, "Telegram refused the token; waiting for a new one");
                        token = match self.token(bot_key, &mut stop).await {
                            Some(token) => token,
                            None => return,
                        };
                        Duration::from_secs(10)
                    }
                    // Another poller for a moment (a lease changing hands), or Telegram away.
                    _ => {
                        tracing::warn!(bot_key, error = %e, "getUpdates failed; polling again");
                        PAUSE
                    }
                },
            };
            if pause(&mut stop, wait).await {
                return;
            }
        }
    }

    /// Stores the updates in order; the offset that confirms those stored,
    /// and the error that stopped it, if one did.
    async fn store(&self, bot_key: &str, list: &[serde_json::Value]) -> (Option<i64>, Option<String>) {
        let mut confirmed = None;
        for update in list {
            let raw = match serde_json::to_vec(update) {
                Ok(raw) => raw,
                Err(e) => return (confirmed, Some(e.to_string())),
            };
            match updates::enqueue(&self.d.rt, bot_key, &raw).await {
                Ok(stored) => confirmed = Some(stored.update_id + 1),
                // Not an update at all: confirmed past, as the webhook refuses it.
                Err(updates::EnqueueError::NotAnUpdate) => tracing::warn!(bot_key, "getUpdates gave a non-update"),
                Err(e) => return (confirmed, Some(e.to_string())),
            }
        }
        (confirmed, None)
    }

    /// The bot's token, waiting while it cannot be read; `None` when told to stop.
    async fn token(&self, bot_key: &str, stop: &mut watch::Receiver<bool>) -> Option<String> {
        loop {
            match self.d.bots.profile(bot_key).await {
                Ok(bot) => return Some(bot.token),
                Err(e) => tracing::warn!(bot_key, error = %e, "cannot read the bot to poll; retrying"),
            }
            if pause(stop, PAUSE).await {
                return None;
            }
        }
    }

    async fn drop_webhook(&self, bot_key: &str, token: &str) {
        match self.d.api.delete_webhook(token, false).await {
            Ok(_) => tracing::info!(bot_key, "webhook deleted for polling"),
            Err(e) => tracing::warn!(bot_key, error = %e, "deleteWebhook failed"),
        }
    }
}

/// Waits `wait`; whether `stop` turned true (or its sender went) meanwhile.
async fn pause(stop: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    tokio::time::timeout(wait, stop.wait_for(|s| *s)).await.is_ok()
}
