//! Groups through the control API: create basic groups and supergroups, add
//! a bot (as a `?startgroup=` link does), write in the group, remove the bot,
//! and upgrade a basic group to a supergroup.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{err, find_bot_id, member_status, opt_str, req_str, valid_start_payload, ControlError, ControlResult};
use crate::bot_api::entities::{leading_bot_command, utf16_len};
use crate::state::{
    group_anonymous_bot_json, now_unix, BotMembership, Group, GroupKind, Sandbox, StoredMessage, User, World,
};

/// Longest group title Telegram accepts.
const MAX_TITLE_LEN: usize = 128;

fn parse_chat_id(raw: &str) -> Result<i64, ControlError> {
    raw.parse::<i64>().map_err(|_| err(400, "chat_id must be an integer"))
}

fn find_group(world: &World, chat_id: i64) -> Result<&Group, ControlError> {
    world.groups.get(&chat_id).ok_or_else(|| err(404, format!("group {chat_id} not found")))
}

/// A group that can still be acted in (not upgraded away).
fn active_group(world: &World, chat_id: i64) -> Result<Group, ControlError> {
    let group = find_group(world, chat_id)?;
    if let Some(new_chat_id) = group.migrated_to {
        return Err(err(409, format!("group {chat_id} was upgraded to supergroup {new_chat_id}")));
    }
    Ok(group.clone())
}

fn opt_user_id(body: &Value, key: &str) -> Result<Option<i64>, ControlError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| err(400, format!("\"{key}\" must be an integer"))),
    }
}

/// The member acting: `from_user_id` if given (must be a member), else the first member.
fn acting_member(world: &World, group: &Group, body: &Value) -> Result<User, ControlError> {
    let user_id = match opt_user_id(body, "from_user_id")? {
        Some(id) => {
            if !world.users.contains_key(&id) {
                return Err(err(404, format!("user {id} not found")));
            }
            if !group.members.contains(&id) {
                return Err(err(409, format!("user {id} is not a member of group {}", group.id)));
            }
            id
        }
        None => *group.members.first().ok_or_else(|| err(409, format!("group {} has no members", group.id)))?,
    };
    world.users.get(&user_id).cloned().ok_or_else(|| err(404, format!("user {user_id} not found")))
}

/// Stores a group message in a bot's view of the chat and queues its update.
fn deliver(world: &mut World, bot_id: i64, chat_id: i64, message: Value) -> Option<i64> {
    let bot = world.bots.get_mut(&bot_id)?;
    let message_id = message.get("message_id").and_then(Value::as_i64).unwrap_or_default();
    let mut stored = message.clone();
    let reply_to = stored
        .as_object_mut()
        .and_then(|map| map.remove("reply_to_message"))
        .and_then(|replied| replied.get("message_id").and_then(Value::as_i64));
    bot.store_message(chat_id, message_id, StoredMessage { json: stored, from_bot: false, reply_to });
    Some(bot.push_update("message", message))
}

/// A message of a user in a group, with the bot_command entity when it starts with one.
fn user_message_json(message_id: i64, user: &User, chat: Value, text: &str) -> Value {
    let mut message = json!({
        "message_id": message_id,
        "from": user.to_json(),
        "chat": chat,
        "date": now_unix(),
        "text": text,
    });
    if let (Some(map), Some(command)) = (message.as_object_mut(), leading_bot_command(text)) {
        map.insert("entities".into(), json!([command.to_json()]));
    }
    message
}

pub(super) fn create_group(sandbox: &Arc<Sandbox>, body: &Value) -> ControlResult {
    let title = req_str(body, "title")?;
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE_LEN {
        return Err(err(400, format!("title must be 1-{MAX_TITLE_LEN} characters")));
    }
    let kind = match opt_str(body, "kind")? {
        None => GroupKind::Group,
        Some(raw) => GroupKind::parse(&raw).ok_or_else(|| err(400, "\"kind\" must be \"group\" or \"supergroup\""))?,
    };
    let all_admins = match body.get("all_members_are_administrators") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(err(400, "\"all_members_are_administrators\" must be a boolean")),
    };
    let raw_members = match body.get("members") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(err(400, "\"members\" must be an array of user ids")),
    };
    let mut world = sandbox.world();
    let mut members = Vec::with_capacity(raw_members.len());
    for item in raw_members {
        let id = item.as_i64().ok_or_else(|| err(400, "\"members\" must be an array of user ids"))?;
        if !world.users.contains_key(&id) {
            return Err(err(404, format!("user {id} not found")));
        }
        if members.contains(&id) {
            return Err(err(400, format!("user {id} is listed twice")));
        }
        members.push(id);
    }
    let chat_id = world.create_group(title.clone(), kind, members);
    if let Some(group) = world.groups.get_mut(&chat_id) {
        group.all_members_are_administrators = all_admins;
    }
    tracing::info!(chat_id, kind = kind.as_str(), "group created");
    Ok((201, json!({"chat_id": chat_id, "type": kind.as_str(), "title": title})))
}

pub(super) fn group_view(sandbox: &Arc<Sandbox>, chat_id: &str) -> ControlResult {
    let chat_id = parse_chat_id(chat_id)?;
    let world = sandbox.world();
    let group = find_group(&world, chat_id)?;
    let mut bots = serde_json::Map::new();
    for (bot_id, membership) in &group.bots {
        if let Some(bot) = world.bots.get(bot_id) {
            let status = match membership {
                BotMembership::Member => "member",
                BotMembership::Kicked => "kicked",
            };
            bots.insert(bot.username.clone(), json!(status));
        }
    }
    Ok((
        200,
        json!({
            "chat": group.chat_json(),
            "members": group.members,
            "bots": bots,
            "migrated_to_chat_id": group.migrated_to,
        }),
    ))
}

/// `POST /sandbox/groups/{chat_id}/bots`: a member adds the bot, as after
/// opening `https://t.me/<bot>?startgroup=<payload>` and picking the group.
pub(super) fn add_bot(sandbox: &Arc<Sandbox>, chat_id: &str, body: &Value) -> ControlResult {
    let chat_id = parse_chat_id(chat_id)?;
    let bot_username = req_str(body, "bot_username")?;
    let payload = opt_str(body, "start_payload")?.filter(|p| !p.is_empty());
    if payload.as_deref().is_some_and(|p| !valid_start_payload(p)) {
        return Err(err(400, "start payload must be 1-64 of A-Z, a-z, 0-9, _ and - (as in t.me links)"));
    }
    let mut world = sandbox.world();
    let group = active_group(&world, chat_id)?;
    let bot_id = find_bot_id(&world, &bot_username)?;
    if group.has_bot(bot_id) {
        return Err(err(
            409,
            format!("bot @{} is already a member of group {chat_id}", bot_username.trim_start_matches('@')),
        ));
    }
    let user = acting_member(&world, &group, body)?;
    let chat = group.chat_json();
    let was_banned = group.kind == GroupKind::Supergroup && group.bots.get(&bot_id) == Some(&BotMembership::Kicked);
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let bot_user = bot.user_json();
    let canonical_name = bot.username.clone();
    let mut update_ids = Vec::new();
    update_ids.push(bot.push_update(
        "my_chat_member",
        json!({
            "chat": chat,
            "from": user.to_json(),
            "date": now_unix(),
            "old_chat_member": member_status(bot, if was_banned { "kicked" } else { "left" }),
            "new_chat_member": member_status(bot, "member"),
        }),
    ));
    let Some(group) = world.groups.get_mut(&chat_id) else {
        return Err(err(404, format!("group {chat_id} not found")));
    };
    group.bots.insert(bot_id, BotMembership::Member);
    let recipients = group.member_bots();
    let joined_id = group.next_message_id();
    let start_id = payload.as_ref().map(|_| group.next_message_id());

    // Every bot in the group sees the service message about the new member.
    let joined = json!({
        "message_id": joined_id,
        "from": user.to_json(),
        "chat": chat,
        "date": now_unix(),
        "new_chat_participant": bot_user,
        "new_chat_member": bot_user,
        "new_chat_members": [bot_user],
    });
    for recipient in recipients {
        let update_id = deliver(&mut world, recipient, chat_id, joined.clone());
        if recipient == bot_id {
            update_ids.extend(update_id);
        }
    }
    if let (Some(payload), Some(start_id)) = (&payload, start_id) {
        let text = format!("/start@{canonical_name} {payload}");
        let message = user_message_json(start_id, &user, chat.clone(), &text);
        update_ids.extend(deliver(&mut world, bot_id, chat_id, message));
    }
    tracing::info!(chat_id, bot = %canonical_name, "bot added to group");
    Ok((200, json!({"update_ids": update_ids, "message_id": start_id})))
}

/// `POST /sandbox/groups/{chat_id}/messages`: a member writes in the group;
/// every member bot (or only `bot_username`) receives it.
pub(super) fn group_message(sandbox: &Arc<Sandbox>, chat_id: &str, body: &Value) -> ControlResult {
    let chat_id = parse_chat_id(chat_id)?;
    let text = req_str(body, "text")?;
    if utf16_len(&text) > 4096 {
        return Err(err(400, "text is longer than 4096 UTF-16 code units"));
    }
    if opt_user_id(body, "from_user_id")?.is_none() {
        return Err(err(400, "\"from_user_id\" is required"));
    }
    let reply_to_id = opt_user_id(body, "reply_to_message_id")?;
    let mut world = sandbox.world();
    let group = active_group(&world, chat_id)?;
    let user = acting_member(&world, &group, body)?;
    let recipients = match opt_str(body, "bot_username")?.filter(|b| !b.is_empty()) {
        Some(name) => {
            let bot_id = find_bot_id(&world, &name)?;
            if !group.has_bot(bot_id) {
                return Err(err(
                    409,
                    format!("bot @{} is not a member of group {chat_id}", name.trim_start_matches('@')),
                ));
            }
            vec![bot_id]
        }
        None => group.member_bots(),
    };
    let reply_to = match reply_to_id {
        Some(id) => Some(
            recipients
                .first()
                .and_then(|bot_id| world.bots.get(bot_id))
                .and_then(|bot| bot.message(chat_id, id))
                .map(|m| m.json.clone())
                .ok_or_else(|| err(400, format!("message {id} not found in this chat")))?,
        ),
        None => None,
    };
    let Some(group) = world.groups.get_mut(&chat_id) else {
        return Err(err(404, format!("group {chat_id} not found")));
    };
    let message_id = group.next_message_id();
    let mut message = user_message_json(message_id, &user, group.chat_json(), &text);
    if let (Some(map), Some(reply_to)) = (message.as_object_mut(), reply_to) {
        map.insert("reply_to_message".into(), reply_to);
    }
    let update_ids: Vec<i64> =
        recipients.into_iter().filter_map(|bot_id| deliver(&mut world, bot_id, chat_id, message.clone())).collect();
    Ok((200, json!({"message_id": message_id, "update_ids": update_ids})))
}

/// `POST /sandbox/groups/{chat_id}/bots/{bot}/remove`: a member removes the bot.
pub(super) fn remove_bot(sandbox: &Arc<Sandbox>, chat_id: &str, bot_username: &str, body: &Value) -> ControlResult {
    let chat_id = parse_chat_id(chat_id)?;
    let mut world = sandbox.world();
    let group = active_group(&world, chat_id)?;
    let bot_id = find_bot_id(&world, bot_username)?;
    if !group.has_bot(bot_id) {
        return Err(err(
            409,
            format!("bot @{} is not a member of group {chat_id}", bot_username.trim_start_matches('@')),
        ));
    }
    let user = acting_member(&world, &group, body)?;
    let chat = group.chat_json();
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let bot_user = bot.user_json();
    // A basic group has no ban list: the removed bot shows as "left" there.
    let new_status = match group.kind {
        GroupKind::Group => "left",
        GroupKind::Supergroup => "kicked",
    };
    let mut update_ids = vec![bot.push_update(
        "my_chat_member",
        json!({
            "chat": chat,
            "from": user.to_json(),
            "date": now_unix(),
            "old_chat_member": member_status(bot, "member"),
            "new_chat_member": member_status(bot, new_status),
        }),
    )];
    let Some(group) = world.groups.get_mut(&chat_id) else {
        return Err(err(404, format!("group {chat_id} not found")));
    };
    group.bots.insert(bot_id, BotMembership::Kicked);
    let mut recipients = group.member_bots();
    if group.kind == GroupKind::Group {
        // In basic groups the removed bot still gets the service message.
        recipients.push(bot_id);
    }
    let message_id = group.next_message_id();
    let left = json!({
        "message_id": message_id,
        "from": user.to_json(),
        "chat": chat,
        "date": now_unix(),
        "left_chat_participant": bot_user,
        "left_chat_member": bot_user,
    });
    for recipient in recipients {
        let update_id = deliver(&mut world, recipient, chat_id, left.clone());
        if recipient == bot_id {
            update_ids.extend(update_id);
        }
    }
    Ok((200, json!({ "update_ids": update_ids })))
}

/// `POST /sandbox/groups/{chat_id}/migrate`: a basic group becomes a
/// supergroup with a new id; member bots get both service messages.
pub(super) fn migrate(sandbox: &Arc<Sandbox>, chat_id: &str, body: &Value) -> ControlResult {
    let chat_id = parse_chat_id(chat_id)?;
    let mut world = sandbox.world();
    let old = active_group(&world, chat_id)?;
    if old.kind != GroupKind::Group {
        return Err(err(409, format!("group {chat_id} is already a supergroup")));
    }
    let user = acting_member(&world, &old, body)?;
    let new_chat_id = world.allocate_group_id(GroupKind::Supergroup);
    let mut new_group = Group::new(new_chat_id, old.title.clone(), GroupKind::Supergroup, old.members.clone());
    let bots = old.member_bots();
    for bot_id in &bots {
        new_group.bots.insert(*bot_id, BotMembership::Member);
    }
    let first_id = new_group.next_message_id();
    let new_chat = new_group.chat_json();
    world.groups.insert(new_chat_id, new_group);
    let Some(old_group) = world.groups.get_mut(&chat_id) else {
        return Err(err(404, format!("group {chat_id} not found")));
    };
    old_group.migrated_to = Some(new_chat_id);
    let last_old_id = old_group.next_message_id();

    let date = now_unix();
    let migrate_to = json!({
        "message_id": last_old_id,
        "from": user.to_json(),
        "chat": old.chat_json(),
        "date": date,
        "migrate_to_chat_id": new_chat_id,
    });
    let migrate_from = json!({
        "message_id": first_id,
        "from": group_anonymous_bot_json(),
        "sender_chat": new_chat,
        "chat": new_chat,
        "date": date,
        "migrate_from_chat_id": chat_id,
    });
    let mut update_ids = Vec::new();
    for bot_id in bots {
        update_ids.extend(deliver(&mut world, bot_id, chat_id, migrate_to.clone()));
        update_ids.extend(deliver(&mut world, bot_id, new_chat_id, migrate_from.clone()));
    }
    tracing::info!(chat_id, new_chat_id, "group upgraded to a supergroup");
    Ok((200, json!({"new_chat_id": new_chat_id, "update_ids": update_ids})))
}
