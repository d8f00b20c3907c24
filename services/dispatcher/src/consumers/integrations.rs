//! `dispatcher-integrations`: `integration.created`, or `integration.updated`
//! with a new bot token → setWebhook → `integration.webhook_set|webhook_failed`;
//! `integration.commands_set` → setMyCommands per menu →
//! `integration.commands_pushed|commands_push_failed`.

use std::time::Duration;

use novij_aggregates::integration::Integration;
use novij_bus::{run_consumer, undecodable, Expect, Handled};
use novij_events::commands::{CommandsPushFailed, CommandsPushed, CommandsSet};
use novij_events::integration::{IntegrationWebhookFailed, IntegrationWebhookSet, COMMON_BOT_KEY};
use novij_events::{ids, subjects, AnyEvent, Envelope, EventMeta};
use tokio::sync::watch;

use crate::bots::BotLookupError;
use crate::{menus, webhook, Dispatcher};

const DURABLE: &str = "dispatcher-integrations";

pub async fn run(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    run_consumer(d.rt.jetstream.clone(), subjects::EVENTS_STREAM, DURABLE, 8, shutdown, |msg| {
        let d = d.clone();
        async move {
            let outcome = match AnyEvent::from_slice(&msg.payload) {
                Ok(AnyEvent::IntegrationCreated(e)) => {
                    handle(&d, &e.payload.integration_id, e.payload.bot_key(), &e).await
                }
                Ok(AnyEvent::IntegrationUpdated(e)) if e.payload.bot_token.is_some() => {
                    handle(&d, &e.payload.integration_id, &e.payload.integration_id, &e).await
                }
                Ok(AnyEvent::CommandsSet(e)) => push_commands(&d, &e).await,
                Ok(AnyEvent::IntegrationDeleted(e)) if e.payload.bot_key != COMMON_BOT_KEY => {
                    retire(&d, &e.payload.integration_id).await
                }
                Ok(_) => Handled::Done,
                Err(e) => undecodable(&e),
            };
            (msg, outcome)
        }
    })
    .await
}

/// A deleted custom bot: its webhook is removed, then the keys of every token
/// it had are shredded, so the tokens in the log can never be opened again.
/// A retry after the shredding finds no token to call with and only shreds.
async fn retire(d: &Dispatcher, integration_id: &str) -> Handled {
    match d.bots.profile(integration_id).await {
        Ok(bot) => match d.api.delete_webhook(&bot.token, true).await {
            Ok(_) => tracing::info!(integration_id, "webhook removed"),
            Err(e) if e.kind().is_transient() => {
                tracing::warn!(integration_id, error = %e, "deleteWebhook failed; will retry");
                return Handled::Retry(Duration::from_secs(5));
            }
            // A revoked token has no webhook left to remove.
            Err(e) => tracing::warn!(integration_id, error = %e, "deleteWebhook refused"),
        },
        Err(BotLookupError::Unseal(_)) => {}
        Err(e) => {
            tracing::warn!(integration_id, error = %e, "cannot read the deleted bot; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    }
    let integration = match d.rt.log.load::<Integration>(integration_id).await {
        Ok(loaded) => loaded.state,
        Err(e) => {
            tracing::warn!(integration_id, error = %e, "cannot read the deleted integration; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    };
    for token in &integration.tokens {
        if let Err(e) = d.rt.payloads.shred(token).await {
            tracing::warn!(integration_id, error = %e, "cannot shred a token key; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    }
    tracing::info!(integration_id, tokens = integration.tokens.len(), "deleted bot retired; token keys shredded");
    Handled::Done
}

/// Points the bot's webhook at this service with its current token.
async fn handle<P>(d: &Dispatcher, integration_id: &str, bot_key: &str, cause: &Envelope<P>) -> Handled {
    // A polled bot has no webhook (`crate::polling`).
    if d.rt.config.telegram_updates.polls(bot_key) {
        return Handled::Done;
    }
    let token = match d.bots.profile(bot_key).await {
        Ok(bot) => bot.token,
        Err(e) => return Handled::Reject(e.to_string()),
    };
    let meta = EventMeta::caused_by(cause);
    let cause = cause.event_id.to_string();
    let bot_key = bot_key.to_string();
    let appended = match webhook::set(d, &bot_key, &token).await {
        Ok(url) => {
            tracing::info!(integration_id = %integration_id, bot_key = %bot_key, "webhook set");
            let event = IntegrationWebhookSet {
                integration_id: integration_id.to_string(),
                bot_key,
                url,
                max_connections: d.rt.config.webhook_max_connections,
            };
            d.rt.log
                .append(&Envelope::new(event, meta).with_event_id(ids::caused_event_id(&cause, "webhook")), Expect::Any)
                .await
        }
        Err(e) if e.kind().is_transient() => {
            tracing::warn!(integration_id = %integration_id, error = %e, "setWebhook failed; will retry");
            return Handled::Retry(Duration::from_secs(5));
        }
        Err(e) => {
            tracing::warn!(integration_id = %integration_id, error = %e, "setWebhook refused");
            let event = IntegrationWebhookFailed {
                integration_id: integration_id.to_string(),
                bot_key,
                reason: e.description().to_string(),
            };
            d.rt.log
                .append(&Envelope::new(event, meta).with_event_id(ids::caused_event_id(&cause, "webhook")), Expect::Any)
                .await
        }
    };
    match appended {
        Ok(_) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record webhook outcome; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}

/// Brings the bot's menus to the integration's newest manifest. Manifests
/// set in quick succession may be pushed by several handlers (and
/// instances) at once, so each handler reads the newest manifest before it
/// pushes and again after: the last one to finish has pushed the newest.
async fn push_commands(d: &Dispatcher, cause: &Envelope<CommandsSet>) -> Handled {
    let integration_id = &cause.payload.integration_id;
    let retry = |e: &dyn std::fmt::Display| {
        tracing::warn!(integration_id = %integration_id, error = %e, "cannot push the command menus; will retry");
        Handled::Retry(Duration::from_secs(1))
    };
    let mut pushed = 0;
    loop {
        let integration = match d.rt.log.load::<Integration>(integration_id).await {
            Ok(loaded) => loaded.state,
            Err(e) => return retry(&e),
        };
        let version = integration.commands.version;
        if !integration.is_live() || version <= pushed || integration.commands.pushed >= version {
            return Handled::Done;
        }
        let token = match d.bots.profile(&integration.bot_key).await {
            Ok(bot) => bot.token,
            Err(e) => return Handled::Reject(e.to_string()),
        };
        let id = |what: &str| ids::caused_event_id(&cause.event_id.to_string(), &format!("{what}:{version}"));
        for menu in menus::menus(&integration.commands.list) {
            match d.api.set_my_commands(&token, &menu).await {
                Ok(_) => {}
                Err(e) if e.kind().is_transient() => return retry(&e),
                Err(e) => {
                    tracing::warn!(integration_id = %integration_id, version, error = %e, "Telegram refused a command menu");
                    let failed = CommandsPushFailed {
                        integration_id: integration_id.clone(),
                        version,
                        detail: e.description().to_string(),
                    };
                    let env = Envelope::new(failed, EventMeta::caused_by(cause)).with_event_id(id("push_failed"));
                    return match d.rt.log.append(&env, Expect::Any).await {
                        Ok(_) => Handled::Done,
                        Err(e) => retry(&e),
                    };
                }
            }
        }
        let done = CommandsPushed { integration_id: integration_id.clone(), version };
        let env = Envelope::new(done, EventMeta::caused_by(cause)).with_event_id(id("pushed"));
        if let Err(e) = d.rt.log.append(&env, Expect::Any).await {
            return retry(&e);
        }
        tracing::info!(integration_id = %integration_id, version, "command menus pushed");
        pushed = version;
    }
}
