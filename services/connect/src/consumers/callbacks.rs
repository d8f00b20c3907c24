//! `connect-callbacks`: button presses, many at once and apart from the
//! other updates, so each is answered at once: of alert cards
//! (`domain::press`) and of command replies (`domain::command_press`).

use std::time::Duration;

use novij_bus::Handled;
use novij_events::update::UpdateReceived;
use novij_events::EventMeta;
use novij_runtime::Runtime;
use tokio::sync::watch;

use crate::domain::update::Update;
use crate::domain::{command_press, press};
use novij_runtime::connected::ConnectedRecipients;

const DURABLE: &str = "connect-callbacks";
/// Presses handled at once by one instance.
const CONCURRENCY: usize = 64;

pub async fn run(rt: Runtime, connected: ConnectedRecipients, shutdown: watch::Receiver<bool>) {
    super::consume(rt, DURABLE, CONCURRENCY, shutdown, move |rt, received, update| {
        let connected = connected.clone();
        async move { handle(&rt, &connected, &received, update).await }
    })
    .await
}

async fn handle(rt: &Runtime, connected: &ConnectedRecipients, received: &UpdateReceived, update: Update) -> Handled {
    let Some(query) = update.callback_query else { return Handled::Done };
    let meta = EventMeta::new(format!("update:{}", received.message_id()));
    let of_command = query.data.as_deref().is_some_and(|d| d.starts_with(novij_events::ids::COMMAND));
    let pressed = if of_command {
        command_press::press(rt, connected, &received.bot_key, &query, meta).await
    } else {
        press::press(rt, &received.bot_key, &query, meta).await
    };
    match pressed {
        Ok(()) => Handled::Done,
        Err(e) => {
            tracing::warn!(bot_key = %received.bot_key, update_id = received.update_id, error = %e, "press handling failed; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
