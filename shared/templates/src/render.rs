//! How each template turns its checked variables into a message.

use crate::html::Message;
use crate::locale::Locale;
use crate::vars::Vars;
use crate::{RenderContext, TemplateError};

/// Builds the message for `template`. `vars` has already been checked
/// against the template's declarations.
pub(crate) fn compose<'a>(
    template: &'static str,
    vars: &Vars<'a>,
    ctx: RenderContext,
) -> Result<Message<'a>, TemplateError> {
    match template {
        "text_message" => text_message(vars),
        "nrsv_reminder" => nrsv_reminder(vars, ctx),
        "server_alert_basic" => server_alert_basic(vars, ctx.locale),
        "test_message" => Ok(test_message(ctx.locale)),
        // Only reachable if the catalogue gains a template without a renderer;
        // a test renders every catalogue entry to keep that from shipping.
        other => Err(TemplateError::new("template", format!("`{other}` has no renderer"))),
    }
}

fn text_message<'a>(vars: &Vars<'a>) -> Result<Message<'a>, TemplateError> {
    let mut m = Message::new();
    m.var(vars.required_str("text")?);
    Ok(m)
}

fn nrsv_reminder<'a>(vars: &Vars<'a>, ctx: RenderContext) -> Result<Message<'a>, TemplateError> {
    let title = vars.required_str("service_title")?;
    let starts_at = vars.required_str("starts_at_local")?;
    let minutes = vars
        .int("minutes_before")
        .or(ctx.default_reminder_minutes.map(i64::from))
        .ok_or_else(|| vars.missing("minutes_before"))?;
    let mut m = Message::new();
    match ctx.locale {
        Locale::Ru => {
            m.text("⏰ ").bold("Напоминание").text("\n").var(title).text("\nНачало: ").var(starts_at);
            if minutes == 0 {
                m.text(" (сейчас)");
            } else {
                m.text(" (через ").var(minutes.to_string()).text(" мин.)");
            }
        }
        Locale::En => {
            m.text("⏰ ").bold("Reminder").text("\n").var(title).text("\nStarts at ").var(starts_at);
            if minutes == 0 {
                m.text(" (now)");
            } else {
                m.text(" (in ").var(minutes.to_string()).text(" min)");
            }
        }
    }
    Ok(m)
}

fn server_alert_basic<'a>(vars: &Vars<'a>, locale: Locale) -> Result<Message<'a>, TemplateError> {
    let severity = vars.required_enum("severity")?;
    let title = vars.required_str("title")?;
    let (emoji, label) = match (severity, locale) {
        ("critical", Locale::En) => ("🔴 ", "CRITICAL"),
        ("critical", Locale::Ru) => ("🔴 ", "КРИТИЧНО"),
        ("warning", Locale::En) => ("🟠 ", "WARNING"),
        ("warning", Locale::Ru) => ("🟠 ", "ПРЕДУПРЕЖДЕНИЕ"),
        ("info", Locale::En) => ("🔵 ", "INFO"),
        ("info", Locale::Ru) => ("🔵 ", "ИНФО"),
        ("resolved", Locale::En) => ("✅ ", "RESOLVED"),
        ("resolved", Locale::Ru) => ("✅ ", "РЕШЕНО"),
        // Unreachable: the enum check only lets declared severities through.
        _ => return Err(TemplateError::var("severity", "has no rendering")),
    };
    let (host_label, source_label) = match locale {
        Locale::En => ("\nHost: ", "\nSource: "),
        Locale::Ru => ("\nХост: ", "\nИсточник: "),
    };
    let mut m = Message::new();
    m.text(emoji).bold(label).text(" · ").var(title);
    if let Some(host) = vars.str("host") {
        m.text(host_label).var(host);
    }
    if let Some(source) = vars.str("source") {
        m.text(source_label).var(source);
    }
    if let Some(text) = vars.str("text") {
        m.text("\n\n").var(text);
    }
    Ok(m)
}

fn test_message<'a>(locale: Locale) -> Message<'a> {
    let mut m = Message::new();
    m.text(match locale {
        Locale::En => "✅ Test message from Novij Telegram Service.",
        Locale::Ru => "✅ Тестовое сообщение от Novij Telegram Service.",
    });
    m
}
