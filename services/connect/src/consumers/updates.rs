//! `connect-updates`: queued Telegram updates → commands: `/start` and
//! `/stop` (connect), and a project's own commands with `/help`; and the
//! bot's membership of a chat (`my_chat_member`, `domain::lifecycle`).

use std::time::Duration;

use novij_aggregates::integration::Integration;
use novij_bus::Handled;
use novij_events::integration::COMMON_BOT_KEY;
use novij_events::update::UpdateReceived;
use novij_events::EventMeta;
use novij_runtime::Runtime;
use tokio::sync::watch;

use crate::common_bot::CommonBot;
use crate::domain::commands::{self, CommandError, Context};
use crate::domain::lifecycle;
use crate::domain::project_commands::{self, Incoming};
use crate::domain::update::{parse_command, Update};
use crate::rate::Limiter;

const DURABLE: &str = "connect-updates";

/// What the handling of updates keeps between them.
#[derive(Clone)]
struct Kept {
    limiter: Limiter,
    common_bot: CommonBot,
}

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    let kept = Kept { limiter: Limiter::new(rt.config.commands_per_user_per_minute), common_bot: CommonBot::default() };
    super::consume(rt, DURABLE, 1, shutdown, move |rt, received, update| {
        let kept = kept.clone();
        async move { handle(&rt, &received, update, &kept).await }
    })
    .await
}

async fn handle(rt: &Runtime, received: &UpdateReceived, update: Update, kept: &Kept) -> Handled {
    if let Some(changed) = update.my_chat_member {
        let ctx = Context {
            rt,
            bot_key: &received.bot_key,
            update_id: received.update_id,
            chat: &changed.chat,
            meta: EventMeta::new(format!("update:{}", received.message_id())),
        };
        return settle(received, lifecycle::member_changed(&ctx, &changed.new_chat_member).await);
    }
    let Some(message) = update.message else { return Handled::Done };
    let Some(invoked) = message.text.as_deref().and_then(parse_command) else { return Handled::Done };
    let ctx = Context {
        rt,
        bot_key: &received.bot_key,
        update_id: received.update_id,
        chat: &message.chat,
        meta: EventMeta::new(format!("update:{}", received.message_id())),
    };
    let incoming = Incoming { invoked: &invoked, message_id: message.message_id, from: message.from.as_ref() };
    settle(received, route(&ctx, incoming, kept).await)
}

fn settle(received: &UpdateReceived, handled: Result<(), CommandError>) -> Handled {
    match handled {
        Ok(()) => Handled::Done,
        Err(e) => {
            tracing::warn!(bot_key = %received.bot_key, update_id = received.update_id, error = %e, "update handling failed; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}

async fn route(ctx: &Context<'_>, incoming: Incoming<'_>, kept: &Kept) -> Result<(), CommandError> {
    let invoked = incoming.invoked;
    // Only a project's own bot has commands of its project.
    let integration = match ctx.bot_key {
        COMMON_BOT_KEY => None,
        bot_key => Some(ctx.rt.log.load::<Integration>(bot_key).await?.state).filter(Integration::is_live),
    };
    // `/name@bot` is for the bot named; in a group, another bot's command is ignored.
    if let Some(named) = invoked.bot {
        let ours = match &integration {
            Some(integration) => integration.bot.as_ref().map(|b| b.username.as_str()),
            None => Some(kept.common_bot.username(ctx.rt).await?),
        };
        if ours.is_some_and(|ours| !named.eq_ignore_ascii_case(ours)) {
            return Ok(());
        }
    }
    match (invoked.name.as_str(), &integration) {
        ("start", _) => commands::start(ctx, Some(invoked.args).filter(|a| !a.is_empty())).await,
        ("stop", _) => commands::stop(ctx).await,
        (_, Some(integration)) => project_commands::run(ctx, integration, incoming, &kept.limiter).await,
        (_, None) => Ok(()),
    }
}
