//! Fault injection (failures, slow answers, hangs, per chat) and the counters
//! large tests check instead of downloading every record.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use super::{err, find_bot, find_bot_id, opt_str, ControlError, ControlResult};
use crate::bot_api::methods;
use crate::state::{Bot, BotStats, Fault, Sandbox};

/// How long a hung call holds the connection unless told otherwise.
pub const DEFAULT_HANG_MS: u64 = 60_000;
/// Longest delay or hang accepted.
const MAX_WAIT_MS: u64 = 600_000;

fn opt_u64(body: &Value, key: &str, min: u64, max: u64) -> Result<Option<u64>, ControlError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|n| (min..=max).contains(n))
            .map(Some)
            .ok_or_else(|| err(400, format!("\"{key}\" must be an integer from {min} to {max}"))),
    }
}

fn opt_bool(body: &Value, key: &str) -> Result<Option<bool>, ControlError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(err(400, format!("\"{key}\" must be a boolean"))),
    }
}

fn opt_chat_id(body: &Value) -> Result<Option<i64>, ControlError> {
    let parsed = match body.get("chat_id") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(_) => None,
    };
    parsed.filter(|id| *id != 0).map(Some).ok_or_else(|| err(400, "\"chat_id\" must be a non-zero integer"))
}

/// Parses a fault description from the control API.
fn parse_fault(body: &Value) -> Result<Fault, ControlError> {
    let status = match body.get("status") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|s| (400..=599).contains(s))
                .ok_or_else(|| err(400, "\"status\" must be an HTTP error status (400-599)"))? as u16,
        ),
    };
    let count = opt_u64(body, "count", 1, u64::from(u32::MAX))?.unwrap_or(1) as u32;
    let retry_after = opt_u64(body, "retry_after", 1, 86_400)?;
    let method = match opt_str(body, "method")? {
        None => None,
        Some(name) => Some(
            methods::find(&name)
                .ok_or_else(|| err(400, format!("unknown Bot API method \"{name}\"")))?
                .name
                .to_string(),
        ),
    };
    let description = opt_str(body, "description")?;
    let delay_ms = opt_u64(body, "delay_ms", 1, MAX_WAIT_MS)?;
    let hang = opt_bool(body, "hang")?.unwrap_or(false);
    let hang_ms = opt_u64(body, "hang_ms", 1, MAX_WAIT_MS)?;
    let chat_id = opt_chat_id(body)?;
    if hang_ms.is_some() && !hang {
        return Err(err(400, "\"hang_ms\" needs \"hang\": true"));
    }
    if hang && delay_ms.is_some() {
        return Err(err(400, "a fault either hangs or is delayed, not both"));
    }
    if status.is_none() && delay_ms.is_none() && !hang {
        return Err(err(400, "\"status\" must be an HTTP error status (400-599)"));
    }
    if retry_after.is_some() && status != Some(429) {
        return Err(err(400, "\"retry_after\" only goes with \"status\": 429"));
    }
    Ok(Fault {
        status,
        remaining: count,
        retry_after,
        method,
        description,
        delay_ms,
        hang_ms: hang.then(|| hang_ms.unwrap_or(DEFAULT_HANG_MS)),
        chat_id,
    })
}

pub(super) fn add_fault(sandbox: &Arc<Sandbox>, username: &str, body: &Value) -> ControlResult {
    let fault = parse_fault(body)?;
    let mut world = sandbox.world();
    let bot_id = find_bot_id(&world, username)?;
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let view = fault.to_json();
    bot.faults.push(fault);
    Ok((201, view))
}

pub(super) fn list_faults(sandbox: &Arc<Sandbox>, username: &str) -> ControlResult {
    let world = sandbox.world();
    let bot = find_bot(&world, username)?;
    Ok((200, Value::Array(bot.faults.iter().map(Fault::to_json).collect())))
}

pub(super) fn clear_faults(sandbox: &Arc<Sandbox>, username: &str) -> ControlResult {
    let mut world = sandbox.world();
    let bot_id = find_bot_id(&world, username)?;
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let cleared = bot.faults.len();
    bot.faults.clear();
    Ok((200, json!({ "cleared": cleared })))
}

/// `GET /sandbox/stats[?bot_username=]`: totals of one bot, or of all bots.
pub(super) fn stats(sandbox: &Arc<Sandbox>, query: &HashMap<String, String>) -> ControlResult {
    let world = sandbox.world();
    let bots: Vec<&Bot> = match query.get("bot_username").filter(|b| !b.is_empty()) {
        Some(name) => vec![find_bot(&world, name)?],
        None => world.bots.values().collect(),
    };
    let counters = |s: &BotStats| {
        [
            ("calls", s.calls),
            ("message_calls", s.message_calls),
            ("delivered", s.delivered),
            ("edited", s.edited),
            ("faulted", s.faulted),
            ("violations", s.violations),
            ("paid_broadcast", s.paid_broadcast),
            ("uploads", s.uploads),
            ("upload_bytes", s.upload_bytes),
            ("media_by_upload", s.media_by_upload),
            ("media_by_url", s.media_by_url),
            ("media_by_file_id", s.media_by_file_id),
        ]
    };
    let mut totals: BTreeMap<&str, u64> = counters(&BotStats::default()).into_iter().collect();
    let mut per_chat: BTreeMap<i64, u64> = BTreeMap::new();
    for bot in bots {
        for (name, value) in counters(&bot.stats) {
            *totals.entry(name).or_default() += value;
        }
        for (chat, count) in &bot.stats.per_chat {
            *per_chat.entry(*chat).or_default() += count;
        }
    }
    let mut body: Map<String, Value> =
        totals.into_iter().map(|(name, total)| (name.to_string(), json!(total))).collect();
    let per_chat: Map<String, Value> = per_chat.into_iter().map(|(chat, n)| (chat.to_string(), json!(n))).collect();
    body.insert("per_chat".into(), Value::Object(per_chat));
    Ok((200, Value::Object(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_shapes() {
        let hang = parse_fault(&json!({"hang": true, "chat_id": "-4000000001"})).unwrap();
        assert_eq!(hang.hang_ms, Some(DEFAULT_HANG_MS));
        assert_eq!(hang.status, None);
        assert_eq!(hang.chat_id, Some(-4_000_000_001));
        let slow = parse_fault(&json!({"delay_ms": 300, "method": "sendmessage"})).unwrap();
        assert_eq!((slow.delay_ms, slow.method.as_deref()), (Some(300), Some("sendMessage")));
        for bad in [
            json!({}),
            json!({"status": 200}),
            json!({"hang_ms": 10}),
            json!({"hang": true, "delay_ms": 10}),
            json!({"status": 500, "retry_after": 3}),
            json!({"status": 500, "chat_id": "x"}),
            json!({"delay_ms": 0}),
        ] {
            assert!(parse_fault(&bad).is_err(), "{bad}");
        }
    }
}
