//! The control API under `/sandbox`: create bots (and revoke their tokens, as
//! BotFather's /revoke does), users and groups, act as users (start, write
//! text or send a photo or a document, block, press buttons, delete a message
//! of their chat, add bots to groups), inject faults, and inspect what the
//! bots did (sent messages, calls, callback answers with their latency,
//! command lists, limit violations, counters).
//!
//! `GET /sandbox/bots/{username}/sent` lists each message with its `kind`:
//! "text" (with `text`, `raw_text`), or the media field ("photo", "video",
//! "document", "audio", "animation", "voice") with `file_id`,
//! `file_unique_id`, `source` ("upload", "url" or "file_id"), `url`,
//! `caption`, `raw_caption` and, in albums, `media_group_id`. In
//! `/sandbox/calls` an uploaded file shows as `{"file_name", "file_size"}`
//! under its part name.
//!
//! For the page (`/`): `GET /sandbox/overview` (bots, their chats with
//! unread counts, users, groups), `GET /sandbox/bots/{username}/chats/{chat_id}`
//! (a conversation with the calls behind each message) and `POST .../read`,
//! `GET /sandbox/bots/{username}/deliveries` and `.../limits`, `POST
//! /sandbox/reset` (forget everything but the bots), `GET
//! /sandbox/files/{file_unique_id}` (an uploaded file's bytes), and `GET
//! /sandbox/events`, a server-sent event per change (served by the page module).
//!
//! `GET /sandbox/stats[?bot_username=]` counts, besides calls and messages,
//! `uploads` (file parts of multipart bodies received, whatever the call's
//! outcome) and their `upload_bytes`, and the media messages sent by how the
//! file was given: `media_by_upload`, `media_by_url`, `media_by_file_id`.

mod bot_status;
mod commands;
mod conversation;
mod faults;
mod files;
mod groups;
mod media;
mod overview;

use std::collections::HashMap;
use std::sync::Arc;

use rand::Rng;
use serde_json::{json, Map, Value};
use warp::http::{header, Method, Response, StatusCode};
use warp::hyper::Body;

use crate::bot_api::entities::{leading_bot_command, utf16_len};
use crate::state::{
    now_stamp, now_unix, Bot, CallbackQueryState, CreateBotError, Relation, Sandbox, StoredMessage, User, World,
};

/// A control API failure: `{"error": message}` with a 4xx status.
#[derive(Debug)]
pub struct ControlError {
    status: u16,
    message: String,
}

fn err(status: u16, message: impl Into<String>) -> ControlError {
    ControlError { status, message: message.into() }
}

type ControlResult = Result<(u16, Value), ControlError>;

fn json_response(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::from("{}")))
}

/// Handles a request whose path starts with `/sandbox`.
pub fn handle(sandbox: Arc<Sandbox>, method: &Method, path: &str, query: &str, body: &[u8]) -> Response<Body> {
    let segments: Vec<&str> = path.trim_start_matches("/sandbox").split('/').filter(|s| !s.is_empty()).collect();
    if let (&Method::GET, ["files", file_unique_id]) = (method, segments.as_slice()) {
        return files::serve(&sandbox, file_unique_id);
    }
    let query: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap_or_default();
    let result = route(&sandbox, method, &segments, &query, body);
    if method != Method::GET {
        // Refused actions too: the page shows what was tried.
        sandbox.publish(json!({"type": "control", "path": path}));
    }
    match result {
        Ok((status, value)) => json_response(status, &value),
        Err(error) => json_response(error.status, &json!({ "error": error.message })),
    }
}

fn body_json(body: &[u8]) -> Result<Value, ControlError> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(json!({}));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| err(400, format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(err(400, "the body must be a JSON object"));
    }
    Ok(value)
}

fn opt_str(body: &Value, key: &str) -> Result<Option<String>, ControlError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(err(400, format!("\"{key}\" must be a string"))),
    }
}

fn req_str(body: &Value, key: &str) -> Result<String, ControlError> {
    opt_str(body, key)?.filter(|s| !s.is_empty()).ok_or_else(|| err(400, format!("\"{key}\" is required")))
}

fn route(
    sandbox: &Arc<Sandbox>,
    method: &Method,
    segments: &[&str],
    query: &HashMap<String, String>,
    body: &[u8],
) -> ControlResult {
    match (method.as_str(), segments) {
        ("GET", ["health"]) => Ok((200, json!({"ok": true}))),
        ("GET", ["overview"]) => overview::overview(sandbox),
        ("POST", ["reset"]) => {
            sandbox.reset();
            tracing::info!("sandbox reset");
            Ok((200, json!({"reset": true})))
        }
        ("GET", ["bots", username, "chats", chat_id]) => conversation::conversation(sandbox, username, chat_id),
        ("POST", ["bots", username, "chats", chat_id, "read"]) => {
            conversation::mark_read(sandbox, username, chat_id, &body_json(body)?)
        }
        ("GET", ["bots", username, "deliveries"]) => bot_status::deliveries(sandbox, username),
        ("GET", ["bots", username, "limits"]) => bot_status::limits(sandbox, username),
        ("POST", ["bots"]) => create_bot(sandbox, &body_json(body)?),
        ("GET", ["bots"]) => {
            let world = sandbox.world();
            let bots: Vec<Value> = world.bots.values().map(bot_view).collect();
            Ok((200, Value::Array(bots)))
        }
        ("GET", ["bots", username]) => {
            let world = sandbox.world();
            Ok((200, bot_view(find_bot(&world, username)?)))
        }
        ("GET", ["bots", username, "sent"]) => sent(sandbox, username, query),
        ("POST", ["bots", username, "revoke"]) => {
            // BotFather's /revoke: the old token answers 401 from now on.
            let mut world = sandbox.world();
            let id = find_bot_id(&world, username)?;
            let token = world.bots.get_mut(&id).map(|bot| bot.revoke_token()).unwrap_or_default();
            Ok((200, json!({"token": token})))
        }
        ("GET", ["bots", username, "updates"]) => {
            let world = sandbox.world();
            let bot = find_bot(&world, username)?;
            Ok((200, Value::Array(bot.updates.iter().map(|u| u.to_json()).collect())))
        }
        ("GET", ["bots", username, "commands"]) => commands::list(sandbox, username),
        ("GET", ["bots", username, "callback_answers"]) => {
            let world = sandbox.world();
            Ok((200, Value::Array(find_bot(&world, username)?.callback_answers.clone())))
        }
        ("POST", ["bots", username, "faults"]) => faults::add_fault(sandbox, username, &body_json(body)?),
        ("GET", ["bots", username, "faults"]) => faults::list_faults(sandbox, username),
        ("DELETE", ["bots", username, "faults"]) => faults::clear_faults(sandbox, username),
        ("GET", ["stats"]) => faults::stats(sandbox, query),
        ("POST", ["groups"]) => groups::create_group(sandbox, &body_json(body)?),
        ("GET", ["groups", chat_id]) => groups::group_view(sandbox, chat_id),
        ("POST", ["groups", chat_id, "bots"]) => groups::add_bot(sandbox, chat_id, &body_json(body)?),
        ("POST", ["groups", chat_id, "bots", username, "remove"]) => {
            groups::remove_bot(sandbox, chat_id, username, &body_json(body)?)
        }
        ("POST", ["groups", chat_id, "messages"]) => groups::group_message(sandbox, chat_id, &body_json(body)?),
        ("POST", ["groups", chat_id, "migrate"]) => groups::migrate(sandbox, chat_id, &body_json(body)?),
        ("POST", ["users"]) => create_user(sandbox, &body_json(body)?),
        ("GET", ["users", user_id]) => {
            let world = sandbox.world();
            let user = find_user(&world, user_id)?;
            Ok((200, serde_json::to_value(user).unwrap_or(Value::Null)))
        }
        ("POST", ["users", user_id, "start"]) => start(sandbox, user_id, &body_json(body)?),
        ("POST", ["users", user_id, "messages"]) => user_message(sandbox, user_id, &body_json(body)?),
        ("POST", ["users", user_id, "block"]) => set_blocked(sandbox, user_id, &body_json(body)?, true),
        ("POST", ["users", user_id, "unblock"]) => set_blocked(sandbox, user_id, &body_json(body)?, false),
        ("POST", ["users", user_id, "callbacks"]) => press_button(sandbox, user_id, &body_json(body)?),
        ("POST", ["users", user_id, "delete_message"]) => delete_message(sandbox, user_id, &body_json(body)?),
        ("GET", ["calls"]) => calls(sandbox, query),
        ("GET", ["violations"]) => {
            let world = sandbox.world();
            Ok((200, serde_json::to_value(&world.violations).unwrap_or(Value::Null)))
        }
        _ => Err(err(404, "not found")),
    }
}

fn bot_view(bot: &Bot) -> Value {
    let mut webhook = json!({
        "url": bot.webhook.as_ref().map(|h| h.url.clone()).unwrap_or_default(),
        "has_secret": bot.webhook.as_ref().is_some_and(|h| h.secret.is_some()),
        "pending_update_count": bot.updates.iter().filter(|u| bot.allows(u.kind)).count(),
    });
    if let (Some(map), Some((date, message))) = (webhook.as_object_mut(), &bot.webhook_error) {
        map.insert("last_error_date".into(), json!(date));
        map.insert("last_error_message".into(), json!(message));
    }
    json!({
        "id": bot.id,
        "username": bot.username,
        "first_name": bot.first_name,
        "webhook": webhook,
    })
}

fn find_bot<'w>(world: &'w World, username: &str) -> Result<&'w Bot, ControlError> {
    world
        .bot_id_by_username(username)
        .and_then(|id| world.bots.get(&id))
        .ok_or_else(|| err(404, format!("bot @{} not found", username.trim_start_matches('@'))))
}

fn find_bot_id(world: &World, username: &str) -> Result<i64, ControlError> {
    find_bot(world, username).map(|b| b.id)
}

fn find_user<'w>(world: &'w World, user_id: &str) -> Result<&'w User, ControlError> {
    user_id
        .parse::<i64>()
        .ok()
        .and_then(|id| world.users.get(&id))
        .ok_or_else(|| err(404, format!("user {user_id} not found")))
}

fn create_bot(sandbox: &Arc<Sandbox>, body: &Value) -> ControlResult {
    let username = req_str(body, "username")?;
    let username = username.trim_start_matches('@').to_string();
    let first_name = opt_str(body, "first_name")?.unwrap_or_default();
    match sandbox.create_bot(None, &username, &first_name) {
        Ok(info) => {
            tracing::info!(bot = %info.username, "bot created");
            Ok((201, json!({"id": info.id, "token": info.token, "username": info.username})))
        }
        Err(CreateBotError::Invalid(message)) => Err(err(400, message)),
        Err(CreateBotError::Conflict(message)) => Err(err(409, message)),
    }
}

fn valid_username(name: &str) -> bool {
    (5..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.as_bytes()[0].is_ascii_alphabetic()
}

fn create_user(sandbox: &Arc<Sandbox>, body: &Value) -> ControlResult {
    let first_name = req_str(body, "first_name")?;
    if first_name.chars().count() > 64 {
        return Err(err(400, "first_name must be at most 64 characters"));
    }
    let last_name = opt_str(body, "last_name")?.filter(|s| !s.is_empty());
    let username = opt_str(body, "username")?.map(|u| u.trim_start_matches('@').to_string()).filter(|s| !s.is_empty());
    if let Some(name) = &username {
        if !valid_username(name) {
            return Err(err(400, "username must be 5-32 of A-Z, a-z, 0-9 and _ starting with a letter"));
        }
    }
    let language_code = opt_str(body, "language_code")?.filter(|s| !s.is_empty());
    let mut world = sandbox.world();
    if let Some(name) = &username {
        let taken = world.users.values().any(|u| u.username.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(name)))
            || world.bot_id_by_username(name).is_some();
        if taken {
            return Err(err(409, format!("username @{name} is taken")));
        }
    }
    let id = world.next_user_id;
    world.next_user_id += 1;
    world.users.insert(id, User { id, first_name, last_name, username, language_code });
    Ok((201, json!({ "user_id": id })))
}

fn member_status(bot: &Bot, status: &str) -> Value {
    let mut member = json!({"user": bot.user_json(), "status": status});
    if status == "kicked" {
        if let Some(map) = member.as_object_mut() {
            map.insert("until_date".into(), json!(0));
        }
    }
    member
}

fn push_my_chat_member(bot: &mut Bot, user: &User, old: &str, new: &str) -> i64 {
    let payload = json!({
        "chat": user.private_chat_json(),
        "from": user.to_json(),
        "date": now_unix(),
        "old_chat_member": member_status(bot, old),
        "new_chat_member": member_status(bot, new),
    });
    bot.push_update("my_chat_member", payload)
}

/// The fields of a text message: `text`, with the bot_command entity when it starts with one.
fn text_fields(text: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("text".into(), json!(text));
    if let Some(command) = leading_bot_command(text) {
        fields.insert("entities".into(), json!([command.to_json()]));
    }
    fields
}

/// Stores a message the user wrote (`content`: its text, or its file and
/// caption) and queues its update.
fn push_user_message(bot: &mut Bot, user: &User, content: Map<String, Value>, reply_to: Option<Value>) -> (i64, i64) {
    let message_id = bot.next_message_id(user.id);
    let mut message = json!({
        "message_id": message_id,
        "from": user.to_json(),
        "chat": user.private_chat_json(),
        "date": now_unix(),
    });
    if let Some(map) = message.as_object_mut() {
        if let Some(reply_to) = reply_to {
            map.insert("reply_to_message".into(), reply_to);
        }
        map.extend(content);
    }
    let mut stored = message.clone();
    let reply_to = stored
        .as_object_mut()
        .and_then(|map| map.remove("reply_to_message"))
        .and_then(|replied| replied.get("message_id").and_then(Value::as_i64));
    bot.store_message(user.id, message_id, StoredMessage { json: stored, from_bot: false, reply_to });
    let update_id = bot.push_update("message", message);
    (update_id, message_id)
}

/// Deep-link payloads (`?start=`, `?startgroup=`): 1-64 of A-Z, a-z, 0-9, _ and -.
fn valid_start_payload(payload: &str) -> bool {
    (1..=64).contains(&payload.len()) && payload.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn start(sandbox: &Arc<Sandbox>, user_id: &str, body: &Value) -> ControlResult {
    let bot_username = req_str(body, "bot_username")?;
    let payload = opt_str(body, "payload")?.filter(|p| !p.is_empty());
    if payload.as_deref().is_some_and(|p| !valid_start_payload(p)) {
        return Err(err(400, "start payload must be 1-64 of A-Z, a-z, 0-9, _ and - (as in t.me links)"));
    }
    let mut world = sandbox.world();
    let user = find_user(&world, user_id)?.clone();
    let bot_id = find_bot_id(&world, &bot_username)?;
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let relation = bot.relation(user.id);
    let mut my_chat_member_update_id = None;
    if relation.blocked {
        my_chat_member_update_id = Some(push_my_chat_member(bot, &user, "kicked", "member"));
    }
    bot.relations.insert(user.id, Relation { started: true, blocked: false });
    let text = match &payload {
        Some(payload) => format!("/start {payload}"),
        None => "/start".to_string(),
    };
    let (update_id, message_id) = push_user_message(bot, &user, text_fields(&text), None);
    Ok((
        200,
        json!({
            "update_id": update_id,
            "message_id": message_id,
            "my_chat_member_update_id": my_chat_member_update_id,
        }),
    ))
}

/// What a user's message carries.
enum Content {
    Text(String),
    Media(media::Media),
}

/// `POST /sandbox/users/{user_id}/messages`: the user writes to the bot in
/// their private chat, either `text` or a `photo` / `document` with an
/// optional `caption`.
fn user_message(sandbox: &Arc<Sandbox>, user_id: &str, body: &Value) -> ControlResult {
    let bot_username = req_str(body, "bot_username")?;
    let content = match media::parse(body)? {
        Some(media) => Content::Media(media),
        None => {
            let text = opt_str(body, "text")?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| err(400, "\"text\" is required, or else a \"photo\" or a \"document\""))?;
            if utf16_len(&text) > 4096 {
                return Err(err(400, "text is longer than 4096 UTF-16 code units"));
            }
            Content::Text(text)
        }
    };
    let reply_to_id = match body.get("reply_to_message_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_i64().ok_or_else(|| err(400, "\"reply_to_message_id\" must be an integer"))?),
    };
    let mut world = sandbox.world();
    let user = find_user(&world, user_id)?.clone();
    let bot_id = find_bot_id(&world, &bot_username)?;
    // Reborrowed so the bot and the file store can be used at once.
    let world = &mut *world;
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let relation = bot.relation(user.id);
    if !relation.started {
        return Err(err(409, "user has not started this bot"));
    }
    if relation.blocked {
        return Err(err(409, "user has blocked this bot"));
    }
    let reply_to = match reply_to_id {
        Some(id) => Some(
            bot.message(user.id, id)
                .map(|m| m.json.clone())
                .ok_or_else(|| err(400, format!("message {id} not found in this chat")))?,
        ),
        None => None,
    };
    // Files are remembered only once the message is accepted.
    let fields = match content {
        Content::Text(text) => text_fields(&text),
        Content::Media(media) => media.into_fields(&mut world.files, bot_id),
    };
    let (update_id, message_id) = push_user_message(bot, &user, fields, reply_to);
    Ok((200, json!({"update_id": update_id, "message_id": message_id})))
}

fn set_blocked(sandbox: &Arc<Sandbox>, user_id: &str, body: &Value, block: bool) -> ControlResult {
    let bot_username = req_str(body, "bot_username")?;
    let mut world = sandbox.world();
    let user = find_user(&world, user_id)?.clone();
    let bot_id = find_bot_id(&world, &bot_username)?;
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let relation = bot.relation(user.id);
    if relation.blocked == block {
        return Err(err(
            409,
            if block { "user has already blocked this bot" } else { "user has not blocked this bot" },
        ));
    }
    bot.relations.insert(user.id, Relation { blocked: block, ..relation });
    // `"notify_bot": false` models the update lost (the bot's webhook was
    // down for longer than Telegram keeps updates): the bot finds out later.
    let notify = body.get("notify_bot").and_then(Value::as_bool).unwrap_or(true);
    let update_id = if relation.started && notify {
        let (old, new) = if block { ("member", "kicked") } else { ("kicked", "member") };
        Some(push_my_chat_member(bot, &user, old, new))
    } else {
        None
    };
    Ok((200, json!({ "update_id": update_id })))
}

fn keyboard_has_data(markup: &Value, data: &str) -> bool {
    markup
        .get("inline_keyboard")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .any(|button| button.get("callback_data").and_then(Value::as_str) == Some(data))
}

fn press_button(sandbox: &Arc<Sandbox>, user_id: &str, body: &Value) -> ControlResult {
    let bot_username = req_str(body, "bot_username")?;
    let data = req_str(body, "callback_data")?;
    let message_id =
        body.get("message_id").and_then(Value::as_i64).ok_or_else(|| err(400, "\"message_id\" is required"))?;
    let mut world = sandbox.world();
    let user = find_user(&world, user_id)?.clone();
    let bot_id = find_bot_id(&world, &bot_username)?;
    // A group's message: any member may press its buttons, while the bot is in the group.
    let chat_id = match body.get("chat_id").and_then(Value::as_i64) {
        Some(chat_id) if chat_id != user.id => {
            let group = world.groups.get(&chat_id).ok_or_else(|| err(404, format!("group {chat_id} not found")))?;
            if !group.members.contains(&user.id) {
                return Err(err(409, "user is not a member of this group"));
            }
            if !group.has_bot(bot_id) {
                return Err(err(409, "the bot is not in this group"));
            }
            chat_id
        }
        _ => user.id,
    };
    let Some(bot) = world.bots.get_mut(&bot_id) else {
        return Err(err(404, "bot not found"));
    };
    let relation = bot.relation(user.id);
    if chat_id == user.id && (!relation.started || relation.blocked) {
        return Err(err(409, "user has not started this bot or blocked it"));
    }
    let message = bot
        .message(chat_id, message_id)
        .filter(|m| m.from_bot)
        .map(|m| m.json.clone())
        .ok_or_else(|| err(404, format!("bot message {message_id} not found in this chat")))?;
    let has_button = message.get("reply_markup").is_some_and(|markup| keyboard_has_data(markup, &data));
    if !has_button {
        return Err(err(400, "that message has no inline button with this callback_data"));
    }
    let query_id = rand::thread_rng().gen_range(1_000_000_000_000_000_000_u64..u64::MAX).to_string();
    let pressed = CallbackQueryState {
        user_id: user.id,
        chat_id,
        message_id,
        answered: false,
        pressed: std::time::Instant::now(),
        pressed_at_ms: now_stamp().1,
    };
    bot.callback_queries.insert(query_id.clone(), pressed);
    let payload = json!({
        "id": query_id,
        "from": user.to_json(),
        "message": message,
        "chat_instance": format!("{}", (bot.id ^ user.id).unsigned_abs()),
        "data": data,
    });
    let update_id = bot.push_update("callback_query", payload);
    Ok((200, json!({"update_id": update_id, "callback_query_id": query_id})))
}

/// The user deletes a message of their private chat with the bot, for both
/// sides (as Telegram lets them); the bot is not told, and an edit of it then
/// fails with "message to edit not found".
fn delete_message(sandbox: &Arc<Sandbox>, user_id: &str, body: &Value) -> ControlResult {
    let bot_username = req_str(body, "bot_username")?;
    let message_id =
        body.get("message_id").and_then(Value::as_i64).ok_or_else(|| err(400, "\"message_id\" is required"))?;
    let mut world = sandbox.world();
    let user = find_user(&world, user_id)?.id;
    let bot_id = find_bot_id(&world, &bot_username)?;
    let bot = world.bots.get_mut(&bot_id).ok_or_else(|| err(404, "bot not found"))?;
    let removed = bot.chats.get_mut(&user).and_then(|log| log.messages.remove(&message_id));
    match removed {
        Some(_) => Ok((200, json!({"deleted": true}))),
        None => Err(err(404, format!("message {message_id} not found in this chat"))),
    }
}

fn sent(sandbox: &Arc<Sandbox>, username: &str, query: &HashMap<String, String>) -> ControlResult {
    let chat_filter = match query.get("chat_id") {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| err(400, "chat_id must be an integer"))?),
    };
    let world = sandbox.world();
    let bot = find_bot(&world, username)?;
    let records: Vec<Value> = bot
        .sent
        .iter()
        .filter(|r| chat_filter.is_none_or(|c| c == r.chat_id))
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    Ok((200, Value::Array(records)))
}

/// The `chat_id` a call was made for, whether sent as a number or a string.
fn call_chat_id(params: &Value) -> Option<i64> {
    match params.get("chat_id")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn calls(sandbox: &Arc<Sandbox>, query: &HashMap<String, String>) -> ControlResult {
    let bot_filter = query.get("bot_username").map(|b| b.trim_start_matches('@').to_string());
    let method_filter = query.get("method");
    let chat_filter = match query.get("chat_id") {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| err(400, "chat_id must be an integer"))?),
    };
    let world = sandbox.world();
    let records: Vec<Value> = world
        .calls
        .iter()
        .filter(|c| {
            bot_filter
                .as_ref()
                .is_none_or(|wanted| c.bot_username.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(wanted)))
        })
        .filter(|c| method_filter.is_none_or(|m| c.method.eq_ignore_ascii_case(m)))
        .filter(|c| chat_filter.is_none_or(|wanted| call_chat_id(&c.params) == Some(wanted)))
        .filter_map(|c| serde_json::to_value(c).ok())
        .collect();
    Ok((200, Value::Array(records)))
}
