//! Message templates: the catalogue of templates and their declared
//! variables, checking a request's `template_vars`, and rendering to
//! Telegram HTML.
//!
//! Every variable is HTML-escaped, so request data can never add markup; only
//! the templates' fixed wording uses tags (`<b>`). Rendering builds the message
//! from segments, so the length Telegram will count (visible characters in
//! UTF-16 code units) is known exactly and an over-long message is refused
//! here, naming the variable to shorten, instead of failing at Telegram.
//!
//! Errors carry a request field path (`template`, `template_vars.<name>`) so
//! the API can answer 422 pointing at what to fix.

pub mod card;
mod catalogue;
mod html;
mod locale;
mod render;
mod vars;

use serde_json::{Map, Value};

pub use catalogue::{catalogue, find, names, TemplateSpec, VarKind, VarSpec, SEVERITIES};
pub use html::{escape_html, utf16_len};
pub use locale::{Locale, UnknownLocale, LOCALES};

/// Telegram's limit on a message's text, counted after entity parsing, in UTF-16 code units.
pub const MAX_TEXT_CHARS: usize = 4096;

/// What rendering may fill in that the request did not say.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderContext {
    pub locale: Locale,
    /// The integration's reminder lead time, used when `nrsv_reminder` is sent
    /// without `minutes_before`.
    pub default_reminder_minutes: Option<u32>,
}

/// A message ready for `sendMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    /// `Some("HTML")` when the text has markup or variables (which are
    /// escaped); `None` for fixed wording alone (`test_message`), which is
    /// sent verbatim.
    pub parse_mode: Option<&'static str>,
}

/// Why a template could not be rendered. `field` is the request field to
/// fix: `template`, `template_vars.<name>`, or `template_vars` when no single
/// variable is to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct TemplateError {
    pub field: String,
    pub message: String,
}

impl TemplateError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// An error about the variable `name`.
    pub(crate) fn var(name: &str, message: impl Into<String>) -> Self {
        Self::new(format!("template_vars.{name}"), message)
    }
}

/// Checks `vars` against `template` and renders it.
///
/// Checks run in a fixed order — unknown template, unknown variables (first in
/// sorted order), each declared variable in declaration order, then the
/// rendered length — so a request with several problems always gets the same
/// answer.
pub fn render(template: &str, vars: &Map<String, Value>, ctx: RenderContext) -> Result<Rendered, TemplateError> {
    render_within(template, vars, ctx, MAX_TEXT_CHARS, "")
}

/// Telegram's limit on a media caption, counted as a message's text is.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// [`render`] as a photo's or a file's caption, which Telegram keeps shorter.
pub fn render_caption(
    template: &str,
    vars: &Map<String, Value>,
    ctx: RenderContext,
) -> Result<Rendered, TemplateError> {
    render_within(template, vars, ctx, MAX_CAPTION_CHARS, " caption")
}

fn render_within(
    template: &str,
    vars: &Map<String, Value>,
    ctx: RenderContext,
    limit: usize,
    what: &str,
) -> Result<Rendered, TemplateError> {
    let spec = find(template).ok_or_else(|| {
        TemplateError::new("template", format!("is unknown: `{template}`; available: {}", names().join(", ")))
    })?;
    let checked = vars::check(spec, vars)?;
    let message = render::compose(spec.name, &checked, ctx)?;
    let len = message.visible_len();
    if len > limit {
        let field =
            checked.longest_string().map_or_else(|| "template_vars".to_string(), |n| format!("template_vars.{n}"));
        return Err(TemplateError::new(
            field,
            format!("renders to {len} characters, over Telegram's {limit}-character{what} limit"),
        ));
    }
    Ok(Rendered { text: message.to_text(), parse_mode: message.is_html().then_some("HTML") })
}
