//! The template catalogue: each template's name and the variables it declares.
//!
//! This is data only, so it can be served to API clients as-is; how each
//! template turns into text lives in `render.rs`.

use serde::Serialize;

/// A template and the variables a request may fill in.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub variables: &'static [VarSpec],
}

/// One variable of a template.
#[derive(Debug, Clone, Serialize)]
pub struct VarSpec {
    pub name: &'static str,
    pub kind: VarKind,
    /// Whether the request must give it. A variable may be optional because
    /// rendering has a fallback (see `nrsv_reminder`'s `minutes_before`).
    pub required: bool,
    pub description: &'static str,
}

/// The JSON type a variable takes, with its bounds.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VarKind {
    /// A non-blank string of at most `max_chars` Unicode scalar values.
    String { max_chars: usize },
    /// A JSON integer within `min..=max`.
    Integer { min: i64, max: i64 },
    /// A string that is one of `values`.
    Enum { values: &'static [&'static str] },
}

impl TemplateSpec {
    /// The declared variable called `name`, if any.
    pub fn variable(&self, name: &str) -> Option<&'static VarSpec> {
        self.variables.iter().find(|v| v.name == name)
    }
}

/// Severities of `server_alert_basic`, in the order clients usually list them.
pub const SEVERITIES: &[&str] = &["critical", "warning", "info", "resolved"];

const CATALOGUE: &[TemplateSpec] = &[
    TemplateSpec {
        name: "text_message",
        description: "Free text, sent as given (HTML-escaped).",
        variables: &[VarSpec {
            name: "text",
            kind: VarKind::String { max_chars: 4096 },
            required: true,
            description: "The message text.",
        }],
    },
    TemplateSpec {
        name: "nrsv_reminder",
        description: "A reminder that a booked service starts soon.",
        variables: &[
            VarSpec {
                name: "service_title",
                kind: VarKind::String { max_chars: 256 },
                required: true,
                description: "What was booked.",
            },
            VarSpec {
                name: "starts_at_local",
                kind: VarKind::String { max_chars: 64 },
                required: true,
                description: "When it starts, in the recipient's local time as the project shows it, \
                              e.g. \"2026-06-01 12:30\".",
            },
            VarSpec {
                name: "minutes_before",
                kind: VarKind::Integer { min: 0, max: 10080 },
                required: false,
                description: "How many minutes before the start the reminder goes out; 0 means \"now\". \
                              Defaults to the integration's default_reminder_minutes.",
            },
        ],
    },
    TemplateSpec {
        name: "server_alert_basic",
        description: "A monitoring alert: severity and title, optionally host, source and details.",
        variables: &[
            VarSpec {
                name: "severity",
                kind: VarKind::Enum { values: SEVERITIES },
                required: true,
                description: "How bad it is; `resolved` announces recovery.",
            },
            VarSpec {
                name: "title",
                kind: VarKind::String { max_chars: 256 },
                required: true,
                description: "One-line summary.",
            },
            VarSpec {
                name: "host",
                kind: VarKind::String { max_chars: 256 },
                required: false,
                description: "The affected host.",
            },
            VarSpec {
                name: "source",
                kind: VarKind::String { max_chars: 256 },
                required: false,
                description: "The system that raised the alert.",
            },
            VarSpec {
                name: "text",
                kind: VarKind::String { max_chars: 3500 },
                required: false,
                description: "Details, shown after a blank line.",
            },
        ],
    },
    TemplateSpec {
        name: "test_message",
        description: "A fixed message for checking that delivery works.",
        variables: &[],
    },
];

/// Every template, in the order the API lists them.
pub fn catalogue() -> &'static [TemplateSpec] {
    CATALOGUE
}

/// The template called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static TemplateSpec> {
    CATALOGUE.iter().find(|t| t.name == name)
}

/// Template names in catalogue order, for error messages and listings.
pub fn names() -> Vec<&'static str> {
    CATALOGUE.iter().map(|t| t.name).collect()
}
