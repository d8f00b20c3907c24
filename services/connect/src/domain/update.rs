//! The parts of a Telegram update the connect service reads.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Update {
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
    /// The bot's own membership of a chat changed (blocked, removed, restricted).
    #[serde(default)]
    pub my_chat_member: Option<ChatMemberUpdated>,
}

#[derive(Debug, Deserialize)]
pub struct ChatMemberUpdated {
    pub chat: Chat,
    pub new_chat_member: ChatMember,
}

/// The bot as a member of the chat.
#[derive(Debug, Deserialize)]
pub struct ChatMember {
    /// `member`, `administrator`, `restricted`, `left`, `kicked`, …
    pub status: String,
    /// `restricted`: whether it may still post.
    #[serde(default)]
    pub can_send_messages: Option<bool>,
}

/// A press of an inline button.
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: User,
    #[serde(default)]
    pub data: Option<String>,
    /// The message with the button, as the bot sent it.
    #[serde(default)]
    pub message: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub language_code: Option<String>,
}

impl CallbackQuery {
    /// The label of the pressed button, as the message shows it.
    pub fn button_label(&self) -> Option<&str> {
        let data = self.data.as_deref()?;
        let rows = self.message.as_ref()?.pointer("/reply_markup/inline_keyboard")?.as_array()?;
        rows.iter()
            .filter_map(|row| row.as_array())
            .flatten()
            .find(|button| button.get("callback_data").and_then(|d| d.as_str()) == Some(data))?
            .get("text")?
            .as_str()
    }
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub chat: Chat,
    /// The sender (absent in channels).
    #[serde(default)]
    pub from: Option<User>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    /// The sizes of a photo, smallest first.
    #[serde(default)]
    pub photo: Vec<TelegramFile>,
    #[serde(default)]
    pub document: Option<TelegramFile>,
    #[serde(default)]
    pub video: Option<TelegramFile>,
    #[serde(default)]
    pub voice: Option<TelegramFile>,
    #[serde(default)]
    pub audio: Option<TelegramFile>,
    #[serde(default)]
    pub sticker: Option<TelegramFile>,
}

/// A file as Telegram names it in a message.
#[derive(Debug, Clone, Deserialize)]
pub struct TelegramFile {
    pub file_id: String,
    #[serde(default)]
    pub file_size: Option<u64>,
}

impl Message {
    /// The file it carries, if any: `(kind, file)`.
    pub fn media(&self) -> Option<(&'static str, &TelegramFile)> {
        let largest_photo = self.photo.last();
        [
            ("photo", largest_photo),
            ("document", self.document.as_ref()),
            ("video", self.video.as_ref()),
            ("voice", self.voice.as_ref()),
            ("audio", self.audio.as_ref()),
            ("sticker", self.sticker.as_ref()),
        ]
        .into_iter()
        .find_map(|(kind, file)| file.map(|f| (kind, f)))
    }
}

#[derive(Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

impl Chat {
    pub fn is_private(&self) -> bool {
        self.kind == "private"
    }

    /// Private, or a group of any kind.
    pub fn kind(&self) -> novij_events::recipient::ChatKind {
        if self.is_private() {
            novij_events::recipient::ChatKind::Private
        } else {
            novij_events::recipient::ChatKind::Group
        }
    }
}

impl User {
    /// Whether Telegram says the user's app is in Russian.
    pub fn russian(&self) -> bool {
        self.language_code.as_deref().is_some_and(|l| l.starts_with("ru"))
    }
}

/// A `/command` in a message: `/name[@bot] args`.
#[derive(Debug, PartialEq, Eq)]
pub struct Invoked<'a> {
    /// Lowercase, without `/`.
    pub name: String,
    /// The bot it is addressed to (`/name@bot`, as used in groups).
    pub bot: Option<&'a str>,
    /// The rest of the message, trimmed; empty when there is none.
    pub args: &'a str,
}

/// Reads a message that starts with a command.
pub fn parse_command(text: &str) -> Option<Invoked<'_>> {
    let text = text.trim_start();
    let rest = text.strip_prefix('/')?;
    let head_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (head, args) = rest.split_at(head_end);
    let (name, bot) = match head.split_once('@') {
        Some((name, bot)) => (name, Some(bot)),
        None => (head, None),
    };
    if name.is_empty() {
        return None;
    }
    Some(Invoked { name: name.to_ascii_lowercase(), bot, args: args.trim() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoked<'a>(name: &str, bot: Option<&'a str>, args: &'a str) -> Option<Invoked<'a>> {
        Some(Invoked { name: name.into(), bot, args })
    }

    #[test]
    fn commands_are_read_with_their_bot_and_arguments() {
        assert_eq!(parse_command("/start abc_123"), invoked("start", None, "abc_123"));
        assert_eq!(parse_command("/start"), invoked("start", None, ""));
        assert_eq!(parse_command("/start@novij_bot  code "), invoked("start", Some("novij_bot"), "code"));
        assert_eq!(parse_command("/Deploy web \"blue green\""), invoked("deploy", None, "web \"blue green\""));
        assert_eq!(parse_command("/stopping"), invoked("stopping", None, ""));
        assert_eq!(parse_command("hello /start"), None);
        assert_eq!(parse_command("/ start"), None);
    }
}
