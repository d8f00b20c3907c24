//! How a bot is being served, for the page's bot panel: `GET
//! /sandbox/bots/{username}/deliveries` (each webhook attempt or polled
//! update: status, latency, retry) and `GET /sandbox/bots/{username}/limits`
//! (the flood-limit windows as they stand, and the bot's violations).

use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use super::{find_bot, ControlResult};
use crate::state::Sandbox;

/// How many deliveries the panel gets, newest kept.
const MAX_SHOWN: usize = 200;

pub(super) fn deliveries(sandbox: &Arc<Sandbox>, username: &str) -> ControlResult {
    let world = sandbox.world();
    let bot = find_bot(&world, username)?;
    let mut records: Vec<Value> =
        bot.deliveries.iter().rev().take(MAX_SHOWN).filter_map(|r| serde_json::to_value(r).ok()).collect();
    records.reverse();
    Ok((200, Value::Array(records)))
}

pub(super) fn limits(sandbox: &Arc<Sandbox>, username: &str) -> ControlResult {
    let limits = sandbox.config.limits;
    let world = sandbox.world();
    let bot = find_bot(&world, username)?;
    let violations: Vec<Value> = world
        .violations
        .iter()
        .filter(|v| v.bot_username == bot.username)
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    Ok((
        200,
        json!({
            "unlimited": limits.is_unlimited(),
            "scale": limits.scale,
            "per_bot_per_second": limits.per_bot_per_second,
            "per_chat_per_second": limits.per_chat_per_second,
            "per_group_per_minute": limits.per_group_per_minute,
            "windows": bot.limiter.windows(&limits, Instant::now()),
            "violations": violations,
        }),
    ))
}
