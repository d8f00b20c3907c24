//! Message templates: which variables each takes and how it renders.
//!
//! Rendering produces Telegram HTML with every variable escaped. The paid and
//! scheduled templates (`nrsv_reminder`, `server_alert_basic`) arrive with the
//! payment-verifier and scheduler.

use serde_json::{Map, Value};

use crate::error::ApiError;

/// Telegram's limit on a message's text.
pub const MAX_TEXT_CHARS: usize = 4096;

pub const TEMPLATES: &[&str] = &["text_message", "test_message"];

const TEST_MESSAGE: &str = "✅ Test message from Novij Telegram Service.";

#[derive(Debug, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub parse_mode: Option<&'static str>,
}

pub fn render(template: &str, vars: &Map<String, Value>) -> Result<Rendered, ApiError> {
    match template {
        "text_message" => {
            only_vars(vars, &["text"])?;
            let text = match vars.get("text") {
                Some(Value::String(s)) => s,
                Some(_) => return Err(ApiError::invalid("template_vars.text", "must be a string")),
                None => return Err(ApiError::invalid("template_vars.text", "is required by text_message")),
            };
            if text.trim().is_empty() {
                return Err(ApiError::invalid("template_vars.text", "must not be empty"));
            }
            if text.encode_utf16().count() > MAX_TEXT_CHARS {
                return Err(ApiError::invalid(
                    "template_vars.text",
                    format!("renders longer than Telegram's {MAX_TEXT_CHARS}-character limit"),
                ));
            }
            Ok(Rendered { text: escape_html(text), parse_mode: Some("HTML") })
        }
        "test_message" => {
            only_vars(vars, &[])?;
            Ok(Rendered { text: TEST_MESSAGE.to_string(), parse_mode: None })
        }
        other => Err(ApiError::invalid(
            "template",
            format!("unknown template `{other}`; available: {}", TEMPLATES.join(", ")),
        )),
    }
}

fn only_vars(vars: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match vars.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::invalid(&format!("template_vars.{k}"), "is not a variable of this template")),
        None => Ok(()),
    }
}

/// Escapes the three characters Telegram's HTML parse mode treats specially.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn text_message_escapes_html() {
        let r = render("text_message", &vars(json!({"text": "<b>hi</b> & bye"}))).unwrap();
        assert_eq!(r.text, "&lt;b&gt;hi&lt;/b&gt; &amp; bye");
        assert_eq!(r.parse_mode, Some("HTML"));
    }

    #[test]
    fn variables_are_checked_by_name_and_type() {
        let field = |t: &str, v: Value| render(t, &vars(v)).unwrap_err().detail.field;
        assert_eq!(field("text_message", json!({})), Some("template_vars.text".into()));
        assert_eq!(field("text_message", json!({"text": 5})), Some("template_vars.text".into()));
        assert_eq!(field("text_message", json!({"text": "a", "x": 1})), Some("template_vars.x".into()));
        assert_eq!(field("test_message", json!({"text": "a"})), Some("template_vars.text".into()));
        assert_eq!(field("nope", json!({})), Some("template".into()));
        assert_eq!(field("text_message", json!({"text": "a".repeat(4097)})), Some("template_vars.text".into()));
    }
}
