//! Bot API call parameters merged from the query string and a JSON or
//! url-encoded body, with Telegram's loose typing (JSON values may come as strings).

use std::collections::BTreeMap;

use serde_json::Value;

use super::errors::ApiError;

/// A parameter is present but has the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter value")]
pub struct InvalidParam;

/// Parameters of one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(BTreeMap<String, Value>);

fn insert_pairs(map: &mut BTreeMap<String, Value>, encoded: &str) -> Result<(), ApiError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(encoded).map_err(|_| ApiError::bad_request("can't parse url-encoded parameters"))?;
    for (key, value) in pairs {
        map.insert(key, Value::String(value));
    }
    Ok(())
}

impl Params {
    /// Parses the query string and body of a request.
    pub fn parse(query: &str, content_type: Option<&str>, body: &[u8]) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        if !query.is_empty() {
            insert_pairs(&mut map, query)?;
        }
        let media_type = content_type
            .and_then(|ct| ct.split(';').next())
            .map(|ct| ct.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let body_is_blank = body.iter().all(|b| b.is_ascii_whitespace());
        if media_type == "application/json" && !body_is_blank {
            let parsed: Value =
                serde_json::from_slice(body).map_err(|_| ApiError::bad_request("can't parse JSON object"))?;
            let Value::Object(object) = parsed else {
                return Err(ApiError::bad_request("can't parse JSON object"));
            };
            map.extend(object);
        } else if media_type == "application/x-www-form-urlencoded" && !body_is_blank {
            let text =
                std::str::from_utf8(body).map_err(|_| ApiError::bad_request("can't parse url-encoded parameters"))?;
            insert_pairs(&mut map, text)?;
        }
        Ok(Self(map))
    }

    /// Builds parameters from a JSON object (used by tests and internal calls).
    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(object) => Self(object.into_iter().collect()),
            _ => Self::default(),
        }
    }

    /// A parameter; JSON null counts as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    /// Whether a parameter is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// A parameter as text (numbers and booleans are rendered; JSON as JSON).
    pub fn str(&self, name: &str) -> Option<String> {
        match self.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            other => Some(other.to_string()),
        }
    }

    /// A parameter as an integer: `Ok(None)` when absent, `Err` when not an integer.
    pub fn i64(&self, name: &str) -> Result<Option<i64>, InvalidParam> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(InvalidParam),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse::<i64>().map(Some).map_err(|_| InvalidParam),
            Some(_) => Err(InvalidParam),
        }
    }

    /// A boolean parameter as Telegram reads it (absent = false).
    pub fn bool(&self, name: &str) -> bool {
        match self.get(name) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
            Some(Value::String(s)) => {
                let s = s.trim().to_ascii_lowercase();
                s == "true" || s == "1"
            }
            _ => false,
        }
    }

    /// A JSON-typed parameter: objects and arrays as they are, strings parsed
    /// as JSON. `Err` when a string is not valid JSON.
    pub fn json(&self, name: &str) -> Result<Option<Value>, InvalidParam> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| InvalidParam),
            Some(other) => Ok(Some(other.clone())),
        }
    }

    /// All parameters as a JSON object, for the call records.
    pub fn to_json(&self) -> Value {
        Value::Object(self.0.clone().into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_and_form_body() {
        let params = Params::parse(
            "chat_id=5",
            Some("application/x-www-form-urlencoded; charset=utf-8"),
            b"text=hi%20there&reply_markup=%7B%22inline_keyboard%22%3A%5B%5D%7D",
        )
        .unwrap();
        assert_eq!(params.i64("chat_id"), Ok(Some(5)));
        assert_eq!(params.str("text").as_deref(), Some("hi there"));
        assert_eq!(params.json("reply_markup"), Ok(Some(serde_json::json!({"inline_keyboard": []}))));
    }

    #[test]
    fn json_body_keeps_types_and_rejects_garbage() {
        let params = Params::parse("", Some("application/json"), br#"{"chat_id":"7","x":true}"#).unwrap();
        assert_eq!(params.i64("chat_id"), Ok(Some(7)));
        assert!(params.bool("x"));
        let err = Params::parse("", Some("application/json"), b"{nope").unwrap_err();
        assert_eq!(err.description, "Bad Request: can't parse JSON object");
    }
}
