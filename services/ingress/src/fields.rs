//! The rules of request text fields, each defined once: handlers check
//! values with a [`Text`] rule, and the OpenAPI schema states the same rule
//! (`#[schema(schema_with = fields::…)]`), so a value the schema allows is a
//! value the handler takes.

use utoipa::openapi::schema::{SchemaType, Type};
use utoipa::openapi::{Array, ArrayBuilder, Object, ObjectBuilder};

use crate::error::ApiError;

/// The characters a field may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chars {
    /// `A-Z a-z 0-9 _ - : . @`: identifiers chosen by clients.
    Id,
    /// `a-z 0-9 _`: a bot command's name.
    CommandName,
    /// `A-Z a-z 0-9 _ -`: one NATS subject token.
    Token,
    /// `A-Z a-z 0-9 _ -`, as Telegram's `file_id`s are.
    Base64Url,
    /// `a-z 0-9 _ -`: a button's or an action's id.
    Slug,
    /// Printable ASCII and the space: a content type.
    Ascii,
    /// One line without `/`, `\\` or `"`: a file's name.
    FileName,
    /// Anything but control characters: one line.
    Line,
    /// Anything but control characters other than the line break.
    Lines,
}

/// Control characters as `char::is_control` has them (Unicode Cc).
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// Control characters but the line break.
const CONTROL_BUT_LF: &str = r"\x00-\x09\x0b-\x1f\x7f-\x9f";

impl Chars {
    pub fn allows(self, c: char) -> bool {
        match self {
            Chars::Id => c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | '.' | '@'),
            Chars::CommandName => c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
            Chars::Token | Chars::Base64Url => c.is_ascii_alphanumeric() || matches!(c, '_' | '-'),
            Chars::Slug => c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'),
            Chars::Ascii => c.is_ascii_graphic() || c == ' ',
            Chars::FileName => !c.is_control() && !matches!(c, '/' | '\\' | '"'),
            Chars::Line => !c.is_control(),
            Chars::Lines => !c.is_control() || c == '\n',
        }
    }

    /// The same set, as a JSON Schema pattern of a whole value that is not
    /// blank (what [`Text::check`] takes).
    fn pattern(self) -> String {
        match self {
            Chars::Id => "^[A-Za-z0-9_.:@-]+$".into(),
            Chars::CommandName => "^[a-z0-9_]+$".into(),
            Chars::Token | Chars::Base64Url => "^[A-Za-z0-9_-]+$".into(),
            Chars::Slug => "^[a-z0-9_-]+$".into(),
            Chars::Ascii => r"^[\x20-\x7e]*[\x21-\x7e][\x20-\x7e]*$".into(),
            Chars::FileName => format!(r#"^[^{CONTROL}/\\"]*[^\s{CONTROL}/\\"][^{CONTROL}/\\"]*$"#),
            Chars::Line => format!(r"^[^{CONTROL}]*[^\s{CONTROL}][^{CONTROL}]*$"),
            Chars::Lines => format!(r"^[^{CONTROL_BUT_LF}]*[^\s{CONTROL}][^{CONTROL_BUT_LF}]*$"),
        }
    }
}

/// A text field: not blank, at most `max` characters, of `chars`.
#[derive(Debug, Clone, Copy)]
pub struct Text {
    pub max: usize,
    pub chars: Chars,
}

impl Text {
    pub const fn new(max: usize, chars: Chars) -> Self {
        Self { max, chars }
    }

    /// Refuses `value` (422 naming `field`) unless it keeps the rule.
    pub fn check(&self, field: &str, value: &str) -> Result<(), ApiError> {
        if value.trim().is_empty() {
            return Err(ApiError::invalid(field, "must not be empty"));
        }
        if value.chars().count() > self.max {
            return Err(ApiError::invalid(field, format!("must be at most {} characters", self.max)));
        }
        if let Some(c) = value.chars().find(|c| !self.chars.allows(*c)) {
            return Err(ApiError::invalid(field, format!("contains a character that is not allowed: {c:?}")));
        }
        Ok(())
    }

    fn builder(&self, kind: SchemaType) -> ObjectBuilder {
        ObjectBuilder::new()
            .schema_type(kind)
            .min_length(Some(1))
            .max_length(Some(self.max))
            .pattern(Some(self.chars.pattern()))
    }

    pub fn schema(&self) -> Object {
        self.builder(SchemaType::Type(Type::String)).build()
    }

    /// The schema of an optional field (absent or `null`).
    pub fn nullable(&self) -> Object {
        self.builder(SchemaType::from_iter([Type::String, Type::Null])).build()
    }
}

pub const PROJECT_ID: Text = Text::new(64, Chars::Id);
pub const WALLET_ID: Text = Text::new(128, Chars::Id);
/// A user's `public_user_ref` (also `recipient_ref`, `allowed_refs`).
pub const USER_REF: Text = Text::new(256, Chars::Id);
pub const IDEMPOTENCY_KEY: Text = Text::new(256, Chars::Line);
pub const EXECUTOR_KEY: Text = Text::new(64, Chars::Token);
/// A message the project writes itself (a reply), as Telegram limits it.
pub const MESSAGE_TEXT: Text = Text::new(novij_templates::MAX_TEXT_CHARS, Chars::Lines);
/// A button's label, a card field's name, a link's label.
pub const LABEL: Text = Text::new(64, Chars::Line);
pub const KEY_LABEL: Text = Text::new(100, Chars::Line);
pub const COMMAND_NAME: Text = Text::new(32, Chars::CommandName);
pub const DESCRIPTION: Text = Text::new(256, Chars::Line);
pub const ARGS_HINT: Text = Text::new(128, Chars::Line);
/// A reply button's id fits Telegram's 64 bytes of callback data with the command id.
pub const BUTTON_ID: Text = Text::new(24, Chars::Slug);
pub const ACTION_ID: Text = Text::new(64, Chars::Slug);
pub const CARD_SUMMARY: Text = Text::new(2048, Chars::Lines);
pub const CARD_FIELD_VALUE: Text = Text::new(1024, Chars::Lines);
pub const FILE_ID: Text = Text::new(256, Chars::Base64Url);
pub const CAPTION: Text = Text::new(novij_templates::MAX_CAPTION_CHARS, Chars::Lines);
pub const FILE_NAME: Text = Text::new(255, Chars::FileName);
pub const CONTENT_TYPE: Text = Text::new(127, Chars::Ascii);
pub const ALERT_TITLE: Text = Text::new(256, Chars::Line);
pub const EXTERNAL_ID: Text = Text::new(256, Chars::Line);

// The schemas, by name, for `schema_with`.
pub fn project_id() -> Object {
    PROJECT_ID.schema()
}
pub fn wallet_id() -> Object {
    WALLET_ID.schema()
}
pub fn optional_wallet_id() -> Object {
    WALLET_ID.nullable()
}
pub fn user_ref() -> Object {
    USER_REF.schema()
}
pub fn optional_user_ref() -> Object {
    USER_REF.nullable()
}
pub fn idempotency_key() -> Object {
    IDEMPOTENCY_KEY.schema()
}
pub fn optional_idempotency_key() -> Object {
    IDEMPOTENCY_KEY.nullable()
}
pub fn executor_key() -> Object {
    EXECUTOR_KEY.schema()
}
pub fn message_text() -> Object {
    MESSAGE_TEXT.schema()
}
pub fn optional_message_text() -> Object {
    MESSAGE_TEXT.nullable()
}
pub fn label() -> Object {
    LABEL.schema()
}
pub fn optional_key_label() -> Object {
    KEY_LABEL.nullable()
}
pub fn command_name() -> Object {
    COMMAND_NAME.schema()
}
pub fn description() -> Object {
    DESCRIPTION.schema()
}
pub fn optional_args_hint() -> Object {
    ARGS_HINT.nullable()
}
pub fn button_id() -> Object {
    BUTTON_ID.schema()
}
pub fn action_id() -> Object {
    ACTION_ID.schema()
}
pub fn optional_alert_title() -> Object {
    ALERT_TITLE.nullable()
}
pub fn optional_card_summary() -> Object {
    CARD_SUMMARY.nullable()
}
pub fn card_field_value() -> Object {
    CARD_FIELD_VALUE.schema()
}
pub fn optional_file_id() -> Object {
    FILE_ID.nullable()
}
pub fn optional_caption() -> Object {
    CAPTION.nullable()
}
pub fn optional_file_name() -> Object {
    FILE_NAME.nullable()
}
pub fn external_id() -> Object {
    EXTERNAL_ID.schema()
}

/// `ru` or `en` ([`novij_templates::LOCALES`]), or absent.
pub fn optional_locale() -> Object {
    let locales = novij_templates::LOCALES.iter().map(|l| l.to_string());
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(locales.map(serde_json::Value::String).chain([serde_json::Value::Null])))
        .build()
}

/// An http(s) URL in a form every URL parser reads alike: a host name, an
/// optional port and path; the handlers take more, the schema promises this.
fn url(schemes: &str, optional: bool) -> Object {
    let kind =
        if optional { SchemaType::from_iter([Type::String, Type::Null]) } else { SchemaType::Type(Type::String) };
    let pattern = format!(
        r"^({schemes})://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[1-9][0-9]{{0,3}})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/?#-]*)?$"
    );
    ObjectBuilder::new().schema_type(kind).max_length(Some(2048)).pattern(Some(pattern)).build()
}

/// A card link's target.
pub fn link_url() -> Object {
    url("https?", false)
}

/// Where a project takes its inbound messages.
pub fn optional_https_url() -> Object {
    url("https", true)
}

/// A command's description by language, `ru` and `en`.
pub fn optional_descriptions() -> Object {
    let mut object = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
    for locale in novij_templates::LOCALES {
        object = object.property(locale.to_string(), DESCRIPTION.schema());
    }
    object.build()
}

/// A list of `min` to `max` items of `item`, or absent; `unique`: no item twice.
fn optional_list(item: Object, min: usize, max: Option<usize>, unique: bool) -> Array {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(item)
        .min_items(Some(min))
        .max_items(max)
        .unique_items(unique)
        .build()
}

/// Most recipients one alert card goes to.
pub const MAX_ALERT_RECIPIENTS: usize = 20;

/// An alert's recipients.
pub fn alert_recipient_refs() -> Array {
    optional_list(USER_REF.schema(), 1, Some(MAX_ALERT_RECIPIENTS), false)
}

/// A broadcast's (or its quote's) named recipients, each once.
pub fn broadcast_recipient_refs() -> Array {
    optional_list(USER_REF.schema(), 1, Some(novij_events::broadcast::MAX_RECIPIENTS), true)
}

/// The users a command is limited to.
pub fn optional_user_refs() -> Array {
    optional_list(USER_REF.schema(), 0, None, false)
}

/// Ids the service made, of the form `<prefix>_<a-z 0-9>{len}`.
fn made_id(prefixes: &[(&str, &str)]) -> Object {
    let alternatives: Vec<String> =
        prefixes.iter().map(|(prefix, len)| format!("{prefix}_[a-z0-9]{{{len}}}")).collect();
    ObjectBuilder::new().schema_type(Type::String).pattern(Some(format!("^({})$", alternatives.join("|")))).build()
}

/// Presses of alert cards' buttons, 1 to 100.
pub fn action_ids() -> Array {
    let item = made_id(&[(novij_events::ids::ACTION, "48")]);
    ArrayBuilder::new().items(item).min_items(Some(1)).max_items(Some(100)).build()
}

/// Command requests, or presses of their buttons, 1 to 100.
pub fn command_ids() -> Array {
    let item = made_id(&[(novij_events::ids::COMMAND, "1,64"), (novij_events::ids::COMMAND_PRESS, "48")]);
    ArrayBuilder::new().items(item).min_items(Some(1)).max_items(Some(100)).build()
}

/// `HTML`, or absent for plain text.
pub fn optional_parse_mode() -> Object {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some([serde_json::json!("HTML"), serde_json::Value::Null]))
        .build()
}

/// One of `labels` (an enum's wire names), or absent when `optional`.
fn one_of(labels: impl IntoIterator<Item = &'static str>, optional: bool) -> Object {
    let values = labels.into_iter().map(|l| serde_json::Value::String(l.into()));
    if optional {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .enum_values(Some(values.chain([serde_json::Value::Null])))
            .build()
    } else {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values)).build()
    }
}

pub fn media_kind() -> Object {
    one_of(novij_events::media::MediaKind::ALL.iter().map(|k| k.as_str()), false)
}
pub fn optional_severity() -> Object {
    one_of(novij_events::incident::Severity::ALL.iter().map(|k| k.as_str()), true)
}
pub fn optional_alert_status() -> Object {
    one_of(novij_events::incident::AlertStatus::ALL.iter().map(|k| k.as_str()), true)
}
pub fn optional_command_scope() -> Object {
    one_of(novij_events::commands::CommandScope::ALL.iter().map(|k| k.as_str()), true)
}

/// [`novij_events::integration::BotMode`]'s wire names.
const BOT_MODES: [&str; 2] = ["common", "custom"];
/// [`novij_events::integration::PaymentMode`]'s wire names.
const PAYMENT_MODES: [&str; 2] = ["none", "dsr"];
/// [`novij_events::send::Priority`]'s wire names.
const PRIORITIES: [&str; 2] = ["interactive", "bulk"];

pub fn bot_mode() -> Object {
    one_of(BOT_MODES, false)
}
pub fn payment_mode() -> Object {
    one_of(PAYMENT_MODES, false)
}
pub fn optional_payment_mode() -> Object {
    one_of(PAYMENT_MODES, true)
}
pub fn optional_priority() -> Object {
    one_of(PRIORITIES, true)
}

/// The templates of the catalogue.
pub fn template() -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(novij_templates::names())).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_refuses_blank_long_and_foreign_values_naming_the_field() {
        let rule = Text::new(5, Chars::Id);
        assert!(rule.check("f", "ab.c@").is_ok());
        for bad in ["", "  ", "abcdef", "a b", "é"] {
            let e = rule.check("f", bad).expect_err(bad);
            assert_eq!(e.detail.field.as_deref(), Some("f"), "{bad}");
        }
        assert!(Text::new(9, Chars::Lines).check("f", "a\nb").is_ok());
        assert!(Text::new(9, Chars::Line).check("f", "a\nb").is_err());
    }

    #[test]
    fn the_listed_wire_names_are_the_enums() {
        use novij_events::{integration, send};
        fn parses<T: serde::de::DeserializeOwned>(labels: &[&str]) {
            for label in labels {
                assert!(serde_json::from_value::<T>(serde_json::json!(label)).is_ok(), "{label}");
            }
        }
        parses::<integration::BotMode>(&BOT_MODES);
        parses::<integration::PaymentMode>(&PAYMENT_MODES);
        parses::<send::Priority>(&PRIORITIES);
    }

    #[test]
    fn the_schema_states_the_rule() {
        let schema = serde_json::to_value(PROJECT_ID.schema()).unwrap();
        assert_eq!(schema["maxLength"], 64);
        assert_eq!(schema["minLength"], 1);
        assert_eq!(schema["pattern"], "^[A-Za-z0-9_.:@-]+$");
        let nullable = serde_json::to_value(IDEMPOTENCY_KEY.nullable()).unwrap();
        assert_eq!(nullable["type"], serde_json::json!(["string", "null"]));
    }
}
