//! The service's own replies in the chat, sent as system sends
//! (`novij_runtime::system_send`).

use novij_bus::AppendError;
use novij_events::EventMeta;
use novij_runtime::system_send::{self, SystemSend};
use novij_runtime::{derive, Runtime};

pub const WELCOME: &str = "✅ Connected. Notifications will arrive in this chat. Send /stop to disconnect.";
pub const INVALID_CODE: &str = "This link is not valid. Ask for a new one.";
pub const EXPIRED_CODE: &str = "This link has expired. Ask for a new one.";
pub const USED_CODE: &str = "This link has already been used.";
pub const NO_CODE: &str = "Open the connect link you were given to receive notifications here.";
pub const STOPPED: &str = "Disconnected. You will not receive notifications here until you connect again.";
pub const NOT_CONNECTED: &str = "This chat is not connected.";

/// In Russian for a Russian Telegram app, else in English.
fn say(ru: bool, russian: &'static str, english: &'static str) -> &'static str {
    if ru {
        russian
    } else {
        english
    }
}

pub fn connect_first(ru: bool) -> &'static str {
    say(
        ru,
        "Этот чат не подключён. Откройте ссылку для подключения, которую вам дали.",
        "This chat is not connected. Open the connect link you were given first.",
    )
}

pub fn too_many_commands(ru: bool) -> &'static str {
    say(ru, "Слишком много команд. Подождите минуту.", "Too many commands. Wait a minute.")
}

pub fn unknown_command(name: &str, ru: bool) -> String {
    if ru {
        format!("Неизвестная команда /{name}. Список команд: /help")
    } else {
        format!("Unknown command /{name}. Send /help for the list.")
    }
}

pub fn not_allowed(name: &str, ru: bool) -> String {
    if ru {
        format!("Вам нельзя выполнять /{name}.")
    } else {
        format!("You are not allowed to run /{name}.")
    }
}

/// `/help`: the commands offered in this chat, with their arguments and description.
pub fn help(commands: &[&novij_events::commands::CommandSpec], ru: bool) -> String {
    if commands.is_empty() {
        return say(ru, "Здесь нет команд.", "There are no commands here.").to_string();
    }
    let language = if ru { "ru" } else { "en" };
    let mut text = say(ru, "Команды:", "Commands:").to_string();
    for c in commands {
        let hint = c.args_hint.as_deref().map(|h| format!(" {h}")).unwrap_or_default();
        text.push_str(&format!("\n/{}{hint} — {}", c.name, c.description_in(language)));
    }
    text
}

pub use novij_runtime::system_send::Owner as ReplyOwner;

pub struct Reply<'a> {
    pub bot_key: &'a str,
    pub update_id: i64,
    pub chat_id: i64,
    pub purpose: &'a str,
    pub text: &'a str,
}

/// Queues `reply` once per (update, purpose): a redelivered update finds it queued.
pub async fn send(rt: &Runtime, meta: EventMeta, reply: Reply<'_>, owner: ReplyOwner) -> Result<(), AppendError> {
    let send = SystemSend {
        send_id: derive::system_send_id(&rt.keyring, reply.bot_key, reply.update_id, reply.purpose),
        bot_key: reply.bot_key,
        chat_id: reply.chat_id,
        text: reply.text,
        reply_to: None,
        purpose: reply.purpose,
        owner,
    };
    system_send::queue(rt, meta, send).await
}
