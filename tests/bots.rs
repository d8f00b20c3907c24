//! A project's own bot over its life: Telegram refusing a revoked token and
//! the sends waiting until `PATCH /integrations/{id}` brings the new one;
//! paid broadcast used only beyond the free allowance, and switched off again;
//! its webhook pointed back here when someone points it elsewhere.

mod support;

use std::time::Duration;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, WAIT};
use telegram_sandbox::Limits;

async fn patch(stack: &TestStack, integration: &str, body: Value) -> support::Response {
    stack.request(reqwest::Method::PATCH, &format!("/api/v1/integrations/{integration}"), Some(body), None).await
}

async fn patch_as_admin(stack: &TestStack, integration: &str, body: Value) -> support::Response {
    let path = format!("/api/v1/integrations/{integration}");
    stack.request(reqwest::Method::PATCH, &path, Some(body), Some(&stack.admin_key)).await
}

/// Calls of `method`, of one bot (by a valid token) or of any token.
async fn calls(stack: &TestStack, bot: Option<&str>, method: &str) -> Vec<Value> {
    let bot = bot.map(|b| format!("&bot_username={b}")).unwrap_or_default();
    let calls = stack.sandbox_get(&format!("/sandbox/calls?method={method}{bot}")).await;
    calls.as_array().cloned().unwrap_or_default()
}

async fn send_calls(stack: &TestStack, bot: &str) -> Vec<Value> {
    calls(stack, Some(bot), "sendMessage").await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_holds_the_sends_until_the_new_token_is_patched_in() {
    // Few attempts allowed: waiting for a token must not use them up.
    let stack = TestStack::start_with(
        Layout::Single,
        &[("DISPATCH_MAX_ATTEMPTS", "2"), ("DISPATCH_RETRY_BASE_MS", "100"), ("DISPATCH_RETRY_MAX_MS", "200")],
    )
    .await;
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "shop_alerts_bot"})).await;
    let integration = stack.create_integration("p1", bot["token"].as_str()).await;
    stack.connect_user("p1", &integration, "user:1").await;

    let new_token = stack.sandbox_post("/sandbox/bots/shop_alerts_bot/revoke", json!({})).await["token"]
        .as_str()
        .expect("token")
        .to_string();
    let first = stack.send_text("p1", &integration, "user:1", "order shipped", "t-1").await;
    assert_eq!(first.status, 202, "{}", first.body);
    let path = format!("/api/v1/integrations/{integration}");
    novij_testkit::eventually(support::WAIT, || async {
        (stack.get(&path).await.body["bot_status"] == "unauthorized").then_some(())
    })
    .await
    .expect("the bot was never marked unauthorized");
    let second = stack.send_text("p1", &integration, "user:1", "order delivered", "t-2").await;
    assert_eq!(second.status, 202, "{}", second.body);
    // Long enough for the waiting sends to be redelivered more often than
    // DISPATCH_MAX_ATTEMPTS (they look for a new token every 5 s).
    tokio::time::sleep(Duration::from_secs(12)).await;
    // A revoked token names no bot any more: count every refused call.
    let refused = || async { calls(&stack, None, "sendMessage").await.iter().filter(|c| c["status"] == 401).count() };
    assert_eq!(refused().await, 1, "only the call that found out may reach Telegram with the revoked token");

    // Bad patches change nothing.
    let other = stack.sandbox_post("/sandbox/bots", json!({"username": "other_shop_bot"})).await;
    let wrong_bot = patch_as_admin(&stack, &integration, json!({"custom_bot_token": other["token"]})).await;
    assert_eq!(wrong_bot.status, 422, "{}", wrong_bot.body);
    assert_eq!(wrong_bot.body["error"]["field"], "custom_bot_token");
    assert!(wrong_bot.body["error"]["message"].as_str().unwrap().contains("@other_shop_bot"), "{}", wrong_bot.body);
    let malformed = patch_as_admin(&stack, &integration, json!({"custom_bot_token": "not a token"})).await;
    assert_eq!((malformed.status, &malformed.body["error"]["field"]), (422, &json!("custom_bot_token")));
    let unknown = patch_as_admin(&stack, &integration, json!({"bot_mode": "common"})).await;
    assert!(unknown.status == 400 || unknown.status == 422, "{}", unknown.body);
    assert!(unknown.body.to_string().contains("bot_mode"), "{}", unknown.body);
    let empty = patch_as_admin(&stack, &integration, json!({})).await;
    assert_eq!((empty.status, &empty.body["error"]["field"]), (422, &json!("body")));
    let anonymous = patch(&stack, &integration, json!({"custom_bot_token": new_token})).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(stack.get(&path).await.body["bot_status"], "unauthorized");

    // The first call with the new token meets one 502: a retry, not a dead letter.
    let fault = json!({"status": 502, "count": 1, "method": "sendMessage"});
    stack.sandbox_post("/sandbox/bots/shop_alerts_bot/faults", fault).await;
    let fixed =
        patch_as_admin(&stack, &integration, json!({"custom_bot_token": new_token, "default_locale": "en"})).await;
    assert_eq!(fixed.status, 200, "{}", fixed.body);
    assert_eq!(fixed.body["bot_status"], "ok");
    assert_eq!(fixed.body["default_locale"], "en");
    assert!(!fixed.body.to_string().contains(&new_token), "the API returned the token");
    for send in [&first, &second] {
        stack.wait_send(send.body["send_id"].as_str().unwrap(), "sent").await;
    }
    assert_eq!(refused().await, 1, "no call with the revoked token after the fix");
    let texts: Vec<String> = stack
        .sent("shop_alerts_bot")
        .await
        .iter()
        .filter_map(|m| m["text"].as_str().map(String::from))
        .filter(|t| t.starts_with("order "))
        .collect();
    assert_eq!(texts.len(), 2, "each waiting send delivered once: {texts:?}");
    let webhooks_set = calls(&stack, Some("shop_alerts_bot"), "setWebhook").await;
    let ok = webhooks_set.iter().filter(|c| c["status"] == 200).count();
    assert_eq!(ok, 2, "the webhook is set again with the new token: {webhooks_set:?}");
}

/// Waits until the news bot has delivered `n` messages; its counters then.
async fn delivered(stack: &TestStack, n: u64) -> Value {
    novij_testkit::eventually(Duration::from_secs(60), || async {
        let stats = stack.sandbox_get("/sandbox/stats?bot_username=news_flash_bot").await;
        (stats["delivered"].as_u64()? >= n).then_some(stats)
    })
    .await
    .expect("not every message was delivered")
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_broadcast_is_used_only_beyond_the_free_allowance_and_can_be_switched_off() {
    let mut stack = TestStack::start_custom(Layout::Separate, 1, Limits::telegram(), &[]).await;
    let common = stack
        .post(
            "/api/v1/integrations",
            json!({"project_id": "p1", "owner_wallet_id": "w", "bot_mode": "common", "payment_mode": "none",
                   "default_reminder_minutes": 30, "allow_paid_broadcast": true}),
        )
        .await;
    assert_eq!((common.status, &common.body["error"]["field"]), (422, &json!("allow_paid_broadcast")));

    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "news_flash_bot"})).await;
    let integration =
        stack.create_integration_with("p1", bot["token"].as_str(), json!({"allow_paid_broadcast": true})).await;
    let users: Vec<String> = (0..90).map(|i| format!("reader:{i}")).collect();
    stack.connect_users("p1", &integration, &users).await;
    let broadcast = |tag: &'static str| {
        users
            .iter()
            .map(|u| {
                json!({"project_id": "p1", "integration_id": integration, "recipient_ref": u, "template": "text_message",
                       "template_vars": {"text": format!("{tag} for {u}")}, "idempotency_key": format!("{tag}-{u}"),
                       "priority": "bulk"})
            })
            .collect::<Vec<_>>()
    };
    let welcomes = users.len() as u64;
    let paid_before = delivered(&stack, welcomes).await["paid_broadcast"].as_u64().unwrap_or_default();

    // The whole edition waits while no dispatcher runs, then goes out at
    // once: more than the free 30/s.
    let before = send_calls(&stack, "news_flash_bot").await.len();
    stack.service("dispatcher").kill().await;
    stack.send_all(broadcast("edition 1")).await;
    stack.service("dispatcher").restart().expect("restart");
    stack.wait_ready().await;
    let stats = delivered(&stack, welcomes + 90).await;
    let calls = send_calls(&stack, "news_flash_bot").await;
    let edition = &calls[before..];
    let paid = edition.iter().filter(|c| c["params"]["allow_paid_broadcast"] == true).count();
    assert!(paid > 0, "90 messages at once never needed paid broadcast");
    assert!(edition.len() - paid >= 30, "the free allowance was not used first ({paid} of {} paid)", edition.len());
    assert_eq!(stats["paid_broadcast"].as_u64(), Some(paid_before + paid as u64), "the sandbox counts them too");
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");

    let off = patch_as_admin(&stack, &integration, json!({"allow_paid_broadcast": false})).await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["allow_paid_broadcast"], false);
    let before = send_calls(&stack, "news_flash_bot").await.len();
    stack.send_all(broadcast("edition 2")).await;
    delivered(&stack, welcomes + 180).await;
    let calls = send_calls(&stack, "news_flash_bot").await;
    assert!(
        calls[before..].iter().all(|c| c["params"]["allow_paid_broadcast"].is_null()),
        "a call was flagged after paid broadcast was switched off"
    );
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
}

/// How many events the log holds on `subject`.
async fn stored_on(stack: &TestStack, subject: &str) -> u64 {
    use futures::StreamExt as _;
    let events = stack.jetstream().await.get_stream("EVENTS").await.expect("EVENTS");
    let mut subjects = events.info_with_subjects(subject).await.expect("info");
    subjects.next().await.map_or(0, |found| found.map_or(0, |(_, n)| n as u64))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_pointed_elsewhere_is_set_back_by_the_scheduler() {
    let stack = TestStack::start_with(Layout::Separate, &[("WEBHOOK_CHECK_SECONDS", "1")]).await;
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "wandering_bot"})).await;
    let token = bot["token"].as_str().expect("token").to_string();
    let integration = stack.create_integration("p1", Some(&token)).await;
    let ours = format!("{}/api/v1/telegram/webhook/{integration}", stack.api);
    let webhook_url = || async {
        let view = stack.get(&format!("/api/v1/integrations/{integration}/webhook")).await.body;
        view["webhook"]["url"].as_str().unwrap_or_default().to_string()
    };
    let set_here = || async { (webhook_url().await == ours).then_some(()) };
    assert!(eventually(WAIT, set_here).await.is_ok(), "the webhook was never set");
    // The first setting recorded: the count below starts from it.
    let subject = format!("nt.ev.integration.{integration}.webhook_set");
    let recorded = eventually(WAIT, || async { (stored_on(&stack, &subject).await == 1).then_some(()) }).await;
    assert!(recorded.is_ok(), "the first webhook setting was never recorded");
    let sets_before = 1;

    // Someone points the bot elsewhere with its token.
    let elsewhere = json!({"url": "https://elsewhere.example/hook"});
    let http = reqwest::Client::new();
    let changed = http.post(format!("{}/bot{token}/setWebhook", stack.sandbox.base_url())).json(&elsewhere).send();
    assert!(changed.await.expect("setWebhook").status().is_success());

    assert!(eventually(WAIT, set_here).await.is_ok(), "the webhook stayed elsewhere:\n{}", stack.output_tail());
    assert_eq!(
        stored_on(&stack, &subject).await,
        sets_before + 1,
        "the re-sync is recorded as integration.webhook_set"
    );
    assert!(stack.sent("wandering_bot").await.is_empty(), "no message to anyone");
}
