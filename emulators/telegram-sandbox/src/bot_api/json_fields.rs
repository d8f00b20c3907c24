//! Fields of JSON objects nested in parameters (`BotCommand`,
//! `BotCommandScope`, `InputMedia`), read as the Bot API server reads them: strings may be
//! numbers, and the errors are the texts of its JSON reader.

use serde_json::{Map, Value};

/// A required string field; a number is taken as its text.
pub fn string(object: &Map<String, Value>, name: &str) -> Result<String, String> {
    match object.get(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(format!("Field \"{name}\" must be of type String")),
        None => Err(format!("Can't find field \"{name}\"")),
    }
}

/// An optional string field: empty when missing (or null).
pub fn optional_string(object: &Map<String, Value>, name: &str) -> Result<String, String> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(_) => string(object, name),
    }
}

/// A required 64-bit integer field, given as a number or a string of digits.
pub fn long(object: &Map<String, Value>, name: &str) -> Result<i64, String> {
    let invalid = || format!("Field \"{name}\" must be a valid Number");
    match object.get(name) {
        Some(Value::String(s)) => s.parse::<i64>().map_err(|_| invalid()),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(invalid),
        Some(_) => Err(format!("Field \"{name}\" must be a Number")),
        None => Err(format!("Can't find field \"{name}\"")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn texts_of_the_bot_api_json_reader() {
        let fields = object(json!({"s": "x", "n": 12, "b": true, "l": "-5", "f": 1.5}));
        assert_eq!(string(&fields, "s"), Ok("x".into()));
        assert_eq!(string(&fields, "n"), Ok("12".into()));
        assert_eq!(string(&fields, "b"), Err("Field \"b\" must be of type String".into()));
        assert_eq!(string(&fields, "z"), Err("Can't find field \"z\"".into()));
        assert_eq!(optional_string(&fields, "z"), Ok(String::new()));
        assert_eq!(optional_string(&fields, "n"), Ok("12".into()));
        assert_eq!(optional_string(&fields, "b"), Err("Field \"b\" must be of type String".into()));
        assert_eq!(long(&fields, "l"), Ok(-5));
        assert_eq!(long(&fields, "n"), Ok(12));
        assert_eq!(long(&fields, "f"), Err("Field \"f\" must be a valid Number".into()));
        assert_eq!(long(&fields, "b"), Err("Field \"b\" must be a Number".into()));
    }
}
