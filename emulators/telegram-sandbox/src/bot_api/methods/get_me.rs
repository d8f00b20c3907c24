//! `getMe`: the bot's own User object.

use serde_json::Value;

use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::params::Params;

pub fn handle(ctx: &Ctx, _params: &Params) -> ApiResult {
    let world = ctx.sandbox.world();
    let bot = world.bots.get(&ctx.bot_id).ok_or_else(ApiError::unauthorized)?;
    let mut me = bot.user_json();
    if let Some(map) = me.as_object_mut() {
        map.insert("can_join_groups".into(), Value::Bool(true));
        map.insert("can_read_all_group_messages".into(), Value::Bool(false));
        map.insert("supports_inline_queries".into(), Value::Bool(false));
        map.insert("can_connect_to_business".into(), Value::Bool(false));
        map.insert("has_main_web_app".into(), Value::Bool(false));
    }
    Ok(ApiReply::new(me))
}
