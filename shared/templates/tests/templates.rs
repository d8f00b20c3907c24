//! Behaviour of the public API: exact renderings, escaping, validation and
//! the length limit.

use novij_templates::{
    catalogue, find, names, render, Locale, RenderContext, Rendered, TemplateError, VarKind, LOCALES, MAX_TEXT_CHARS,
};
use serde_json::{json, Map, Value};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("test vars must be a JSON object")
}

fn ctx(locale: Locale) -> RenderContext {
    RenderContext { locale, default_reminder_minutes: None }
}

fn ok(template: &str, vars: Value, locale: Locale) -> Rendered {
    render(template, &obj(vars), ctx(locale)).expect("should render")
}

fn err(template: &str, vars: Value) -> TemplateError {
    render(template, &obj(vars), RenderContext::default()).expect_err("should be refused")
}

fn field(template: &str, vars: Value) -> String {
    err(template, vars).field
}

fn html(text: &str) -> Rendered {
    Rendered { text: text.to_string(), parse_mode: Some("HTML") }
}

/// A valid, complete set of variables for each template.
fn full_vars(template: &str) -> Value {
    match template {
        "text_message" => json!({"text": "Hello"}),
        "nrsv_reminder" => {
            json!({"service_title": "Massage", "starts_at_local": "2026-06-01 12:30", "minutes_before": 30})
        }
        "server_alert_basic" => {
            json!({"severity": "critical", "title": "Disk full", "host": "db-1", "source": "prometheus", "text": "95% used"})
        }
        "test_message" => json!({}),
        other => panic!("no test vars for {other}"),
    }
}

// ---------------------------------------------------------------- catalogue

#[test]
fn catalogue_lists_the_four_templates_in_order() {
    let expected = ["text_message", "nrsv_reminder", "server_alert_basic", "test_message"];
    assert_eq!(names(), expected);
    assert_eq!(catalogue().iter().map(|t| t.name).collect::<Vec<_>>(), expected);
    assert_eq!(find("nrsv_reminder").map(|t| t.name), Some("nrsv_reminder"));
    assert!(find("nope").is_none());
    let alert_vars: Vec<_> =
        find("server_alert_basic").unwrap().variables.iter().map(|v| (v.name, v.required)).collect();
    assert_eq!(alert_vars, [("severity", true), ("title", true), ("host", false), ("source", false), ("text", false)]);
    let reminder = find("nrsv_reminder").unwrap();
    assert!(matches!(reminder.variable("minutes_before").unwrap().kind, VarKind::Integer { min: 0, max: 10080 }));
    assert!(!reminder.variable("minutes_before").unwrap().required);
    assert!(find("test_message").unwrap().variables.is_empty());
}

#[test]
fn catalogue_serializes_for_clients() {
    let v = serde_json::to_value(catalogue()).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 4);
    assert_eq!(
        list[0],
        json!({
            "name": "text_message",
            "description": "Free text, sent as given (HTML-escaped).",
            "variables": [{
                "name": "text",
                "kind": {"type": "string", "max_chars": 4096},
                "required": true,
                "description": "The message text."
            }]
        })
    );
    assert_eq!(list[1]["variables"][2]["kind"], json!({"type": "integer", "min": 0, "max": 10080}));
    assert_eq!(
        list[2]["variables"][0]["kind"],
        json!({"type": "enum", "values": ["critical", "warning", "info", "resolved"]})
    );
    assert_eq!(list[3]["variables"], json!([]));
}

#[test]
fn every_catalogue_entry_renders_in_every_locale() {
    for t in catalogue() {
        for &l in LOCALES {
            let r = ok(t.name, full_vars(t.name), l);
            assert!(!r.text.is_empty(), "{} {l}", t.name);
        }
    }
}

// ---------------------------------------------------------------- exact renderings

#[test]
fn text_message_renders_the_text_alone_in_every_locale() {
    for &l in LOCALES {
        assert_eq!(ok("text_message", json!({"text": "Hello\n\tthere"}), l), html("Hello\n\tthere"));
    }
}

#[test]
fn nrsv_reminder_renders_exactly() {
    assert_eq!(
        ok("nrsv_reminder", full_vars("nrsv_reminder"), Locale::Ru),
        html("⏰ <b>Напоминание</b>\nMassage\nНачало: 2026-06-01 12:30 (через 30 мин.)")
    );
    assert_eq!(
        ok("nrsv_reminder", full_vars("nrsv_reminder"), Locale::En),
        html("⏰ <b>Reminder</b>\nMassage\nStarts at 2026-06-01 12:30 (in 30 min)")
    );
}

#[test]
fn nrsv_reminder_at_zero_minutes_says_now() {
    let vars = json!({"service_title": "Стрижка", "starts_at_local": "2026-06-01 12:30", "minutes_before": 0});
    assert_eq!(
        ok("nrsv_reminder", vars.clone(), Locale::Ru),
        html("⏰ <b>Напоминание</b>\nСтрижка\nНачало: 2026-06-01 12:30 (сейчас)")
    );
    assert_eq!(
        ok("nrsv_reminder", vars, Locale::En),
        html("⏰ <b>Reminder</b>\nСтрижка\nStarts at 2026-06-01 12:30 (now)")
    );
}

#[test]
fn nrsv_reminder_minutes_default_from_context() {
    let vars = obj(json!({"service_title": "Massage", "starts_at_local": "2026-06-01 12:30"}));
    let with_default = |minutes, locale| {
        render("nrsv_reminder", &vars, RenderContext { locale, default_reminder_minutes: Some(minutes) }).unwrap()
    };
    assert_eq!(
        with_default(45, Locale::En),
        html("⏰ <b>Reminder</b>\nMassage\nStarts at 2026-06-01 12:30 (in 45 min)")
    );
    assert_eq!(
        with_default(45, Locale::Ru),
        html("⏰ <b>Напоминание</b>\nMassage\nНачало: 2026-06-01 12:30 (через 45 мин.)")
    );
    assert_eq!(with_default(0, Locale::En), html("⏰ <b>Reminder</b>\nMassage\nStarts at 2026-06-01 12:30 (now)"));

    // The request's value wins over the default.
    let mut explicit = vars.clone();
    explicit.insert("minutes_before".into(), json!(10));
    let r =
        render("nrsv_reminder", &explicit, RenderContext { locale: Locale::En, default_reminder_minutes: Some(45) })
            .unwrap();
    assert_eq!(r, html("⏰ <b>Reminder</b>\nMassage\nStarts at 2026-06-01 12:30 (in 10 min)"));

    // No value and no default.
    let e = render("nrsv_reminder", &vars, ctx(Locale::En)).unwrap_err();
    assert_eq!(e, TemplateError::new("template_vars.minutes_before", "is required by nrsv_reminder"));
    assert_eq!(e.to_string(), "template_vars.minutes_before is required by nrsv_reminder");
}

#[test]
fn server_alert_basic_renders_every_severity_exactly() {
    let cases = [
        ("critical", "🔴 <b>CRITICAL</b>", "🔴 <b>КРИТИЧНО</b>"),
        ("warning", "🟠 <b>WARNING</b>", "🟠 <b>ПРЕДУПРЕЖДЕНИЕ</b>"),
        ("info", "🔵 <b>INFO</b>", "🔵 <b>ИНФО</b>"),
        ("resolved", "✅ <b>RESOLVED</b>", "✅ <b>РЕШЕНО</b>"),
    ];
    for (severity, en, ru) in cases {
        let vars = json!({"severity": severity, "title": "Disk full"});
        assert_eq!(ok("server_alert_basic", vars.clone(), Locale::En), html(&format!("{en} · Disk full")));
        assert_eq!(ok("server_alert_basic", vars, Locale::Ru), html(&format!("{ru} · Disk full")));
    }
}

#[test]
fn server_alert_basic_renders_optional_parts_exactly() {
    assert_eq!(
        ok("server_alert_basic", full_vars("server_alert_basic"), Locale::En),
        html("🔴 <b>CRITICAL</b> · Disk full\nHost: db-1\nSource: prometheus\n\n95% used")
    );
    assert_eq!(
        ok("server_alert_basic", full_vars("server_alert_basic"), Locale::Ru),
        html("🔴 <b>КРИТИЧНО</b> · Disk full\nХост: db-1\nИсточник: prometheus\n\n95% used")
    );
    assert_eq!(
        ok("server_alert_basic", json!({"severity": "info", "title": "Deploy", "source": "ci"}), Locale::En),
        html("🔵 <b>INFO</b> · Deploy\nSource: ci")
    );
    assert_eq!(
        ok("server_alert_basic", json!({"severity": "info", "title": "Deploy", "text": "v2 is live"}), Locale::Ru),
        html("🔵 <b>ИНФО</b> · Deploy\n\nv2 is live")
    );
    assert_eq!(
        ok(
            "server_alert_basic",
            json!({"severity": "resolved", "title": "Up", "host": "web", "source": null}),
            Locale::Ru
        ),
        html("✅ <b>РЕШЕНО</b> · Up\nХост: web")
    );
}

#[test]
fn test_message_renders_exactly_without_parse_mode() {
    assert_eq!(
        ok("test_message", json!({}), Locale::En),
        Rendered { text: "✅ Test message from Novij Telegram Service.".into(), parse_mode: None }
    );
    assert_eq!(
        ok("test_message", json!({}), Locale::Ru),
        Rendered {
            text: "✅ Тестовое сообщение от Novij Telegram Service.".into(), parse_mode: None
        }
    );
    assert_eq!(
        render("test_message", &Map::new(), RenderContext::default()).unwrap().text,
        "✅ Тестовое сообщение от Novij Telegram Service."
    );
}

// ---------------------------------------------------------------- escaping

const INJECTION: &str = r#"<b>x</b><a href="http://e">&amp;"</a>"#;
const INJECTION_ESCAPED: &str = "&lt;b&gt;x&lt;/b&gt;&lt;a href=&quot;http://e&quot;&gt;&amp;amp;&quot;&lt;/a&gt;";

#[test]
fn every_string_variable_is_escaped() {
    let mut checked = 0;
    for t in catalogue() {
        for var in t.variables.iter().filter(|v| matches!(v.kind, VarKind::String { .. })) {
            for &l in LOCALES {
                let benign = ok(t.name, full_vars(t.name), l);
                let mut vars = full_vars(t.name);
                vars[var.name] = json!(INJECTION);
                let r = ok(t.name, vars, l);
                let what = format!("{}.{} ({l})", t.name, var.name);
                assert!(r.text.contains(INJECTION_ESCAPED), "{what}: {}", r.text);
                assert!(!r.text.contains("<a"), "{what}: {}", r.text);
                assert!(!r.text.contains("<b>x"), "{what}: {}", r.text);
                assert!(!r.text.contains("&amp;\""), "{what}: {}", r.text);
                // No tags beyond the template's own.
                assert_eq!(r.text.matches('<').count(), benign.text.matches('<').count(), "{what}");
                assert_eq!(r.parse_mode, Some("HTML"), "{what}");
                checked += 1;
            }
        }
    }
    // text_message.text, nrsv_reminder × 2, server_alert_basic × 4, in two locales.
    assert_eq!(checked, 14);
}

#[test]
fn escaping_is_exact_in_place() {
    assert_eq!(ok("text_message", json!({"text": INJECTION}), Locale::En), html(INJECTION_ESCAPED));
    assert_eq!(
        ok("server_alert_basic", json!({"severity": "warning", "title": "a < b & \"c\" > d"}), Locale::En),
        html("🟠 <b>WARNING</b> · a &lt; b &amp; &quot;c&quot; &gt; d")
    );
}

// ---------------------------------------------------------------- length limit

#[test]
fn text_message_length_limit() {
    // Exactly at the limit is fine.
    assert_eq!(ok("text_message", json!({"text": "a".repeat(4096)}), Locale::En).text.chars().count(), 4096);

    // Over the variable's own limit.
    let e = err("text_message", json!({"text": "a".repeat(4097)}));
    assert_eq!(e, TemplateError::new("template_vars.text", "must be at most 4096 characters (got 4097)"));

    // Escaping lengthens the HTML but not what Telegram counts.
    let r = ok("text_message", json!({"text": "<".repeat(4096)}), Locale::En);
    assert_eq!(r.text, "&lt;".repeat(4096));
    assert_eq!(r.parse_mode, Some("HTML"));
}

#[test]
fn length_is_counted_in_utf16_units() {
    // 2048 astral emoji are 4096 UTF-16 units: exactly at the limit.
    assert!(render("text_message", &obj(json!({"text": "😀".repeat(2048)})), RenderContext::default()).is_ok());

    // 2049 chars fit the variable's 4096-char limit, but are 4098 units.
    let e = err("text_message", json!({"text": "😀".repeat(2049)}));
    assert_eq!(
        e,
        TemplateError::new("template_vars.text", "renders to 4098 characters, over Telegram's 4096-character limit")
    );
    assert_eq!(e.to_string(), "template_vars.text renders to 4098 characters, over Telegram's 4096-character limit");
}

#[test]
fn server_alert_basic_whole_message_limit() {
    // Each variable fits its own maximum, the whole does not:
    // "🔴 " 3 + "CRITICAL" 8 + " · " 3 + 256 + "\nHost: " 7 + 256 + "\nSource: " 9 + 256 + "\n\n" 2 + 3500 = 4300.
    let vars = json!({
        "severity": "critical",
        "title": "t".repeat(256),
        "host": "h".repeat(256),
        "source": "s".repeat(256),
        "text": "x".repeat(3500),
    });
    let e = render("server_alert_basic", &obj(vars.clone()), ctx(Locale::En)).unwrap_err();
    assert_eq!(e.field, "template_vars.text");
    assert_eq!(e.message, "renders to 4300 characters, over Telegram's 4096-character limit");

    // Russian labels differ in length: "КРИТИЧНО" 8, "\nХост: " 7, "\nИсточник: " 11 → 4302.
    let e = render("server_alert_basic", &obj(vars), ctx(Locale::Ru)).unwrap_err();
    assert_eq!(e.message, "renders to 4302 characters, over Telegram's 4096-character limit");

    // Right at the limit: 4300 - 204 = 4096.
    let at_limit = json!({
        "severity": "critical",
        "title": "t".repeat(256),
        "host": "h".repeat(256),
        "source": "s".repeat(256),
        "text": "x".repeat(3500 - 204),
    });
    let r = ok("server_alert_basic", at_limit, Locale::En);
    assert_eq!(r.text.replace("<b>", "").replace("</b>", "").encode_utf16().count(), MAX_TEXT_CHARS);

    // Astral characters count twice: 256-char emoji title and host push a
    // 3500-char text over.
    // "🔵 " 3 + "INFO" 4 + " · " 3 + 512 + "\nHost: " 7 + 512 + "\n\n" 2 + 3500 = 4543.
    let vars =
        json!({"severity": "info", "title": "😀".repeat(256), "host": "🚀".repeat(256), "text": "x".repeat(3500)});
    let e = render("server_alert_basic", &obj(vars), ctx(Locale::En)).unwrap_err();
    assert_eq!(e.field, "template_vars.text");
    assert_eq!(e.message, "renders to 4543 characters, over Telegram's 4096-character limit");
}

#[test]
fn nrsv_reminder_cannot_overflow() {
    let r = ok(
        "nrsv_reminder",
        json!({"service_title": "😀".repeat(256), "starts_at_local": "😀".repeat(64), "minutes_before": 10080}),
        Locale::Ru,
    );
    assert!(r.text.encode_utf16().count() < MAX_TEXT_CHARS);
}

// ---------------------------------------------------------------- validation

#[test]
fn unknown_template() {
    let e = err("nope", json!({}));
    assert_eq!(e.field, "template");
    assert_eq!(
        e.message,
        "is unknown: `nope`; available: text_message, nrsv_reminder, server_alert_basic, test_message"
    );
    // Unknown template is reported before anything about the variables.
    assert_eq!(field("nope", json!({"zzz": 1})), "template");
}

#[test]
fn unknown_variables_name_the_first_in_sorted_order() {
    for t in catalogue() {
        let mut vars = full_vars(t.name);
        vars["zeta"] = json!("x");
        vars["alpha"] = json!("x");
        let e = err(t.name, vars);
        assert_eq!(e, TemplateError::new("template_vars.alpha", "is not a variable of this template"), "{}", t.name);
    }
    // Reported before a missing required variable.
    assert_eq!(field("text_message", json!({"txt": "hi"})), "template_vars.txt");
    assert_eq!(field("test_message", json!({"text": "hi"})), "template_vars.text");
    // A variable of another template is still unknown here.
    assert_eq!(field("nrsv_reminder", json!({"severity": "info"})), "template_vars.severity");
}

#[test]
fn missing_required_variables() {
    let cases = [
        ("text_message", json!({}), "text"),
        ("text_message", json!({"text": null}), "text"),
        ("nrsv_reminder", json!({"starts_at_local": "12:30", "minutes_before": 5}), "service_title"),
        ("nrsv_reminder", json!({"service_title": "Massage", "minutes_before": 5}), "starts_at_local"),
        // Declaration order: service_title before starts_at_local.
        ("nrsv_reminder", json!({}), "service_title"),
        ("server_alert_basic", json!({"title": "x"}), "severity"),
        ("server_alert_basic", json!({"severity": "info"}), "title"),
        ("server_alert_basic", json!({"host": "h"}), "severity"),
    ];
    for (t, vars, var) in cases {
        let e = err(t, vars.clone());
        assert_eq!(e, TemplateError::new(format!("template_vars.{var}"), format!("is required by {t}")), "{t} {vars}");
    }
}

#[test]
fn mistyped_variables() {
    let s = "must be a string";
    let i = "must be an integer";
    let sev = "must be one of: critical, warning, info, resolved";
    let reminder = |k: &str, v: Value| {
        let mut vars = full_vars("nrsv_reminder");
        vars[k] = v;
        vars
    };
    let alert = |k: &str, v: Value| {
        let mut vars = full_vars("server_alert_basic");
        vars[k] = v;
        vars
    };
    let cases = [
        ("text_message", json!({"text": 5}), "text", s),
        ("text_message", json!({"text": ["a"]}), "text", s),
        ("text_message", json!({"text": {"a": 1}}), "text", s),
        ("nrsv_reminder", reminder("service_title", json!(true)), "service_title", s),
        ("nrsv_reminder", reminder("starts_at_local", json!(1_780_000_000)), "starts_at_local", s),
        ("nrsv_reminder", reminder("minutes_before", json!(30.5)), "minutes_before", i),
        ("nrsv_reminder", reminder("minutes_before", json!(30.0)), "minutes_before", i),
        ("nrsv_reminder", reminder("minutes_before", json!("30")), "minutes_before", i),
        ("nrsv_reminder", reminder("minutes_before", json!(true)), "minutes_before", i),
        ("server_alert_basic", alert("severity", json!("fatal")), "severity", sev),
        ("server_alert_basic", alert("severity", json!("CRITICAL")), "severity", sev),
        ("server_alert_basic", alert("severity", json!(1)), "severity", sev),
        ("server_alert_basic", alert("title", json!(1)), "title", s),
        ("server_alert_basic", alert("host", json!(["db"])), "host", s),
        ("server_alert_basic", alert("source", json!(false)), "source", s),
        ("server_alert_basic", alert("text", json!(3.5)), "text", s),
    ];
    for (t, vars, var, message) in cases {
        let e = err(t, vars.clone());
        assert_eq!(e, TemplateError::new(format!("template_vars.{var}"), message), "{t} {vars}");
    }
}

#[test]
fn out_of_range_integers() {
    let with =
        |m: Value| json!({"service_title": "Massage", "starts_at_local": "2026-06-01 12:30", "minutes_before": m});
    for m in [json!(-1), json!(10081), json!(i64::MIN), json!(u64::MAX)] {
        let e = err("nrsv_reminder", with(m.clone()));
        assert_eq!(e, TemplateError::new("template_vars.minutes_before", "must be between 0 and 10080"), "{m}");
    }
    assert!(render("nrsv_reminder", &obj(with(json!(10080))), RenderContext::default()).is_ok());
    assert!(render("nrsv_reminder", &obj(with(json!(0))), RenderContext::default()).is_ok());
}

#[test]
fn bad_strings() {
    let empty = "must not be empty";
    let control = "must not contain control characters other than newline and tab";
    let cases = [
        ("text_message", json!({"text": ""}), "text", empty.to_string()),
        ("text_message", json!({"text": " \n\t "}), "text", empty.to_string()),
        ("text_message", json!({"text": "a\u{0}b"}), "text", control.to_string()),
        ("text_message", json!({"text": "a\rb"}), "text", control.to_string()),
        ("text_message", json!({"text": "a\u{1b}[31mb"}), "text", control.to_string()),
        ("text_message", json!({"text": "a\u{85}b"}), "text", control.to_string()),
        (
            "nrsv_reminder",
            json!({"service_title": "x".repeat(257), "starts_at_local": "2026-06-01 12:30"}),
            "service_title",
            "must be at most 256 characters (got 257)".to_string(),
        ),
        (
            "nrsv_reminder",
            json!({"service_title": "x", "starts_at_local": "1".repeat(65)}),
            "starts_at_local",
            "must be at most 64 characters (got 65)".to_string(),
        ),
        ("nrsv_reminder", json!({"service_title": "  ", "starts_at_local": "x"}), "service_title", empty.to_string()),
        ("server_alert_basic", json!({"severity": "info", "title": ""}), "title", empty.to_string()),
        (
            "server_alert_basic",
            json!({"severity": "info", "title": "x", "host": "h".repeat(257)}),
            "host",
            "must be at most 256 characters (got 257)".to_string(),
        ),
        (
            "server_alert_basic",
            json!({"severity": "info", "title": "x", "source": "é".repeat(257)}),
            "source",
            "must be at most 256 characters (got 257)".to_string(),
        ),
        (
            "server_alert_basic",
            json!({"severity": "info", "title": "x", "text": "t".repeat(3501)}),
            "text",
            "must be at most 3500 characters (got 3501)".to_string(),
        ),
        ("server_alert_basic", json!({"severity": "info", "title": "x", "host": ""}), "host", empty.to_string()),
        (
            "server_alert_basic",
            json!({"severity": "info", "title": "x", "source": "a\u{7f}"}),
            "source",
            control.to_string(),
        ),
    ];
    for (t, vars, var, message) in cases {
        let e = err(t, vars.clone());
        assert_eq!(e, TemplateError::new(format!("template_vars.{var}"), message), "{t} {vars}");
    }
    // Max chars are counted in chars, not bytes: 256 two-byte chars fit.
    assert!(render(
        "server_alert_basic",
        &obj(json!({"severity": "info", "title": "é".repeat(256)})),
        RenderContext::default()
    )
    .is_ok());
}

#[test]
fn checks_run_in_declaration_order() {
    // Both severity and title are wrong: severity is declared first.
    assert_eq!(field("server_alert_basic", json!({"severity": "bad", "title": 5})), "template_vars.severity");
    // title wrong, text too long: title first.
    assert_eq!(
        field("server_alert_basic", json!({"severity": "info", "title": "", "text": "t".repeat(4000)})),
        "template_vars.title"
    );
    // minutes_before is checked last, after the strings.
    assert_eq!(
        field("nrsv_reminder", json!({"service_title": "x", "starts_at_local": 1, "minutes_before": -5})),
        "template_vars.starts_at_local"
    );
}
