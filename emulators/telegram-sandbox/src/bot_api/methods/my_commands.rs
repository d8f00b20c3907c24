//! `setMyCommands`, `getMyCommands` and `deleteMyCommands`: the bot's command
//! lists, one per scope and language. Checks run in the order of the real
//! server, so a call with several faults gets Telegram's first error.

use serde_json::Value;

use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;
use crate::bot_api::{bot_commands, command_scope};
use crate::state::{Bot, BotCommand, CommandScope, World};

/// The (scope, language) a call is about, after checking the scope's chat.
fn list_key(
    world: &World,
    ctx: &Ctx,
    scope: CommandScope,
    params: &Params,
) -> Result<(CommandScope, String), ApiError> {
    command_scope::check_chat(world, ctx.bot_id, scope)?;
    Ok((scope, command_scope::language_code(params)?))
}

fn bot_mut<'w>(world: &'w mut World, ctx: &Ctx) -> Result<&'w mut Bot, ApiError> {
    world.bots.get_mut(&ctx.bot_id).ok_or_else(ApiError::unauthorized)
}

pub fn set(ctx: &Ctx, params: &Params) -> ApiResult {
    let commands = bot_commands::from_params(params)?;
    let scope = command_scope::from_params(params)?;
    let mut world = ctx.sandbox.world();
    let key = list_key(&world, ctx, scope, params)?;
    let commands = bot_commands::validate(commands)?;
    let bot = bot_mut(&mut world, ctx)?;
    // An empty list is how Telegram clears one.
    if commands.is_empty() {
        bot.commands.remove(&key);
    } else {
        bot.commands.insert(key, commands);
    }
    Ok(ApiReply::new(Value::Bool(true)))
}

pub fn get(ctx: &Ctx, params: &Params) -> ApiResult {
    let scope = command_scope::from_params(params)?;
    let world = ctx.sandbox.world();
    let key = list_key(&world, ctx, scope, params)?;
    let bot = world.bots.get(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    // Exactly this list: Telegram falls back to other scopes only in clients.
    let list = bot.commands.get(&key).map(|commands| commands.iter().map(BotCommand::to_json).collect());
    Ok(ApiReply::new(Value::Array(list.unwrap_or_default())))
}

pub fn delete(ctx: &Ctx, params: &Params) -> ApiResult {
    let scope = command_scope::from_params(params)?;
    let mut world = ctx.sandbox.world();
    let key = list_key(&world, ctx, scope, params)?;
    bot_mut(&mut world, ctx)?.commands.remove(&key);
    Ok(ApiReply::new(Value::Bool(true)))
}
