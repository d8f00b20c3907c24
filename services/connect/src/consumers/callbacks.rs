//! `connect-callbacks`: button presses, many at once and apart from the
//! other updates, so each is answered at once (`domain::press`).

use std::time::Duration;

use novij_bus::{run_consumer, Handled};
use novij_events::update::UpdateReceived;
use novij_events::{subjects, EventMeta};
use novij_runtime::Runtime;
use tokio::sync::watch;

use crate::domain::press;

const DURABLE: &str = "connect-callbacks";
/// Presses handled at once by one instance.
const CONCURRENCY: usize = 64;

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    run_consumer(rt.jetstream.clone(), subjects::UPDATES_STREAM, DURABLE, CONCURRENCY, shutdown, |msg| {
        let rt = rt.clone();
        async move {
            let outcome = match serde_json::from_slice::<UpdateReceived>(&msg.payload) {
                Ok(received) => handle(&rt, &received).await,
                Err(e) => Handled::Reject(format!("undecodable update: {e}")),
            };
            (msg, outcome)
        }
    })
    .await
}

async fn handle(rt: &Runtime, received: &UpdateReceived) -> Handled {
    let update = match super::open(rt, received) {
        Ok(update) => update,
        Err(handled) => return handled,
    };
    let Some(query) = update.callback_query else { return Handled::Done };
    let meta = EventMeta::new(format!("update:{}", received.message_id()));
    match press::press(rt, &received.bot_key, &query, meta).await {
        Ok(()) => Handled::Done,
        Err(e) => {
            tracing::warn!(bot_key = %received.bot_key, update_id = received.update_id, error = %e, "press handling failed; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
