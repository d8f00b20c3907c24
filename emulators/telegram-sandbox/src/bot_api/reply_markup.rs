//! Validation of `reply_markup` (inline keyboards, reply keyboards, removal,
//! force reply) with Telegram's error descriptions.

use serde_json::Value;

use super::errors::ApiError;
use super::params::Params;

const INLINE_ACTIONS: [&str; 10] = [
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
];

fn parse_error() -> ApiError {
    ApiError::bad_request("can't parse reply keyboard markup JSON object")
}

/// The validated `reply_markup` parameter, if any.
pub fn from_params(params: &Params) -> Result<Option<Value>, ApiError> {
    let markup = params.json("reply_markup").map_err(|_| parse_error())?;
    match markup {
        None => Ok(None),
        Some(markup) => validate(&markup).map(|_| Some(markup)),
    }
}

/// Whether `markup` is an inline keyboard (Telegram echoes only those in the Message).
pub fn is_inline_keyboard(markup: &Value) -> bool {
    markup.get("inline_keyboard").is_some()
}

/// Checks a reply markup object.
pub fn validate(markup: &Value) -> Result<(), ApiError> {
    let Some(object) = markup.as_object() else {
        return Err(parse_error());
    };
    if let Some(rows) = object.get("inline_keyboard") {
        return validate_inline_keyboard(rows);
    }
    if let Some(rows) = object.get("keyboard") {
        let Some(rows) = rows.as_array() else {
            return Err(ApiError::bad_request(
                "field \"keyboard\" of the ReplyKeyboardMarkup should be an Array of Arrays",
            ));
        };
        for row in rows {
            let Some(buttons) = row.as_array() else {
                return Err(ApiError::bad_request(
                    "field \"keyboard\" of the ReplyKeyboardMarkup should be an Array of Arrays",
                ));
            };
            for button in buttons {
                let ok = match button {
                    Value::String(text) => !text.is_empty(),
                    Value::Object(fields) => fields.get("text").and_then(Value::as_str).is_some_and(|t| !t.is_empty()),
                    _ => false,
                };
                if !ok {
                    return Err(ApiError::bad_request("keyboard button text is empty"));
                }
            }
        }
        return Ok(());
    }
    if object.get("remove_keyboard").and_then(Value::as_bool) == Some(true)
        || object.get("force_reply").and_then(Value::as_bool) == Some(true)
    {
        return Ok(());
    }
    Err(parse_error())
}

fn validate_inline_keyboard(rows: &Value) -> Result<(), ApiError> {
    let shape_error =
        || ApiError::bad_request("field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays");
    let rows = rows.as_array().ok_or_else(shape_error)?;
    for row in rows {
        let buttons = row.as_array().ok_or_else(shape_error)?;
        for button in buttons {
            let Some(fields) = button.as_object() else {
                return Err(ApiError::bad_request("InlineKeyboardButton should be an Object"));
            };
            match fields.get("text") {
                Some(Value::String(_)) => {}
                Some(_) => return Err(ApiError::bad_request("field \"text\" must be of type String")),
                None => return Err(ApiError::bad_request("can't find field \"text\"")),
            }
            if !INLINE_ACTIONS.iter().any(|action| fields.contains_key(*action)) {
                return Err(ApiError::bad_request("text buttons are unallowed in the inline keyboard"));
            }
            if let Some(data) = fields.get("callback_data") {
                let len = data.as_str().map(str::len).unwrap_or(0);
                if !(1..=64).contains(&len) {
                    return Err(ApiError::bad_request("BUTTON_DATA_INVALID"));
                }
            }
            if let Some(url) = fields.get("url") {
                let valid = url.as_str().and_then(|u| reqwest::Url::parse(u).ok()).is_some_and(|u| {
                    matches!(u.scheme(), "http" | "https" | "tg" | "ton") && u.host().is_some() || u.scheme() == "tg"
                });
                if !valid {
                    return Err(ApiError::bad_request("BUTTON_URL_INVALID"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn description(markup: Value) -> String {
        validate(&markup).unwrap_err().description
    }

    #[test]
    fn inline_keyboard_rules() {
        assert!(validate(&json!({"inline_keyboard": [[{"text": "a", "callback_data": "x"}]]})).is_ok());
        assert_eq!(
            description(json!({"inline_keyboard": [[{"text": "a", "callback_data": "x".repeat(65)}]]})),
            "Bad Request: BUTTON_DATA_INVALID"
        );
        assert_eq!(
            description(json!({"inline_keyboard": [[{"text": "a", "callback_data": ""}]]})),
            "Bad Request: BUTTON_DATA_INVALID"
        );
        assert_eq!(
            description(json!({"inline_keyboard": [{"text": "a"}]})),
            "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"
        );
        assert_eq!(
            description(json!({"inline_keyboard": [[{"text": "a"}]]})),
            "Bad Request: text buttons are unallowed in the inline keyboard"
        );
        assert_eq!(
            description(json!({"inline_keyboard": [[{"text": "a", "url": "nope"}]]})),
            "Bad Request: BUTTON_URL_INVALID"
        );
        assert_eq!(description(json!([1])), "Bad Request: can't parse reply keyboard markup JSON object");
    }
}
