//! The parts of a Telegram update the connect service reads.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Update {
    #[serde(default)]
    pub message: Option<Message>,
    #[serde(default)]
    pub callback_query: Option<CallbackQuery>,
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
    pub chat: Chat,
    #[serde(default)]
    pub text: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
}

/// A command addressed to the bot.
#[derive(Debug, PartialEq, Eq)]
pub enum Command<'a> {
    Start(Option<&'a str>),
    Stop,
    Other,
}

/// Reads `/start [payload]`, `/stop` (also `/cmd@bot` as used in groups).
pub fn parse_command(text: &str) -> Command<'_> {
    let mut parts = text.trim().splitn(2, char::is_whitespace);
    let head = parts.next().unwrap_or_default();
    let name = head.split('@').next().unwrap_or_default();
    let arg = parts.next().map(str::trim).filter(|a| !a.is_empty());
    match name {
        "/start" => Command::Start(arg),
        "/stop" => Command::Stop,
        _ => Command::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_recognised() {
        assert_eq!(parse_command("/start abc_123"), Command::Start(Some("abc_123")));
        assert_eq!(parse_command("/start"), Command::Start(None));
        assert_eq!(parse_command("/start@novij_bot  code "), Command::Start(Some("code")));
        assert_eq!(parse_command("/stop"), Command::Stop);
        assert_eq!(parse_command("/stopping"), Command::Other);
        assert_eq!(parse_command("hello"), Command::Other);
    }
}
