//! Telegram HTML: escaping, and messages assembled from segments.
//!
//! A message is kept as a list of segments (shown text vs. markup) until the
//! end, so its visible length — what Telegram counts against its limit after
//! parsing — is a sum over the text segments rather than a guess from
//! re-parsing the HTML.

use std::borrow::Cow;

/// Escapes the characters Telegram's HTML parse mode treats specially, so a
/// value always shows as typed and can never open a tag or an entity.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Length as Telegram counts it: UTF-16 code units, so astral characters
/// (most emoji) count twice.
pub fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

enum Segment<'a> {
    /// Shown as-is; escaped on output.
    Text(Cow<'a, str>),
    /// Parsed by Telegram, not shown.
    Markup(&'static str),
}

/// A message under construction.
#[derive(Default)]
pub(crate) struct Message<'a> {
    segments: Vec<Segment<'a>>,
    /// Markup or a variable was added, so the text must be sent in HTML mode
    /// (escaped variables only read right when Telegram unescapes them).
    html: bool,
}

impl<'a> Message<'a> {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Fixed template wording.
    pub(crate) fn text(&mut self, s: &'static str) -> &mut Self {
        self.segments.push(Segment::Text(Cow::Borrowed(s)));
        self
    }

    /// A value from the request (or derived from one).
    pub(crate) fn var(&mut self, s: impl Into<Cow<'a, str>>) -> &mut Self {
        self.html = true;
        self.segments.push(Segment::Text(s.into()));
        self
    }

    /// A tag from the template itself; never built from request data.
    pub(crate) fn markup(&mut self, tag: &'static str) -> &mut Self {
        self.html = true;
        self.segments.push(Segment::Markup(tag));
        self
    }

    /// `s` wrapped in `<b>`.
    pub(crate) fn bold(&mut self, s: &'static str) -> &mut Self {
        self.markup("<b>").text(s).markup("</b>")
    }

    /// What Telegram will count: the shown text in UTF-16 code units.
    pub(crate) fn visible_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => utf16_len(t),
                Segment::Markup(_) => 0,
            })
            .sum()
    }

    /// Whether the message must be sent with `parse_mode = HTML`.
    pub(crate) fn is_html(&self) -> bool {
        self.html
    }

    /// The text to send: escaped text and markup, or the plain text when no
    /// parse mode is needed.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) if self.html => out.push_str(&escape_html(t)),
                Segment::Text(t) => out.push_str(t),
                Segment::Markup(m) => out.push_str(m),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials_only() {
        assert_eq!(
            escape_html(r#"<a href="x">&amp;</a> ok ·"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;amp;&lt;/a&gt; ok ·"
        );
        assert_eq!(escape_html("'plain'"), "'plain'");
    }

    #[test]
    fn visible_length_ignores_markup_and_counts_entities_once() {
        let mut m = Message::new();
        m.text("⏰ ").bold("Hi").var("<&>\"").var("😀");
        assert_eq!(m.to_text(), "⏰ <b>Hi</b>&lt;&amp;&gt;&quot;😀");
        assert_eq!(m.visible_len(), 2 + 2 + 4 + 2);
        assert!(m.is_html());
    }

    #[test]
    fn fixed_text_alone_is_plain() {
        let mut m = Message::new();
        m.text("a & b");
        assert!(!m.is_html());
        assert_eq!(m.to_text(), "a & b");
    }
}
