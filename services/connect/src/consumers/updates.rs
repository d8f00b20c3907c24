//! `connect-updates`: queued Telegram updates → commands.

use std::time::Duration;

use novij_bus::{run_consumer, Handled};
use novij_events::update::UpdateReceived;
use novij_events::{subjects, EventMeta};
use novij_runtime::Runtime;
use tokio::sync::watch;

use crate::domain::commands;
use crate::domain::update::{parse_command, Command};

const DURABLE: &str = "connect-updates";

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    run_consumer(rt.jetstream.clone(), subjects::UPDATES_STREAM, DURABLE, 1, shutdown, |msg| {
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
    let Some(message) = update.message else { return Handled::Done };
    let Some(text) = message.text.as_deref() else { return Handled::Done };
    let ctx = commands::Context {
        rt,
        bot_key: &received.bot_key,
        update_id: received.update_id,
        chat: &message.chat,
        meta: EventMeta::new(format!("update:{}", received.message_id())),
    };
    let result = match parse_command(text) {
        Command::Start(code) => commands::start(&ctx, code).await,
        Command::Stop => commands::stop(&ctx).await,
        Command::Other => Ok(()),
    };
    match result {
        Ok(()) => Handled::Done,
        Err(e) => {
            tracing::warn!(bot_key = %received.bot_key, update_id = received.update_id, error = %e, "update handling failed; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
