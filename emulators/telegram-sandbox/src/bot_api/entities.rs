//! Message entities (bold, links, bot commands...) with UTF-16 offsets, as
//! Telegram reports them.

use serde::Serialize;
use serde_json::Value;

/// A `MessageEntity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    #[serde(rename = "type")]
    pub kind: String,
    pub offset: usize,
    pub length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_emoji_id: Option<String>,
}

impl Entity {
    /// An entity without extra fields.
    pub fn new(kind: &str, offset: usize, length: usize) -> Self {
        Self { kind: kind.to_string(), offset, length, url: None, language: None, custom_emoji_id: None }
    }

    /// As JSON.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Text with its entities.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormattedText {
    pub text: String,
    pub entities: Vec<Entity>,
}

/// Length of a string in UTF-16 code units, the unit of Telegram's limits and offsets.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Sorts entities as Telegram does: by offset, longer first.
pub fn sort_entities(entities: &mut [Entity]) {
    entities.sort_by(|a, b| a.offset.cmp(&b.offset).then(b.length.cmp(&a.length)));
}

/// The `bot_command` entity of a text that starts with `/command[@bot]`.
pub fn leading_bot_command(text: &str) -> Option<Entity> {
    let rest = text.strip_prefix('/')?;
    let end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
    let word = &rest[..end];
    let (command, bot) = match word.split_once('@') {
        Some((command, bot)) => (command, Some(bot)),
        None => (word, None),
    };
    let valid_command =
        !command.is_empty() && command.len() <= 64 && command.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let valid_bot = bot.is_none_or(|b| !b.is_empty() && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'));
    if !valid_command || !valid_bot {
        return None;
    }
    Some(Entity::new("bot_command", 0, 1 + utf16_len(word)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_command_covers_only_the_command() {
        assert_eq!(leading_bot_command("/start abc"), Some(Entity::new("bot_command", 0, 6)));
        assert_eq!(leading_bot_command("/help@my_bot"), Some(Entity::new("bot_command", 0, 12)));
        assert_eq!(leading_bot_command("hello"), None);
        assert_eq!(leading_bot_command("/"), None);
    }

    #[test]
    fn utf16_counts_surrogate_pairs() {
        assert_eq!(utf16_len("a😀"), 3);
        assert_eq!(utf16_len("ж"), 1);
    }
}
