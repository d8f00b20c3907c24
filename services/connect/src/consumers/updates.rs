//! `connect-updates`: queued Telegram updates → commands.

use std::time::Duration;

use novij_bus::Handled;
use novij_events::update::UpdateReceived;
use novij_events::EventMeta;
use novij_runtime::Runtime;
use tokio::sync::watch;

use crate::domain::commands;
use crate::domain::update::{parse_command, Command, Update};

const DURABLE: &str = "connect-updates";

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    super::consume(rt, DURABLE, 1, shutdown, |rt, received, update| async move { handle(&rt, &received, update).await })
        .await
}

async fn handle(rt: &Runtime, received: &UpdateReceived, update: Update) -> Handled {
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
