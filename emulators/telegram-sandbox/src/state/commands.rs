//! The bot's command lists, as set by `setMyCommands`: one list per
//! (scope, language code), the way Telegram keys them.

use std::collections::BTreeMap;

use serde_json::{json, Value};

/// A `BotCommandScope` reduced to what identifies it, so equal scopes sent
/// differently (e.g. `chat_id` as a number or a string) address the same list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CommandScope {
    Default,
    AllPrivateChats,
    AllGroupChats,
    AllChatAdministrators,
    Chat { chat_id: i64 },
    ChatAdministrators { chat_id: i64 },
    ChatMember { chat_id: i64, user_id: i64 },
}

impl CommandScope {
    /// The `BotCommandScope` object.
    pub fn to_json(self) -> Value {
        match self {
            CommandScope::Default => json!({"type": "default"}),
            CommandScope::AllPrivateChats => json!({"type": "all_private_chats"}),
            CommandScope::AllGroupChats => json!({"type": "all_group_chats"}),
            CommandScope::AllChatAdministrators => json!({"type": "all_chat_administrators"}),
            CommandScope::Chat { chat_id } => json!({"type": "chat", "chat_id": chat_id}),
            CommandScope::ChatAdministrators { chat_id } => json!({"type": "chat_administrators", "chat_id": chat_id}),
            CommandScope::ChatMember { chat_id, user_id } => {
                json!({"type": "chat_member", "chat_id": chat_id, "user_id": user_id})
            }
        }
    }
}

/// One `BotCommand`, as stored (trimmed, without a leading slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCommand {
    pub command: String,
    pub description: String,
}

impl BotCommand {
    /// The `BotCommand` object.
    pub fn to_json(&self) -> Value {
        json!({"command": self.command, "description": self.description})
    }
}

/// Command lists keyed by (scope, language code; "" for all languages).
/// An empty list is never stored: setting one deletes the entry.
pub type CommandLists = BTreeMap<(CommandScope, String), Vec<BotCommand>>;
