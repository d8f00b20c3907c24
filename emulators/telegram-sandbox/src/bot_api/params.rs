//! Bot API call parameters merged from the query string and a JSON,
//! url-encoded or `multipart/form-data` body, with Telegram's loose typing
//! (JSON values may come as strings), and the files a multipart body uploads.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{json, Value};

use super::errors::ApiError;
use super::multipart;

/// Largest request body Telegram's front accepts: bots may upload files of
/// up to 50 MB, and a bigger body is refused before the Bot API sees it.
pub const MAX_BODY_SIZE: usize = 50 * 1024 * 1024;

/// A parameter is present but has the wrong type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter value")]
pub struct InvalidParam;

/// A file part of a multipart body: its name, and its bytes, kept so that
/// bots can download the file and the page can show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The part's `filename` (possibly empty).
    pub file_name: String,
    pub bytes: Bytes,
}

impl Upload {
    pub fn new(file_name: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        Self { file_name: file_name.into(), bytes: bytes.into() }
    }

    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// Parameters of one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params {
    values: BTreeMap<String, Value>,
    /// Uploaded files by part name; the first part of a name counts, as in TDLib.
    uploads: BTreeMap<String, Upload>,
    /// File parts received and their bytes, whether used or not.
    received: (u64, u64),
}

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
        if body.len() > MAX_BODY_SIZE {
            return Err(ApiError::new(413, "Request Entity Too Large"));
        }
        let mut map = BTreeMap::new();
        let mut uploads = BTreeMap::new();
        let mut received = (0, 0);
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
        } else if media_type == "multipart/form-data" {
            for part in multipart::parse(content_type.unwrap_or_default(), body)? {
                match part.file_name {
                    Some(file_name) => {
                        let size = part.body.len() as u64;
                        received = (received.0 + 1, received.1 + size);
                        uploads
                            .entry(part.name)
                            .or_insert_with(|| Upload::new(file_name, Bytes::copy_from_slice(part.body)));
                    }
                    // TDLib reads such a part as more parameters.
                    None if part.content_type.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") => {
                        let text = std::str::from_utf8(part.body)
                            .map_err(|_| ApiError::bad_request("can't parse url-encoded parameters"))?;
                        insert_pairs(&mut map, text)?;
                    }
                    None => {
                        map.insert(part.name, Value::String(String::from_utf8_lossy(part.body).into_owned()));
                    }
                }
            }
        }
        Ok(Self { values: map, uploads, received })
    }

    /// Builds parameters from a JSON object (used for InputMedia objects,
    /// tests and internal calls).
    pub fn from_json(value: Value) -> Self {
        match value {
            Value::Object(object) => Self { values: object.into_iter().collect(), ..Self::default() },
            _ => Self::default(),
        }
    }

    /// A parameter; JSON null counts as absent.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    /// The file uploaded in the part `name`.
    pub fn upload(&self, name: &str) -> Option<&Upload> {
        self.uploads.get(name)
    }

    /// How many file parts the body had, and their bytes in all.
    pub fn upload_totals(&self) -> (u64, u64) {
        self.received
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

    /// All parameters as a JSON object, for the call records; an uploaded
    /// file shows as its name and size under its part name.
    pub fn to_json(&self) -> Value {
        let mut object: serde_json::Map<String, Value> = self.values.clone().into_iter().collect();
        for (name, upload) in &self.uploads {
            object
                .entry(name.clone())
                .or_insert_with(|| json!({"file_name": upload.file_name, "file_size": upload.size()}));
        }
        Value::Object(object)
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

    #[test]
    fn multipart_bodies_carry_parameters_and_files() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n9\r\n\
--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"cat.jpg\"\r\n\r\nJPEG\r\n\
--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"second.jpg\"\r\n\r\nignored\r\n\
--b\r\nContent-Disposition: form-data; name=\"more\"\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n\
caption=hi%21&x=1\r\n--b--\r\n";
        let params = Params::parse("", Some("multipart/form-data; boundary=b"), body).unwrap();
        assert_eq!(params.i64("chat_id"), Ok(Some(9)));
        assert_eq!(params.str("caption").as_deref(), Some("hi!"));
        assert_eq!(params.upload("photo"), Some(&Upload::new("cat.jpg", &b"JPEG"[..])));
        assert!(!params.has("photo"), "a file is not a parameter");
        assert_eq!(params.upload_totals(), (2, 11));
        assert_eq!(params.to_json()["photo"], serde_json::json!({"file_name": "cat.jpg", "file_size": 4}));
    }

    #[test]
    fn bodies_over_50_mb_are_refused_by_the_front() {
        let body = vec![b' '; MAX_BODY_SIZE + 1];
        let err = Params::parse("", Some("application/json"), &body).unwrap_err();
        assert_eq!((err.code, err.description.as_str()), (413, "Request Entity Too Large"));
        assert!(Params::parse("", Some("application/json"), &body[1..]).is_ok());
    }
}
