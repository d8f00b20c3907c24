//! The `scope` and `language_code` parameters of `setMyCommands`,
//! `getMyCommands` and `deleteMyCommands`: which command list a call is about.
//! Texts are those of the Bot API server (telegram-bot-api `Client.cpp`) and
//! TDLib (`BotCommandScope.cpp`, `validate_bot_language_code`).

use serde_json::Value;

use super::errors::ApiError;
use super::json_fields;
use super::methods::outgoing::{self, ChatTarget};
use super::params::Params;
use crate::state::{CommandScope, World};

fn scope_error(detail: impl AsRef<str>) -> ApiError {
    ApiError::bad_request(format!("can't parse BotCommandScope: {}", detail.as_ref()))
}

/// The scope as sent, its chat not checked yet; absent = `default`.
pub fn from_params(params: &Params) -> Result<CommandScope, ApiError> {
    let value = params.json("scope").map_err(|_| ApiError::bad_request("can't parse BotCommandScope JSON object"))?;
    let Some(value) = value else {
        return Ok(CommandScope::Default);
    };
    let Value::Object(object) = value else {
        return Err(scope_error("BotCommandScope must be an Object"));
    };
    let kind = json_fields::string(&object, "type").map_err(scope_error)?;
    match kind.as_str() {
        "default" => return Ok(CommandScope::Default),
        "all_private_chats" => return Ok(CommandScope::AllPrivateChats),
        "all_group_chats" => return Ok(CommandScope::AllGroupChats),
        "all_chat_administrators" => return Ok(CommandScope::AllChatAdministrators),
        "chat" | "chat_administrators" | "chat_member" => {}
        _ => return Err(scope_error("Unsupported type specified")),
    }
    let raw_chat_id = json_fields::string(&object, "chat_id").map_err(scope_error)?;
    if raw_chat_id.is_empty() {
        return Err(scope_error("Empty chat_id specified"));
    }
    // The server reads a non-numeric id (e.g. an @username, which no sandbox
    // chat has) as 0, which no chat has: it ends as "chat not found".
    let chat_id = raw_chat_id.parse::<i64>().unwrap_or(0);
    match kind.as_str() {
        "chat" => Ok(CommandScope::Chat { chat_id }),
        "chat_administrators" => Ok(CommandScope::ChatAdministrators { chat_id }),
        _ => {
            let user_id = json_fields::long(&object, "user_id").map_err(scope_error)?;
            if user_id <= 0 {
                return Err(scope_error("Invalid user_id specified"));
            }
            Ok(CommandScope::ChatMember { chat_id, user_id })
        }
    }
}

/// Checks the chat a chat-bound scope names: it must be a chat the bot
/// knows, and only `chat` applies to a private chat.
pub fn check_chat(world: &World, bot_id: i64, scope: CommandScope) -> Result<(), ApiError> {
    let (chat_id, private_allowed) = match scope {
        CommandScope::Chat { chat_id } => (chat_id, true),
        CommandScope::ChatAdministrators { chat_id } | CommandScope::ChatMember { chat_id, .. } => (chat_id, false),
        _ => return Ok(()),
    };
    let target = outgoing::resolve_chat(world, chat_id)?;
    match &target {
        ChatTarget::Private(_) if !private_allowed => {
            Err(ApiError::bad_request("can't use specified scope in private chats"))
        }
        ChatTarget::Private(_) => Ok(()),
        ChatTarget::Group { id, .. } => {
            // A group the bot was never in is unknown to it; one it was
            // removed from answers as a send there does.
            if !world.groups.get(id).is_some_and(|group| group.bots.contains_key(&bot_id)) {
                return Err(ApiError::bad_request("chat not found"));
            }
            outgoing::check_access(world, bot_id, &target)
        }
    }
}

/// `language_code`: empty (all languages) or two lowercase letters.
pub fn language_code(params: &Params) -> Result<String, ApiError> {
    let code = params.str("language_code").unwrap_or_default();
    if code.is_empty() || (code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())) {
        Ok(code)
    } else {
        Err(ApiError::bad_request("invalid language code specified"))
    }
}
