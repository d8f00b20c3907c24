//! The service's own replies in the chat, sent as system sends so they travel
//! the same durable path (payment-verifier clears them, dispatcher delivers).

use novij_bus::{AppendError, Expect};
use novij_events::integration::PaymentMode;
use novij_events::send::{OutgoingMessage, Priority, SendAccepted, SendOrigin};
use novij_events::{Envelope, EventMeta};
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

/// Who a reply belongs to, when known.
#[derive(Default)]
pub struct ReplyOwner {
    pub project_id: Option<String>,
    pub integration_id: Option<String>,
    pub recipient_id: Option<String>,
}

pub struct Reply<'a> {
    pub bot_key: &'a str,
    pub update_id: i64,
    pub chat_id: i64,
    pub purpose: &'a str,
    pub text: &'a str,
}

/// Queues `reply` once per (update, purpose): a redelivered update finds it queued.
pub async fn send(rt: &Runtime, meta: EventMeta, reply: Reply<'_>, owner: ReplyOwner) -> Result<(), AppendError> {
    let message =
        OutgoingMessage { chat_id: reply.chat_id, text: reply.text.to_string(), parse_mode: None, reply_to: None };
    let bytes = serde_json::to_vec(&message)?;
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(rt.config.retention.payload_seconds.into());
    let sealed = rt
        .payloads
        .seal(derive::purpose::OUTGOING_MESSAGE, &bytes, expires_at)
        .await
        .map_err(|e| AppendError::Unavailable(e.to_string()))?;
    let send_id = derive::system_send_id(&rt.keyring, reply.bot_key, reply.update_id, reply.purpose);
    let accepted = SendAccepted {
        request_hash: derive::request_hash(&rt.keyring, send_id.as_bytes()),
        send_id,
        project_id: owner.project_id,
        integration_id: owner.integration_id,
        bot_key: reply.bot_key.to_string(),
        recipient_id: owner.recipient_id,
        template: format!("system_{}", reply.purpose),
        payment_mode: PaymentMode::None,
        origin: SendOrigin::System,
        priority: Priority::Interactive,
        locale: None,
        message: sealed,
        payment: None,
        send_at: None,
    };
    match rt.log.append(&Envelope::new(accepted, meta), Expect::NoEvents).await {
        Ok(_) | Err(AppendError::Conflict) => Ok(()),
        Err(e) => Err(e),
    }
}
