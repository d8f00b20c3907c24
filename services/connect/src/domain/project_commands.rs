//! A project's `/commands` (its manifest) and `/help`, from a chat of the
//! integration's own bot: checked here, then requested on the log
//! (`command.requested`) for the command's executor to poll.
//!
//! A chat that is not connected is told to connect first; a command the
//! manifest does not offer in this kind of chat gets a short help; a user
//! not in the command's `allowed_refs`, or over the per-minute limit, gets a
//! short refusal. The request is the command aggregate's first event, its id
//! derived from the update, so a redelivered update requests nothing twice.

use std::time::Instant;

use chrono::Utc;
use novij_aggregates::integration::Integration;
use novij_bus::{AppendError, Expect};
use novij_events::commands::{CommandInput, CommandRequested, CommandSpec};
use novij_events::Envelope;
use novij_runtime::derive;

use super::commands::{CommandError, Context};
use super::sender::sender_ref;
use super::update::{Invoked, User};
use crate::rate::{Limiter, Verdict};
use crate::replies::{self, ReplyOwner};
use novij_runtime::connected::Connected;

/// The message that carried the command.
pub struct Incoming<'a> {
    pub invoked: &'a Invoked<'a>,
    pub message_id: i64,
    pub from: Option<&'a User>,
}

pub async fn run(
    ctx: &Context<'_>,
    integration: &Integration,
    incoming: Incoming<'_>,
    limiter: &Limiter,
) -> Result<(), CommandError> {
    let rt = ctx.rt;
    let ru = incoming.from.is_some_and(User::russian);
    // An anonymous group admin speaks as the group.
    let user_id = incoming.from.map_or(ctx.chat.id, |u| u.id);
    let user_key = derive::presser_id(&rt.keyring, ctx.bot_key, user_id);
    let chat = connected(ctx, integration, ctx.chat.id).await?;
    let owner = ReplyOwner {
        project_id: integration.project_id.clone(),
        integration_id: Some(integration.integration_id.clone()),
        recipient_id: chat.as_ref().map(|r| r.recipient_id.clone()),
    };
    match limiter.check(&user_key, Instant::now()) {
        Verdict::Allowed => {}
        Verdict::Refused => return ctx.reply("command_limit", replies::too_many_commands(ru), owner).await,
        Verdict::Silent => return Ok(()),
    }
    let Some(chat) = chat else {
        return ctx.reply("command_not_connected", replies::connect_first(ru), owner).await;
    };
    let private = ctx.chat.is_private();
    let offered_here = |c: &&CommandSpec| if private { c.scope.in_private() } else { c.scope.in_groups() };
    let name = incoming.invoked.name.as_str();
    if name == "help" {
        let offered: Vec<&CommandSpec> = integration.commands.list.iter().filter(offered_here).collect();
        return ctx.reply("help", &replies::help(&offered, ru), owner).await;
    }
    let Some(spec) = integration.commands.find(name).filter(offered_here) else {
        return ctx.reply("command_unknown", &replies::unknown_command(name, ru), owner).await;
    };
    let from = sender_ref(rt, ctx.connected, ctx.bot_key, &integration.integration_id, user_id).await?;
    if !spec.allowed_refs.is_empty() && !spec.allowed_refs.contains(&from) {
        return ctx.reply("command_not_allowed", &replies::not_allowed(name, ru), owner).await;
    }
    request(ctx, integration, spec, &incoming, chat, from).await
}

/// The active recipient of the integration whose chat (with this bot) is `chat_id`.
async fn connected(
    ctx: &Context<'_>,
    integration: &Integration,
    chat_id: i64,
) -> Result<Option<Connected>, CommandError> {
    let chat_hash = derive::chat_hash(&ctx.rt.keyring, ctx.bot_key, chat_id);
    let recipients = ctx.connected.in_chat(&chat_hash).await?;
    Ok(recipients.into_iter().find(|r| r.integration_id == integration.integration_id))
}

async fn request(
    ctx: &Context<'_>,
    integration: &Integration,
    spec: &CommandSpec,
    incoming: &Incoming<'_>,
    chat: Connected,
    from: String,
) -> Result<(), CommandError> {
    let rt = ctx.rt;
    let input = CommandInput { args_text: incoming.invoked.args.to_string() };
    let input = ctx.sealed_words(derive::purpose::COMMAND_INPUT, &input).await?;
    let sealed_chat = ctx.sealed_chat(&chat.recipient_id)?;
    let requested_at = Utc::now();
    let command_id = derive::command_id(&rt.keyring, ctx.bot_key, ctx.update_id);
    let requested = CommandRequested {
        command_id: command_id.clone(),
        integration_id: integration.integration_id.clone(),
        project_id: integration.project_id.clone().unwrap_or_default(),
        bot_key: ctx.bot_key.to_string(),
        name: spec.name.clone(),
        executor_key: spec.executor_key.clone(),
        input,
        chat: sealed_chat,
        chat_kind: ctx.chat.kind(),
        message_id: incoming.message_id,
        from,
        recipient_id: chat.recipient_id,
        locale: if incoming.from.is_some_and(User::russian) { "ru" } else { "en" }.to_string(),
        requested_at,
        expires_at: requested_at + chrono::Duration::seconds(spec.timeout_seconds.into()),
    };
    let env = Envelope::new(requested, ctx.meta.clone()).with_event_id(ctx.event_id("command_requested"));
    match rt.log.append(&env, Expect::NoEvents).await {
        // A redelivered update: requested already.
        Ok(_) | Err(AppendError::Conflict) => {}
        Err(e) => return Err(e.into()),
    }
    tracing::info!(command_id = %command_id, name = %spec.name, executor_key = %spec.executor_key, "command requested");
    Ok(())
}
