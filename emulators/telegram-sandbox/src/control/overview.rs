//! `GET /sandbox/overview`: what the page's left pane lists — every bot with
//! its webhook state and its chats (private and group) with a preview of the
//! last message and the count of bot messages not yet read on the page —
//! plus the users and groups a person can act as or in.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::{json, Value};

use super::{bot_view, ControlResult};
use crate::state::{Bot, BotMembership, Sandbox, World};

/// Longest preview of a last message, in characters.
const PREVIEW_CHARS: usize = 80;

/// Every chat the bot has: messages, a relation with a user, or a group it is or was in.
pub(super) fn chat_ids(world: &World, bot: &Bot) -> BTreeSet<i64> {
    let mut ids: BTreeSet<i64> = bot.chats.keys().copied().collect();
    ids.extend(bot.relations.keys().copied());
    ids.extend(world.groups.values().filter(|g| g.bots.contains_key(&bot.id)).map(|g| g.id));
    ids
}

/// How a message shows in a one-line preview: its text, caption or what it carries.
fn preview(message: &Value) -> String {
    let text = ["text", "caption"].iter().find_map(|key| message.get(*key).and_then(Value::as_str));
    let line = match text {
        Some(text) => text.to_string(),
        None => {
            const KINDS: [(&str, &str); 10] = [
                ("photo", "Photo"),
                ("video", "Video"),
                ("document", "File"),
                ("audio", "Audio"),
                ("animation", "GIF"),
                ("voice", "Voice message"),
                ("new_chat_members", "joined the group"),
                ("left_chat_member", "left the group"),
                ("migrate_to_chat_id", "upgraded to a supergroup"),
                ("migrate_from_chat_id", "upgraded from a group"),
            ];
            KINDS
                .iter()
                .find(|(key, _)| message.get(*key).is_some())
                .map(|(_, label)| label.to_string())
                .unwrap_or_default()
        }
    };
    line.chars().take(PREVIEW_CHARS).collect()
}

/// The chat's title as a person sees it, its type and its @username.
pub(super) fn chat_identity(world: &World, chat_id: i64) -> (String, &'static str, Option<String>) {
    if let Some(user) = world.users.get(&chat_id) {
        let name = match &user.last_name {
            Some(last) => format!("{} {last}", user.first_name),
            None => user.first_name.clone(),
        };
        return (name, "private", user.username.clone());
    }
    match world.groups.get(&chat_id) {
        Some(group) => (group.title.clone(), group.kind.as_str(), None),
        None => (chat_id.to_string(), if chat_id > 0 { "private" } else { "group" }, None),
    }
}

fn chat_summary(world: &World, bot: &Bot, chat_id: i64) -> Value {
    let (title, kind, username) = chat_identity(world, chat_id);
    let log = bot.chats.get(&chat_id);
    let last = log.and_then(|log| log.messages.values().next_back());
    let unread = log.map_or(0, |log| log.messages.range(log.read_up_to + 1..).filter(|(_, m)| m.from_bot).count());
    let violations =
        world.violations.iter().filter(|v| v.bot_username == bot.username && v.chat_id == Some(chat_id)).count();
    let mut summary = json!({
        "chat_id": chat_id,
        "type": kind,
        "title": title,
        "username": username,
        "unread": unread,
        "last_text": last.map(|m| preview(&m.json)).unwrap_or_default(),
        "last_from_bot": last.map(|m| m.from_bot),
        "last_date": last.and_then(|m| m.json.get("date")).cloned(),
        "violations": violations,
    });
    if let Some(map) = summary.as_object_mut() {
        if chat_id > 0 {
            let relation = bot.relation(chat_id);
            map.insert("started".into(), json!(relation.started));
            map.insert("blocked".into(), json!(relation.blocked));
        } else if let Some(group) = world.groups.get(&chat_id) {
            map.insert("bot_member".into(), json!(group.bots.get(&bot.id) == Some(&BotMembership::Member)));
            map.insert("migrated_to".into(), json!(group.migrated_to));
        }
    }
    summary
}

pub(super) fn overview(sandbox: &Arc<Sandbox>) -> ControlResult {
    let world = sandbox.world();
    let bots: Vec<Value> = world
        .bots
        .values()
        .map(|bot| {
            let mut chats: Vec<Value> =
                chat_ids(&world, bot).into_iter().map(|id| chat_summary(&world, bot, id)).collect();
            // Newest conversation first, as Telegram lists them.
            chats.sort_by_key(|c| std::cmp::Reverse(c["last_date"].as_i64().unwrap_or(0)));
            let mut view = bot_view(bot);
            if let Some(map) = view.as_object_mut() {
                let violations = world.violations.iter().filter(|v| v.bot_username == bot.username).count();
                map.insert("violations".into(), json!(violations));
                map.insert("last_delivery_ok".into(), json!(bot.deliveries.iter().next_back().map(|d| d.ok)));
                map.insert("chats".into(), Value::Array(chats));
            }
            view
        })
        .collect();
    let users: Vec<Value> = world.users.values().map(|u| u.to_json()).collect();
    let groups: Vec<Value> = world
        .groups
        .values()
        .map(|group| {
            let bots: Vec<&str> =
                group.member_bots().iter().filter_map(|id| world.bots.get(id).map(|b| b.username.as_str())).collect();
            json!({
                "chat_id": group.id,
                "title": group.title,
                "type": group.kind.as_str(),
                "members": group.members,
                "bots": bots,
                "migrated_to": group.migrated_to,
            })
        })
        .collect();
    Ok((200, json!({"bots": bots, "users": users, "groups": groups})))
}
