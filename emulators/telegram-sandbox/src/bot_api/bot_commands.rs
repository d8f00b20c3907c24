//! The `commands` parameter of `setMyCommands`: a JSON array of `BotCommand`,
//! parsed as the Bot API server does (telegram-bot-api `Client.cpp`), then
//! checked as TDLib (`BotCommand.cpp`) and Telegram's servers do.

use serde_json::Value;

use super::errors::ApiError;
use super::json_fields;
use super::params::Params;
use crate::state::BotCommand;

/// Most commands in one list.
const MAX_COMMANDS: usize = 100;
/// Longest command, in characters.
const MAX_COMMAND_LEN: usize = 32;
/// Longest description, in characters.
const MAX_DESCRIPTION_LEN: usize = 256;

fn command_error(detail: impl AsRef<str>) -> ApiError {
    ApiError::bad_request(format!("can't parse BotCommand: {}", detail.as_ref()))
}

/// The commands as sent. Telegram takes a missing list as an empty one; the
/// sandbox refuses it, as the parameter is documented as required and doing
/// so silently clears the bot's menu (a client bug worth catching).
pub fn from_params(params: &Params) -> Result<Vec<BotCommand>, ApiError> {
    let value = params.json("commands").map_err(|_| ApiError::bad_request("can't parse commands JSON object"))?;
    let Some(value) = value else {
        return Err(ApiError::bad_request("parameter \"commands\" is required"));
    };
    let Value::Array(items) = value else {
        return Err(ApiError::bad_request("expected an Array of BotCommand"));
    };
    items
        .iter()
        .map(|item| {
            let object = item.as_object().ok_or_else(|| command_error("expected an Object"))?;
            let command = json_fields::string(object, "command").map_err(command_error)?;
            let description = json_fields::string(object, "description").map_err(command_error)?;
            Ok(BotCommand { command, description })
        })
        .collect()
}

/// TDLib's cleaning of input text: control characters become spaces, '\r'
/// and some invisible or overlaid marks go, '\n' stays.
fn clean_input(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' => Some(c),
            '\r' | '\u{2028}'..='\u{202e}' | '\u{30a}' | '\u{333}' | '\u{33f}' => None,
            '\0'..=' ' => Some(' '),
            _ => Some(c),
        })
        .collect()
}

/// TDLib's notion of blank: it trims these before checking.
fn trim_blank(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n' | '\0' | '\u{b}'))
}

/// Applies Telegram's rules and returns the commands as Telegram stores them
/// (cleaned, trimmed, a leading '/' dropped).
pub fn validate(commands: Vec<BotCommand>) -> Result<Vec<BotCommand>, ApiError> {
    let mut cleaned = Vec::with_capacity(commands.len());
    for BotCommand { command, description } in commands {
        let (command, description) = (clean_input(&command), clean_input(&description));
        let command = trim_blank(&command);
        let command = command.strip_prefix('/').unwrap_or(command);
        if command.is_empty() {
            return Err(ApiError::bad_request("command must be non-empty"));
        }
        if command.chars().count() > MAX_COMMAND_LEN {
            return Err(ApiError::bad_request(format!("command length must not exceed {MAX_COMMAND_LEN}")));
        }
        let description = trim_blank(&description);
        if description.is_empty() {
            return Err(ApiError::bad_request("command description must be non-empty"));
        }
        if description.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(ApiError::bad_request(format!(
                "command description length must not exceed {MAX_DESCRIPTION_LEN}"
            )));
        }
        cleaned.push(BotCommand { command: command.to_string(), description: description.to_string() });
    }
    // The server's own checks, after TDLib's.
    if cleaned.len() > MAX_COMMANDS {
        return Err(ApiError::bad_request("BOT_COMMANDS_TOO_MUCH"));
    }
    let valid_name = |name: &str| name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !cleaned.iter().all(|c| valid_name(&c.command)) {
        return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(command: &str, description: &str) -> BotCommand {
        BotCommand { command: command.into(), description: description.into() }
    }

    #[test]
    fn commands_are_stored_trimmed_and_without_a_slash() {
        assert_eq!(validate(vec![command(" /start\n", " Begin ")]), Ok(vec![command("start", "Begin")]));
        assert_eq!(
            validate(vec![command("help", "Two\r\nlines\tand\u{2028}more")]),
            Ok(vec![command("help", "Two\nlines andmore")])
        );
        let err = validate(vec![command("help", "\u{2028}\t")]).unwrap_err();
        assert_eq!(err.description, "Bad Request: command description must be non-empty");
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(validate(vec![command("a", &"й".repeat(256))]).is_ok());
        let err = validate(vec![command("a", &"й".repeat(257))]).unwrap_err();
        assert_eq!(err.description, "Bad Request: command description length must not exceed 256");
        let err = validate(vec![command("/", "x")]).unwrap_err();
        assert_eq!(err.description, "Bad Request: command must be non-empty");
    }
}
