//! `connect-updates`: queued Telegram updates → commands: `/start` and
//! `/stop` (connect), and a project's own commands with `/help`; and the
//! bot's membership of a chat (`my_chat_member`, `domain::lifecycle`); any
//! other message of a connected chat is the project's (`domain::inbound`).

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
use crate::domain::project_commands::{self, Incoming};
use crate::domain::update::{parse_command, Message, Update};
use crate::domain::{inbound, lifecycle};
use crate::rate::Limiter;
use novij_runtime::connected::ConnectedRecipients;

const DURABLE: &str = "connect-updates";

/// What the handling of updates keeps between them.
#[derive(Clone)]
struct Kept {
    limiter: Limiter,
    common_bot: CommonBot,
    connected: ConnectedRecipients,
}

pub async fn run(rt: Runtime, connected: ConnectedRecipients, shutdown: watch::Receiver<bool>) {
    let limiter = Limiter::new(rt.config.commands_per_user_per_minute);
    let kept = Kept { limiter, common_bot: CommonBot::default(), connected };
    super::consume(rt, DURABLE, 1, shutdown, move |rt, received, update| {
        let kept = kept.clone();
        async move { handle(&rt, &received, update, &kept).await }
    })
    .await
}

async fn handle(rt: &Runtime, received: &UpdateReceived, update: Update, kept: &Kept) -> Handled {
    let context = |chat| Context {
        rt,
        connected: &kept.connected,
        bot_key: &received.bot_key,
        update_id: received.update_id,
        chat,
        meta: EventMeta::new(format!("update:{}", received.message_id())),
    };
    if let Some(changed) = update.my_chat_member {
        let ctx = context(&changed.chat);
        return settle(received, lifecycle::member_changed(&ctx, &changed.new_chat_member).await);
    }
    let Some(message) = update.message else { return Handled::Done };
    let ctx = context(&message.chat);
    let Some(invoked) = message.text.as_deref().and_then(parse_command) else {
        return settle(received, inbound(&ctx, &message).await);
    };
    let incoming = Incoming { invoked: &invoked, message_id: message.message_id, from: message.from.as_ref() };
    settle(received, route(&ctx, incoming, kept).await)
}

/// Whose bot an update came to.
enum BotOf {
    Common,
    /// A project's own bot.
    Project(Box<Integration>),
    /// The own bot of an integration that was deleted.
    Gone,
}

async fn bot_of(ctx: &Context<'_>) -> Result<BotOf, CommandError> {
    if ctx.bot_key == COMMON_BOT_KEY {
        return Ok(BotOf::Common);
    }
    let integration = ctx.rt.log.load::<Integration>(ctx.bot_key).await?.state;
    Ok(if integration.is_live() { BotOf::Project(Box::new(integration)) } else { BotOf::Gone })
}

/// A message that is not a command: the project's, when it is a connected chat's.
async fn inbound(ctx: &Context<'_>, message: &Message) -> Result<(), CommandError> {
    match bot_of(ctx).await? {
        BotOf::Common => inbound::received(ctx, None, message).await,
        BotOf::Project(integration) => inbound::received(ctx, Some(&integration), message).await,
        BotOf::Gone => Ok(()),
    }
}

async fn route(ctx: &Context<'_>, incoming: Incoming<'_>, kept: &Kept) -> Result<(), CommandError> {
    let invoked = incoming.invoked;
    let bot = bot_of(ctx).await?;
    // `/name@bot` is for the bot named; in a group, another bot's command is ignored.
    if let Some(named) = invoked.bot {
        let ours = match &bot {
            BotOf::Project(integration) => integration.bot.as_ref().map(|b| b.username.as_str()),
            BotOf::Common => Some(kept.common_bot.username(ctx.rt).await?),
            BotOf::Gone => None,
        };
        if ours.is_some_and(|ours| !named.eq_ignore_ascii_case(ours)) {
            return Ok(());
        }
    }
    match (invoked.name.as_str(), &bot) {
        ("start", _) => commands::start(ctx, Some(invoked.args).filter(|a| !a.is_empty())).await,
        ("stop", _) => commands::stop(ctx).await,
        // Only a project's own bot has commands of its project.
        (_, BotOf::Project(integration)) => project_commands::run(ctx, integration, incoming, &kept.limiter).await,
        _ => Ok(()),
    }
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
