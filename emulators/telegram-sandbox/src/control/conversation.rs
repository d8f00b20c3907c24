//! One chat of one bot as the page shows it: `GET
//! /sandbox/bots/{username}/chats/{chat_id}` gives its messages (each with the
//! message it replies to, the Bot API calls that sent or edited it and the
//! `file_url` of its file's bytes when the sandbox has them), the
//! button answers, failed calls and limit violations in it, and the command
//! menu that applies; `POST .../read` marks its messages read.

use std::sync::Arc;

use serde_json::{json, Value};

use super::files;
use super::overview::chat_identity;
use super::{call_chat_id, err, find_bot, ControlError, ControlResult};
use crate::state::{Bot, BotCommand, BotMembership, CommandScope, Sandbox, World};

/// How many failed calls of a chat are shown, newest kept.
const MAX_FAILED_CALLS: usize = 50;

fn parse_chat_id(raw: &str) -> Result<i64, ControlError> {
    raw.parse::<i64>().map_err(|_| err(400, "chat_id must be an integer"))
}

/// The menu `setMyCommands` gives this chat: the narrowest scope with a list,
/// in the user's language before the list for all languages, as Telegram picks.
fn menu(world: &World, bot: &Bot, chat_id: i64) -> Vec<Value> {
    let language = world.users.get(&chat_id).and_then(|u| u.language_code.clone()).unwrap_or_default();
    let wide = if chat_id > 0 { CommandScope::AllPrivateChats } else { CommandScope::AllGroupChats };
    let scopes = [CommandScope::Chat { chat_id }, wide, CommandScope::Default];
    let languages = if language.is_empty() { vec![String::new()] } else { vec![language, String::new()] };
    scopes
        .iter()
        .find_map(|scope| languages.iter().find_map(|lang| bot.commands.get(&(*scope, lang.clone()))))
        .map(|list| list.iter().map(BotCommand::to_json).collect())
        .unwrap_or_default()
}

/// Who is in the chat besides the bot, and where the bot stands.
fn membership(world: &World, bot: &Bot, chat_id: i64) -> Value {
    if chat_id > 0 {
        let relation = bot.relation(chat_id);
        return json!({"started": relation.started, "blocked": relation.blocked});
    }
    let Some(group) = world.groups.get(&chat_id) else { return Value::Null };
    let members: Vec<Value> = group.members.iter().filter_map(|id| world.users.get(id)).map(|u| u.to_json()).collect();
    let status = match group.bots.get(&bot.id) {
        Some(BotMembership::Member) => "member",
        Some(BotMembership::Kicked) => "kicked",
        None => "none",
    };
    let migrated_from = world.groups.values().find(|g| g.migrated_to == Some(chat_id)).map(|g| g.id);
    json!({"members": members, "bot_status": status, "migrated_to": group.migrated_to, "migrated_from": migrated_from})
}

pub(super) fn conversation(sandbox: &Arc<Sandbox>, username: &str, chat_id: &str) -> ControlResult {
    let chat_id = parse_chat_id(chat_id)?;
    let world = sandbox.world();
    let bot = find_bot(&world, username)?;
    let (title, kind, chat_username) = chat_identity(&world, chat_id);
    let known =
        bot.chats.contains_key(&chat_id) || world.users.contains_key(&chat_id) || world.groups.contains_key(&chat_id);
    if !known {
        return Err(err(404, format!("chat {chat_id} not found")));
    }
    let calls: Vec<_> =
        world.calls.iter().filter(|c| c.bot_id == Some(bot.id) && call_chat_id(&c.params) == Some(chat_id)).collect();
    let log = bot.chats.get(&chat_id);
    let messages: Vec<Value> = log
        .map(|log| {
            log.messages
                .iter()
                .map(|(id, stored)| {
                    let reply_to = stored.reply_to.and_then(|r| log.messages.get(&r)).map(|m| m.json.clone());
                    let behind: Vec<Value> = calls
                        .iter()
                        .filter(|c| c.status == 200 && c.message_ids.contains(id))
                        .filter_map(|c| serde_json::to_value(c).ok())
                        .collect();
                    json!({
                        "message_id": id,
                        "from_bot": stored.from_bot,
                        "message": stored.json,
                        "reply_to": reply_to,
                        "calls": behind,
                        "file_url": files::url(&world.files, &stored.json),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut failed: Vec<Value> = calls
        .iter()
        .rev()
        .filter(|c| c.status != 200)
        .take(MAX_FAILED_CALLS)
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    failed.reverse();
    let answers: Vec<&Value> = bot.callback_answers.iter().filter(|a| a["chat_id"] == chat_id).collect();
    let violations: Vec<Value> = world
        .violations
        .iter()
        .filter(|v| v.bot_username == bot.username && v.chat_id == Some(chat_id))
        .filter_map(|v| serde_json::to_value(v).ok())
        .collect();
    Ok((
        200,
        json!({
            "bot": bot.username,
            "chat": {"id": chat_id, "type": kind, "title": title, "username": chat_username},
            "membership": membership(&world, bot, chat_id),
            "messages": messages,
            "answers": answers,
            "failed_calls": failed,
            "violations": violations,
            "commands": menu(&world, bot, chat_id),
            "read_up_to": log.map_or(0, |log| log.read_up_to),
        }),
    ))
}

/// Marks every message of the chat read, up to `up_to` when given.
pub(super) fn mark_read(sandbox: &Arc<Sandbox>, username: &str, chat_id: &str, body: &Value) -> ControlResult {
    let chat_id = parse_chat_id(chat_id)?;
    let up_to = match body.get("up_to") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| err(400, "\"up_to\" must be an integer"))?),
    };
    let mut world = sandbox.world();
    let bot_id = find_bot(&world, username)?.id;
    let log = world
        .bots
        .get_mut(&bot_id)
        .and_then(|bot| bot.chats.get_mut(&chat_id))
        .ok_or_else(|| err(404, format!("chat {chat_id} has no messages")))?;
    let newest = log.messages.keys().next_back().copied().unwrap_or(0);
    log.read_up_to = log.read_up_to.max(up_to.unwrap_or(newest).min(newest));
    Ok((200, json!({"read_up_to": log.read_up_to})))
}
