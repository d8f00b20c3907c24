//! `dispatcher-integrations`: `integration.created`, or `integration.updated`
//! with a new bot token → setWebhook → `integration.webhook_set|webhook_failed`.

use std::time::Duration;

use novij_aggregates::integration::Integration;
use novij_bus::{run_consumer, undecodable, Expect, Handled};
use novij_events::integration::{IntegrationWebhookFailed, IntegrationWebhookSet, COMMON_BOT_KEY};
use novij_events::{ids, subjects, AnyEvent, Envelope, EventMeta};
use tokio::sync::watch;

use crate::bots::BotLookupError;
use crate::{webhook, Dispatcher};

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
        Ok(bot) => match d.api.delete_webhook(&bot.token).await {
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
