//! The CLI's own commands: what they print, as a person or a script reads it.

mod support;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, WAIT};

/// `queue-status --json`, as a script reads it.
fn queue_status(stack: &TestStack) -> Value {
    let out = stack.cli(&["queue-status", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn version_tells_the_commit_the_build_date_and_rustc_as_the_api_does() {
    let stack = TestStack::start(Layout::Single).await;
    let out = stack.cli(&["version", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let answered = stack.get("/api/v1/version").await;
    assert_eq!((answered.status, &answered.body), (200, &printed), "the CLI and the API tell one build");
    let build = &printed["build"];
    assert!(build["rustc"].as_str().is_some_and(|r| r.starts_with("rustc 1.")), "{printed}");
    assert!(build["built_at"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()), "{printed}");
    let head = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().expect("git");
    assert_eq!(build["commit"], String::from_utf8_lossy(&head.stdout).trim(), "built from this checkout");
    let text = stack.cli(&["version"]);
    let line = String::from_utf8_lossy(&text.stdout);
    assert!(line.starts_with("novij-telegram ") && line.contains(build["commit"].as_str().unwrap_or("?")), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_status_counts_a_known_backlog() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;
    stack.connect_user("p1", &integration, "user:2").await;
    stack.wait_idle().await;
    // Telegram holds the bot for a minute: the sends wait for the dispatcher.
    let fault = json!({"status": 429, "retry_after": 60, "count": 1, "method": "sendMessage"});
    stack.sandbox_post(&format!("/sandbox/bots/{COMMON_BOT}/faults"), fault).await;
    for i in 0..4 {
        let r = stack.send_text("p1", &integration, &format!("user:{}", 1 + i % 2), "held", &format!("q-{i}")).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for i in 0..2 {
        let body = json!({"project_id": "p1", "integration_id": integration, "recipient_ref": "user:1",
            "template": "text_message", "template_vars": {"text": "later"}, "send_at": later,
            "idempotency_key": format!("r-{i}")});
        let r = stack.post("/api/v1/reminders", body).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let seen = eventually(WAIT, || async {
        let q = queue_status(&stack);
        let settled =
            q["sends_waiting"]["interactive"] == 4 && q["scheduled_reminders"] == 2 && q["projector"]["lag"] == 0;
        settled.then_some(q)
    })
    .await;
    let q = seen.unwrap_or_else(|_| panic!("never 4 waiting and 2 reminders: {}", queue_status(&stack)));
    assert_eq!(
        (&q["sends_waiting"]["bulk"], &q["dead_letters"]),
        (&json!(0), &json!({"send": 0, "inbound": 0})),
        "{q}"
    );
    let events = q["streams"].as_array().and_then(|s| s.iter().find(|s| s["stream"] == "EVENTS")).cloned();
    assert!(events.is_some_and(|e| e["last_sequence"] == q["projector"]["log"]), "{q}");
    let dispatch: u64 = q["consumers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["stream"] == "DISPATCH")
        .map(|c| c["pending"].as_u64().unwrap_or(0) + c["in_flight"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(dispatch, 4, "the dispatch consumers hold the sends: {q}");

    let text = stack.cli(&["queue-status"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("sends waiting: 4 interactive, 0 bulk") && text.contains("scheduled reminders: 2"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bot_test_shows_the_webhook_and_says_when_the_token_is_revoked() {
    let stack = TestStack::start(Layout::Single).await;
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "tested_shop_bot"})).await;
    let token = bot["token"].as_str().expect("token").to_string();
    let integration = stack.create_integration("p1", Some(&token)).await;
    let delivered_before = stack.stats().await["delivered"].clone();

    let out = stack.cli(&["bot-test", &integration, "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tested: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        (&tested["token_valid"], &tested["bot_username"]),
        (&json!(true), &json!("tested_shop_bot")),
        "{tested}"
    );
    let url = tested["webhook"]["url"].as_str().unwrap_or_default();
    assert!(url.starts_with(&stack.api) && url.contains("/api/v1/telegram/webhook/"), "{tested}");
    assert_eq!(tested["webhook"]["pending_update_count"], 0, "{tested}");
    let common = stack.get("/api/v1/integrations/common/webhook").await;
    assert_eq!((common.status, &common.body["token_valid"]), (200, &json!(true)), "{}", common.body);
    assert_eq!(stack.stats().await["delivered"], delivered_before, "the common bot sent nothing");
    assert!(stack.sent("tested_shop_bot").await.is_empty(), "no message to anyone");

    // Revoked in BotFather: bot-test says so, and fails.
    stack.sandbox_post("/sandbox/bots/tested_shop_bot/revoke", json!({})).await;
    let out = stack.cli(&["bot-test", &integration]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && text.contains("token refused by Telegram"), "{text}");
    let api = stack.get(&format!("/api/v1/integrations/{integration}/webhook")).await;
    assert_eq!((api.status, &api.body["token_valid"]), (200, &json!(false)), "{}", api.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn webhook_sync_points_a_drifted_webhook_back_here() {
    let stack = TestStack::start(Layout::Single).await;
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "drifted_shop_bot"})).await;
    let token = bot["token"].as_str().expect("token").to_string();
    let integration = stack.create_integration("p1", Some(&token)).await;
    let ours = format!("{}/api/v1/telegram/webhook/{integration}", stack.api);
    let url_of = |view: &Value| view["webhook"]["url"].as_str().unwrap_or_default().to_string();
    let set = eventually(WAIT, || async {
        let view = stack.cli_run(&["bot-test", &integration, "--json"]);
        assert!(!view.json.is_null(), "bot-test printed no JSON: {}", view.stderr);
        (url_of(&view.json) == ours).then_some(())
    })
    .await;
    assert!(set.is_ok(), "the webhook was never set");

    // Someone points the bot elsewhere (another deployment, a script with the token).
    let elsewhere = json!({"url": "https://elsewhere.example/hook"});
    let http = reqwest::Client::new();
    let changed = http.post(format!("{}/bot{token}/setWebhook", stack.sandbox.base_url())).json(&elsewhere).send();
    assert!(changed.await.expect("setWebhook").status().is_success());
    let drifted = stack.cli_run(&["bot-test", &integration, "--json"]);
    assert_eq!(url_of(&drifted.json), "https://elsewhere.example/hook", "{} {}", drifted.json, drifted.stderr);

    let synced = stack.cli_run(&["webhook-sync", &integration, "--drop-pending", "--json"]);
    assert!(synced.ok(), "{} {}", synced.json, synced.stderr);
    assert_eq!(synced.json["synced"].as_array().map(Vec::len), Some(1), "{} {}", synced.json, synced.stderr);
    assert_eq!(url_of(&synced.json["synced"][0]), ours, "{}", synced.json);
    let tested = stack.cli_run(&["bot-test", &integration, "--json"]);
    assert_eq!(url_of(&tested.json), ours, "{} {}", tested.json, tested.stderr);

    // --all: the common bot and every integration's own bot.
    let all = stack.cli_run(&["webhook-sync", "--all", "--json"]);
    let keys: Vec<&str> =
        all.json["synced"].as_array().into_iter().flatten().filter_map(|v| v["bot_key"].as_str()).collect();
    assert!(all.ok() && keys == ["common", integration.as_str()], "{} {}", all.json, all.stderr);
    assert!(stack.sent("drifted_shop_bot").await.is_empty(), "no message to anyone");
}

/// `novij-telegram <args>` with the stack's environment but for `overrides`.
fn cli_with(stack: &TestStack, args: &[&str], overrides: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_novij-telegram"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(stack.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(overrides.iter().copied())
        .output()
        .expect("run novij-telegram")
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_tell_usage_failure_and_an_unreachable_dependency_apart() {
    let stack = TestStack::start(Layout::Single).await;
    let code = |out: std::process::Output| (out.status.code(), String::from_utf8_lossy(&out.stderr).to_string());

    assert_eq!(code(stack.cli(&["queue-status", "--json"])).0, Some(0));
    assert_eq!(code(stack.cli(&["no-such-command"])).0, Some(2), "a usage error");
    let (exit, said) = code(stack.cli(&["bot-test", "int_unknown"]));
    assert_eq!(exit, Some(1), "a failure: {said}");

    // Nothing listens there: the command says so at once, with 3.
    let away = format!("nats://127.0.0.1:{}", novij_testkit::free_port());
    let started = std::time::Instant::now();
    let (exit, said) = code(cli_with(&stack, &["queue-status"], &[("NATS_URL", &away)]));
    assert_eq!(exit, Some(3), "NATS away: {said}");
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "it waited for NATS");
    let (exit, said) = code(cli_with(&stack, &["keys", "rotate"], &[("NATS_URL", &away)]));
    assert_eq!(exit, Some(3), "NATS away: {said}");
    let db_away = format!("postgres://novij:novij@127.0.0.1:{}/novij", novij_testkit::free_port());
    let (exit, said) = code(cli_with(&stack, &["migrate"], &[("DATABASE_URL", &db_away)]));
    assert_eq!(exit, Some(3), "Postgres away: {said}");
}
