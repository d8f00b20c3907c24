//! The alert card: its own layout (not a catalogue template), rendered from
//! the card's newest content on every send and edit.
//!
//! ```text
//! 🔴 CRITICAL · firing
//! <b>Disk full on db-1</b>
//! summary
//!
//! Host: db-1
//! [Ack] [Resolve]          ← the actions (none once resolved)
//! [Runbook] [Graph]        ← the links
//! ```

use novij_events::incident::{AlertStatus, CardContent, CardNotice, Severity};

use crate::html::Message;
use crate::{Locale, TemplateError, MAX_TEXT_CHARS};

/// In payment mode `dsr` a card costs what this catalogue template costs,
/// once per chat when it is first sent; edits, replies and presses are free.
pub const PRICED_AS: &str = "server_alert_basic";

/// Buttons per keyboard row.
const PER_ROW: usize = 3;

/// A card ready for `sendMessage` / `editMessageText` (always HTML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedCard {
    pub text: String,
    pub keyboard: Vec<Vec<Button>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    /// Pressing it sends `data` back (a callback query).
    Callback {
        label: String,
        data: String,
    },
    Url {
        label: String,
        url: String,
    },
}

/// The `callback_data` of a card's action: the card and the action's
/// position, never the project's own ids (at most 4 + 32 + 10 + 1 + 2 bytes,
/// within Telegram's 64).
pub fn action_data(alert_id: &str, index: usize) -> String {
    format!("{alert_id}:{index}")
}

/// The card and action position a button's `callback_data` names.
pub fn parse_action_data(data: &str) -> Option<(&str, usize)> {
    let (alert_id, index) = data.split_once(':')?;
    Some((alert_id, index.parse().ok()?))
}

/// Renders the card; refuses one whose text Telegram would refuse, naming
/// the field to shorten.
pub fn render_card(
    alert_id: &str,
    severity: Severity,
    status: AlertStatus,
    content: &CardContent,
) -> Result<RenderedCard, TemplateError> {
    let locale: Locale = content.locale.parse().unwrap_or_default();
    let mut m = Message::new();
    m.text(severity_mark(severity)).markup("<b>").text(severity_label(severity, locale)).markup("</b>");
    m.text(" · ").text(status_label(status, locale)).text("\n");
    m.markup("<b>").var(content.title.as_str()).markup("</b>");
    if let Some(summary) = &content.summary {
        m.text("\n").var(summary.as_str());
    }
    if !content.fields.is_empty() {
        m.text("\n");
        for field in &content.fields {
            m.text("\n").markup("<b>").var(field.name.as_str()).markup("</b>").text(": ").var(field.value.as_str());
        }
    }
    if m.visible_len() > MAX_TEXT_CHARS {
        let field = if content.fields.is_empty() { "summary" } else { "fields" };
        return Err(TemplateError::new(field, format!("make the card longer than {MAX_TEXT_CHARS} characters")));
    }
    let actions = content
        .actions
        .iter()
        .enumerate()
        .filter(|_| status != AlertStatus::Resolved)
        .map(|(i, a)| Button::Callback { label: a.label.clone(), data: action_data(alert_id, i) });
    let links = content.links.iter().map(|l| Button::Url { label: l.label.clone(), url: l.url.clone() });
    let mut keyboard = rows(actions.collect());
    keyboard.extend(rows(links.collect()));
    Ok(RenderedCard { text: m.to_text(), keyboard })
}

/// The short reply under a card that tells the chat what an edit would not
/// (Telegram notifies nobody of an edit).
pub fn render_notice(notice: CardNotice, severity: Severity, content: &CardContent) -> String {
    let locale: Locale = content.locale.parse().unwrap_or_default();
    let mut m = Message::new();
    match (notice, locale) {
        (CardNotice::SeverityRaised, Locale::En) => m.text("⬆️ Severity raised to "),
        (CardNotice::SeverityRaised, Locale::Ru) => m.text("⬆️ Важность повышена: "),
        (CardNotice::FiringAgain, Locale::En) => m.text("🔥 Firing again"),
        (CardNotice::FiringAgain, Locale::Ru) => m.text("🔥 Снова активно"),
    };
    if notice == CardNotice::SeverityRaised {
        m.markup("<b>").text(severity_label(severity, locale)).markup("</b>");
    }
    m.text(": ").var(content.title.as_str());
    m.to_text()
}

fn rows(buttons: Vec<Button>) -> Vec<Vec<Button>> {
    buttons.chunks(PER_ROW).map(<[Button]>::to_vec).collect()
}

fn severity_mark(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "🔴 ",
        Severity::High => "🟠 ",
        Severity::Warning => "🟡 ",
        Severity::Info => "🔵 ",
    }
}

fn severity_label(severity: Severity, locale: Locale) -> &'static str {
    match (severity, locale) {
        (Severity::Critical, Locale::En) => "CRITICAL",
        (Severity::Critical, Locale::Ru) => "КРИТИЧНО",
        (Severity::High, Locale::En) => "HIGH",
        (Severity::High, Locale::Ru) => "ВЫСОКИЙ",
        (Severity::Warning, Locale::En) => "WARNING",
        (Severity::Warning, Locale::Ru) => "ПРЕДУПРЕЖДЕНИЕ",
        (Severity::Info, Locale::En) => "INFO",
        (Severity::Info, Locale::Ru) => "ИНФО",
    }
}

fn status_label(status: AlertStatus, locale: Locale) -> &'static str {
    match (status, locale) {
        (AlertStatus::Firing, Locale::En) => "🔥 firing",
        (AlertStatus::Firing, Locale::Ru) => "🔥 активно",
        (AlertStatus::Acknowledged, Locale::En) => "👀 acknowledged",
        (AlertStatus::Acknowledged, Locale::Ru) => "👀 принято",
        (AlertStatus::Resolved, Locale::En) => "✅ resolved",
        (AlertStatus::Resolved, Locale::Ru) => "✅ решено",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use novij_events::incident::{CardAction, CardField, CardLink};

    fn content() -> CardContent {
        CardContent {
            title: "Disk <full>".into(),
            summary: Some("db-1 at 97%".into()),
            fields: vec![CardField { name: "Host".into(), value: "db-1".into() }],
            links: vec![CardLink { label: "Runbook".into(), url: "https://runbooks.example/disk".into() }],
            actions: ["ack", "silence", "resolve", "page"]
                .iter()
                .map(|id| CardAction { id: (*id).into(), label: id.to_uppercase() })
                .collect(),
            locale: "en".into(),
        }
    }

    #[test]
    fn a_card_shows_severity_status_and_escaped_content_with_its_buttons() {
        let card = render_card("alr_1", Severity::Critical, AlertStatus::Firing, &content()).expect("rendered");
        assert_eq!(
            card.text,
            "🔴 <b>CRITICAL</b> · 🔥 firing\n<b>Disk &lt;full&gt;</b>\ndb-1 at 97%\n\n<b>Host</b>: db-1"
        );
        let labels: Vec<Vec<&str>> = card
            .keyboard
            .iter()
            .map(|row| {
                row.iter()
                    .map(|b| match b {
                        Button::Callback { label, .. } | Button::Url { label, .. } => label.as_str(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(labels, vec![vec!["ACK", "SILENCE", "RESOLVE"], vec!["PAGE"], vec!["Runbook"]]);
        assert_eq!(card.keyboard[1][0], Button::Callback { label: "PAGE".into(), data: "alr_1:3".into() });
        assert_eq!(parse_action_data("alr_1:3"), Some(("alr_1", 3)));
    }

    #[test]
    fn a_resolved_card_keeps_its_links_but_not_its_actions_and_speaks_russian() {
        let mut ru = content();
        ru.locale = "ru".into();
        let card = render_card("alr_1", Severity::Info, AlertStatus::Resolved, &ru).expect("rendered");
        assert!(card.text.starts_with("🔵 <b>ИНФО</b> · ✅ решено\n"), "{}", card.text);
        assert_eq!(card.keyboard.len(), 1);
        assert!(matches!(&card.keyboard[0][0], Button::Url { url, .. } if url == "https://runbooks.example/disk"));
    }

    #[test]
    fn a_notice_says_what_changed_with_the_title_escaped() {
        let raised = render_notice(CardNotice::SeverityRaised, Severity::Critical, &content());
        assert_eq!(raised, "⬆️ Severity raised to <b>CRITICAL</b>: Disk &lt;full&gt;");
        let mut ru = content();
        ru.locale = "ru".into();
        assert_eq!(render_notice(CardNotice::FiringAgain, Severity::High, &ru), "🔥 Снова активно: Disk &lt;full&gt;");
    }

    #[test]
    fn an_overlong_card_is_refused_naming_the_field() {
        let mut long = content();
        long.fields = (0..40).map(|i| CardField { name: format!("f{i}"), value: "x".repeat(200) }).collect();
        let refused = render_card("alr_1", Severity::High, AlertStatus::Firing, &long).expect_err("too long");
        assert_eq!(refused.field, "fields");
    }
}
