//! The connect service's consumers.

pub mod callbacks;
pub mod inbound_webhooks;
pub mod updates;

use std::future::Future;

use novij_bus::{run_consumer, Handled};
use novij_events::subjects;
use novij_events::update::UpdateReceived;
use novij_runtime::{derive::purpose, Runtime};
use tokio::sync::watch;

use crate::domain::update::Update;

/// Runs the durable consumer `durable` of queued updates, `concurrency` at a
/// time: each unsealed and handed to `handle`, an unreadable one rejected.
async fn consume<F, Fut>(rt: Runtime, durable: &str, concurrency: usize, shutdown: watch::Receiver<bool>, handle: F)
where
    F: Fn(Runtime, UpdateReceived, Update) -> Fut,
    Fut: Future<Output = Handled> + Send + 'static,
{
    let js = rt.jetstream.clone();
    run_consumer(js, subjects::UPDATES_STREAM, durable, concurrency, shutdown, |msg| {
        let handling = serde_json::from_slice::<UpdateReceived>(&msg.payload)
            .map_err(|e| Handled::Reject(format!("undecodable update: {e}")))
            .and_then(|received| open(&rt, &received).map(|update| handle(rt.clone(), received, update)));
        async move {
            let outcome = match handling {
                Ok(handling) => handling.await,
                Err(refused) => refused,
            };
            (msg, outcome)
        }
    })
    .await
}

/// The update a queued message holds, unsealed.
fn open(rt: &Runtime, received: &UpdateReceived) -> Result<Update, Handled> {
    rt.keyring
        .open(purpose::TELEGRAM_UPDATE, &received.update)
        .map_err(|e| e.to_string())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        .map_err(|e| Handled::Reject(format!("update {} unreadable: {e}", received.message_id())))
}
