//! `dispatcher-integrations`: `integration.created` → setWebhook → `integration.webhook_set|webhook_failed`.

use std::time::Duration;

use novij_bus::{run_consumer, Expect, Handled};
use novij_events::integration::{IntegrationCreated, IntegrationWebhookFailed, IntegrationWebhookSet};
use novij_events::{ids, subjects, Envelope, EventMeta};
use tokio::sync::watch;

use crate::{webhook, Dispatcher};

const DURABLE: &str = "dispatcher-integrations";

pub async fn run(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    run_consumer(d.rt.jetstream.clone(), subjects::EVENTS_STREAM, DURABLE, 8, shutdown, |msg| {
        let d = d.clone();
        async move {
            let outcome = match serde_json::from_slice::<Envelope<IntegrationCreated>>(&msg.payload) {
                Ok(created) => handle(&d, &created).await,
                Err(e) => Handled::Reject(format!("undecodable integration.created: {e}")),
            };
            (msg, outcome)
        }
    })
    .await
}

async fn handle(d: &Dispatcher, created: &Envelope<IntegrationCreated>) -> Handled {
    let p = &created.payload;
    let bot_key = p.bot_key().to_string();
    let token = match d.bots.token(&bot_key).await {
        Ok(t) => t,
        Err(e) => return Handled::Reject(e.to_string()),
    };
    let meta = EventMeta::caused_by(created);
    let cause = created.event_id.to_string();
    let appended = match webhook::set(d, &bot_key, &token).await {
        Ok(url) => {
            tracing::info!(integration_id = %p.integration_id, bot_key = %bot_key, "webhook set");
            let event = IntegrationWebhookSet {
                integration_id: p.integration_id.clone(),
                bot_key,
                url,
                max_connections: d.rt.config.webhook_max_connections,
            };
            d.rt.log
                .append(&Envelope::new(event, meta).with_event_id(ids::caused_event_id(&cause, "webhook")), Expect::Any)
                .await
        }
        Err(e) if e.kind().is_transient() => {
            tracing::warn!(integration_id = %p.integration_id, error = %e, "setWebhook failed; will retry");
            return Handled::Retry(Duration::from_secs(5));
        }
        Err(e) => {
            tracing::warn!(integration_id = %p.integration_id, error = %e, "setWebhook refused");
            let event = IntegrationWebhookFailed {
                integration_id: p.integration_id.clone(),
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
