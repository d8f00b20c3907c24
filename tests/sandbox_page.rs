//! The Telegram sandbox's web page in headless Chromium (Debian's, driven by
//! PyPI `playwright` through `tests/browser/sandbox_page.py`; both installed
//! by scripts/bootstrap.sh): a person connects a user by pasting a deep link
//! the API made, sees an alert card arrive, presses its Ack button, sees the
//! bot's toast and the card change once the project acks with a result —
//! all live, without a reload — and a forced limit violation highlighted;
//! the page formats messages from their entities, never renders their text
//! as markup, works from the keyboard, and fits a phone and a desktop.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{Layout, TestStack, COMMON_BOT};
use telegram_sandbox::{BotSeed, Limits, SandboxConfig};
use tokio::process::Command;

const PROJECT: &str = "p_sandbox_page";
/// Chromium's start plus every step's own waits, with room for a slow machine.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

/// Runs one scenario of the script with `settings` in its environment;
/// panics with its output unless it succeeds.
async fn run_page_script(scenario: &str, settings: &[(&str, &str)]) {
    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/sandbox_page.py");
    let run = Command::new(&python)
        .arg(script)
        .arg(scenario)
        .envs(settings.iter().copied())
        .env("PYTHONPATH", std::env::var("TEST_PYTHONPATH").unwrap_or_default())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(SCRIPT_TIMEOUT, run)
        .await
        .unwrap_or_else(|_| panic!("the {scenario} scenario took longer than {SCRIPT_TIMEOUT:?}"))
        .unwrap_or_else(|e| panic!("cannot run {python} (TEST_PYTHON; scripts/bootstrap.sh sets it): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the {scenario} scenario failed:\n{stdout}\n{stderr}");
    assert!(stdout.trim_end().ends_with("ok"), "the {scenario} scenario did not finish:\n{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_connects_by_deep_link_and_acks_an_alert_card_live_and_sees_a_violation() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let sandbox_url = stack.sandbox.base_url();
    run_page_script(
        "live",
        &[
            ("SANDBOX_URL", &sandbox_url),
            ("API_URL", &stack.api),
            ("ADMIN_KEY", &stack.admin_key),
            ("PROJECT_ID", PROJECT),
            ("INTEGRATION_ID", &integration),
            ("BOT_TOKEN", &stack.common_token),
            ("BOT_USERNAME", COMMON_BOT),
        ],
    )
    .await;

    // What the page showed is what happened.
    let path = format!("/api/v1/integrations/{integration}/recipients?public_user_ref=oncall:1");
    let recipients = stack.get(&path).await;
    let bound = recipients.body.as_array().is_some_and(|r| r.iter().any(|x| x["status"] == "active"));
    assert!(bound, "the user the page connected is not a recipient: {}", recipients.body);
    let violations = stack.sandbox_get("/sandbox/violations").await;
    assert!(violations.as_array().is_some_and(|v| !v.is_empty()), "no violation was recorded: {violations}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_renders_formatting_not_markup_works_from_the_keyboard_and_fits_phone_and_desktop() {
    let token = format!("7{:09}:AApage{}", 123_456_789, "x".repeat(30));
    let sandbox = telegram_sandbox::start(SandboxConfig {
        bots: vec![BotSeed { token: token.clone(), username: COMMON_BOT.into(), first_name: "Novij".into() }],
        // The scenario sends as fast as it can; limits are the other test's business.
        limits: Limits::unlimited(),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let sandbox_url = sandbox.base_url();
    run_page_script("layout", &[("SANDBOX_URL", &sandbox_url), ("BOT_TOKEN", &token), ("BOT_USERNAME", COMMON_BOT)])
        .await;

    // The message typed on the page reached the bot as a user's message.
    let updates: Value = reqwest::get(format!("{sandbox_url}/sandbox/bots/{COMMON_BOT}/updates"))
        .await
        .expect("updates")
        .json()
        .await
        .expect("json");
    let typed = updates
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["message"]["text"].as_str().is_some_and(|t| t.starts_with("<img")))
        .count();
    assert_eq!(typed, 1, "one message typed on the page: {updates}");
    sandbox.shutdown().await;
}
