//! Broadcasts: one message to many connected recipients, fixed at creation,
//! sent as bulk traffic behind the bot's interactive sends, with exact
//! progress; a cancel stops what is still queued; a paid broadcast is paid
//! once, for all its recipients.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, PAYER_WALLET, SERVICE_WALLET, WAIT};
use telegram_sandbox::Limits;

const PROJECT: &str = "p_broadcast";

/// Telegram's rules ten times faster, in the sandbox and in the dispatcher.
fn scaled() -> (Limits, [(&'static str, &'static str); 3]) {
    (
        Limits { scale: 10.0, ..Limits::telegram() },
        [
            ("TELEGRAM_LIMIT_PER_BOT_PER_SECOND", "300"),
            ("TELEGRAM_LIMIT_PER_CHAT_PER_SECOND", "10"),
            ("TELEGRAM_LIMIT_PER_GROUP_PER_MINUTE", "200"),
        ],
    )
}

/// The sendMessage calls answered 200 whose text is `text`, by chat.
async fn delivered(stack: &TestStack, text: &str) -> HashMap<i64, Vec<i64>> {
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMessage")).await;
    let mut out: HashMap<i64, Vec<i64>> = HashMap::new();
    for c in calls.as_array().into_iter().flatten().filter(|c| c["status"] == 200 && c["params"]["text"] == text) {
        let chat = c["params"]["chat_id"].as_i64().unwrap_or_default();
        out.entry(chat).or_default().push(c["at_ms"].as_i64().unwrap_or_default());
    }
    out
}

async fn count(stack: &TestStack, text: &str) -> usize {
    delivered(stack, text).await.values().map(Vec::len).sum()
}

async fn wait_count(stack: &TestStack, text: &str, n: usize, within: Duration) {
    let reached = eventually(within, || async { (count(stack, text).await >= n).then_some(()) }).await;
    assert!(reached.is_ok(), "{n} × {text:?} never delivered ({}):\n{}", count(stack, text).await, stack.output_tail());
}

fn broadcast(text: &str, key: &str, integration: &str) -> Value {
    json!({"project_id": PROJECT, "integration_id": integration, "all_connected": true,
           "template": "text_message", "template_vars": {"text": text}, "idempotency_key": key})
}

/// `base` with the fields of `patch` set.
fn merged(base: &Value, patch: Value) -> Value {
    let mut body = base.clone();
    if let (Some(b), Some(p)) = (body.as_object_mut(), patch.as_object()) {
        b.extend(p.clone());
    }
    body
}

async fn progress(stack: &TestStack, id: &str) -> Value {
    let r = stack.get(&format!("/api/v1/broadcasts/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broadcast_reaches_everyone_once_behind_interactive_sends_and_a_cancel_stops_the_rest() {
    let (limits, env) = scaled();
    let stack = TestStack::start_custom(Layout::Separate, 1, limits, &env).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let users: Vec<String> = (0..1000).map(|i| format!("user:{i}")).collect();
    let chats = stack.connect_users(PROJECT, &integration, &users).await;
    stack.wait_delivered(1000, Duration::from_secs(120)).await;

    let created = stack.post("/api/v1/broadcasts", broadcast("news 1", "b1", &integration)).await;
    assert_eq!((created.status, &created.body["total"]), (202, &json!(1000)), "{}", created.body);
    let id = created.body["broadcast_id"].as_str().expect("broadcast_id").to_string();
    let again = stack.post("/api/v1/broadcasts", broadcast("news 1", "b1", &integration)).await;
    assert_eq!(again.body["broadcast_id"], id.as_str(), "a retry: {}", again.body);
    // The same request written otherwise (key order, spacing, a null for an absent field) is a retry too;
    // another request under the key is not.
    let reordered = format!(
        r#"{{ "idempotency_key": "b1", "template_vars": {{"text": "news 1"}}, "template": "text_message",
              "all_connected": true, "locale": null, "integration_id": "{integration}", "project_id": "{PROJECT}" }}"#
    );
    let again = stack.post_raw("/api/v1/broadcasts", reordered.into_bytes()).await;
    assert_eq!((again.status, &again.body["broadcast_id"]), (202, &json!(id)), "{}", again.body);
    let other = stack.post("/api/v1/broadcasts", broadcast("news 2", "b1", &integration)).await;
    assert_eq!((other.status, &other.body["error"]["code"]), (409, &json!("idempotency_conflict")), "{}", other.body);

    // Bulk: an interactive send made once the broadcast is going overtakes it.
    wait_count(&stack, "news 1", 1, WAIT).await;
    let urgent = stack.send_text(PROJECT, &integration, "user:999", "urgent", "u1").await;
    assert_eq!(urgent.status, 202, "{}", urgent.body);
    wait_count(&stack, "urgent", 1, WAIT).await;
    let urgent_at = delivered(&stack, "urgent").await.values().flatten().copied().min().unwrap_or_default();
    let before: usize = delivered(&stack, "news 1").await.values().flatten().filter(|at| **at < urgent_at).count();
    assert!(before < 100, "the interactive send waited for {before} broadcast messages");

    wait_count(&stack, "news 1", 1000, Duration::from_secs(120)).await;
    stack.wait_settled().await;
    let news = delivered(&stack, "news 1").await;
    assert!(chats.iter().all(|c| news.get(c).map(Vec::len) == Some(1)), "each recipient once");
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
    let done = progress(&stack, &id).await;
    assert_eq!((&done["status"], &done["total"]), (&json!("queued"), &json!(1000)), "{done}");
    let p = &done["progress"];
    assert_eq!(
        (&p["sent"], &p["queued"], &p["pending"], &p["failed"], &p["cancelled"]),
        (&json!(1000), &json!(0), &json!(0), &json!({}), &json!(0)),
        "{done}"
    );

    // A second one, cancelled midway: nothing starts after the cancel.
    let second = stack.post("/api/v1/broadcasts", broadcast("news 2", "b2", &integration)).await;
    let second_id = second.body["broadcast_id"].as_str().expect("broadcast_id").to_string();
    wait_count(&stack, "news 2", 100, Duration::from_secs(60)).await;
    let cancel = stack.post(&format!("/api/v1/broadcasts/{second_id}/cancel"), json!({})).await;
    let acked_at = chrono::Utc::now().timestamp_millis();
    assert_eq!((cancel.status, &cancel.body["cancelled"]), (200, &json!(true)), "{}", cancel.body);
    stack.wait_settled().await;
    let sent: Vec<i64> = delivered(&stack, "news 2").await.into_values().flatten().collect();
    // A call answered a moment after the acknowledgement was already on its way.
    let late: Vec<&i64> = sent.iter().filter(|at| **at > acked_at + 1_000).collect();
    assert!(late.is_empty(), "{} calls started after the cancel was acknowledged", late.len());
    assert!(sent.len() < 1000, "the cancel stopped the rest");
    let stopped = progress(&stack, &second_id).await;
    let p = &stopped["progress"];
    assert_eq!(stopped["status"], "cancelled", "{stopped}");
    assert_eq!(p["sent"], json!(sent.len()), "{stopped}");
    assert_eq!(p["sent"].as_i64().unwrap_or_default() + p["cancelled"].as_i64().unwrap_or_default(), 1000, "{stopped}");
    assert_eq!((&p["queued"], &p["pending"]), (&json!(0), &json!(0)), "{stopped}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_broadcast_is_quoted_paid_once_and_an_underpayment_is_refused_with_the_amount_due() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration_with(PROJECT, None, json!({"payment_mode": "dsr"})).await;
    let users: Vec<String> = (0..3).map(|i| format!("user:{i}")).collect();
    stack.connect_users(PROJECT, &integration, &users).await;
    let quote = |refs: Value| {
        let body = json!({"project_id": PROJECT, "template": "server_alert_basic", "integration_id": integration});
        stack.post("/api/v1/payments/quote", merged(&body, refs))
    };
    let one = stack.quote(PROJECT, "server_alert_basic").await;
    let all = quote(json!({"all_connected": true})).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let price: f64 = one["amount"].as_str().and_then(|a| a.parse().ok()).expect("price");
    let total: f64 = all.body["amount"].as_str().and_then(|a| a.parse().ok()).expect("amount");
    assert!((total - price * 3.0).abs() < 1e-9, "price × 3: {}", all.body);
    let two = quote(json!({"recipient_refs": ["user:0", "user:1"]})).await;
    let two_total: f64 = two.body["amount"].as_str().and_then(|a| a.parse().ok()).expect("amount");
    assert!((two_total - price * 2.0).abs() < 1e-9, "{}", two.body);
    let stranger = quote(json!({"recipient_refs": ["user:0", "nobody"]})).await;
    assert_eq!(
        (stranger.status, &stranger.body["error"]["field"]),
        (422, &json!("recipient_refs[1]")),
        "{}",
        stranger.body
    );

    let code = all.body["payment_code"].as_str().expect("payment_code").to_string();
    let paid = |tx: &str, key: &str| {
        json!({"project_id": PROJECT, "integration_id": integration, "all_connected": true,
               "template": "server_alert_basic",
               "template_vars": {"host": "db-1", "severity": "critical", "title": "disk full"},
               "payment_mode": "dsr", "tx_hash": tx, "payer_wallet_id": PAYER_WALLET, "payment_code": code,
               "idempotency_key": key})
    };
    // Underpaid: created, then refused with the amount due.
    let short = format!("{}", total - price);
    let tx_short = stack.transfer(PAYER_WALLET, SERVICE_WALLET, &short, &code, "confirmed").await;
    let refused = stack.post("/api/v1/broadcasts", paid(&tx_short, "paid-short")).await;
    assert_eq!(refused.status, 202, "{}", refused.body);
    let refused_id = refused.body["broadcast_id"].as_str().expect("id").to_string();
    let seen = eventually(WAIT, || async {
        let p = progress(&stack, &refused_id).await;
        (p["status"] == "refused").then_some(p)
    })
    .await
    .expect("refused");
    assert_eq!(seen["failure_reason"], "insufficient_amount", "{seen}");
    let amount_due = all.body["amount"].as_str().unwrap_or_default();
    assert!(seen["failure_detail"].as_str().is_some_and(|d| d.contains(amount_due)), "the amount due: {seen}");

    // Paid in full: delivered to all three.
    let tx = stack.transfer(PAYER_WALLET, SERVICE_WALLET, amount_due, &code, "confirmed").await;
    let ok = stack.post("/api/v1/broadcasts", paid(&tx, "paid-full")).await;
    assert_eq!((ok.status, &ok.body["total"]), (202, &json!(3)), "{}", ok.body);
    let ok_id = ok.body["broadcast_id"].as_str().expect("id").to_string();
    let sent = eventually(WAIT, || async {
        let p = progress(&stack, &ok_id).await;
        (p["progress"]["sent"] == 3).then_some(p)
    })
    .await;
    assert!(sent.is_ok(), "the paid broadcast went out:\n{}", stack.output_tail());
    let watched = stack.cli(&["broadcast", "watch", &ok_id]);
    let shown = String::from_utf8_lossy(&watched.stdout);
    assert!(
        watched.status.success() && shown.contains("3/3  sent 3"),
        "{shown}{}",
        String::from_utf8_lossy(&watched.stderr)
    );
    let on_feed = stack.last_on_feed(PROJECT, "broadcast.queued").await;
    assert_eq!(
        (&on_feed["kind"], &on_feed["broadcast_id"], &on_feed["status"], &on_feed["queued"]),
        (&json!("broadcast"), &json!(ok_id), &json!("queued"), &json!(3)),
        "{on_feed}"
    );
    let refusal = stack.last_on_feed(PROJECT, "broadcast.refused").await;
    assert_eq!((&refusal["broadcast_id"], &refusal["reason"]), (&json!(refused_id), &json!("insufficient_amount")));

    // The same transaction again pays for nothing more.
    let reused = stack.post("/api/v1/broadcasts", paid(&tx, "paid-again")).await;
    assert_eq!((reused.status, &reused.body["error"]["code"]), (409, &json!("tx_already_used")), "{}", reused.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_broadcasts_name_the_field_and_write_nothing() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    stack.connect_user(PROJECT, &integration, "user:1").await;
    let before = stack.stream_last_sequence("EVENTS").await;
    let base = broadcast("hi", "bad", &integration);
    let with = |patch: Value| merged(&base, patch);
    for (body, field) in [
        (with(json!({"all_connected": false})), "recipient_refs"),
        (with(json!({"recipient_refs": ["user:1"]})), "recipient_refs"),
        (with(json!({"all_connected": false, "recipient_refs": []})), "recipient_refs"),
        (with(json!({"all_connected": false, "recipient_refs": ["user:1", "user:1"]})), "recipient_refs[1]"),
        (with(json!({"all_connected": false, "recipient_refs": ["user:2"]})), "recipient_refs[0]"),
        (
            with(json!({"all_connected": false, "recipients": [{"ref": "user:1", "template_vars": {"text": ""}}]})),
            "recipients[0].template_vars.text",
        ),
        (with(json!({"template_vars": {}})), "template_vars.text"),
        (with(json!({"locale": "fr"})), "locale"),
    ] {
        let r = stack.post("/api/v1/broadcasts", body.clone()).await;
        assert_eq!((r.status, &r.body["error"]["field"]), (422, &json!(field)), "{body}: {}", r.body);
    }
    assert_eq!(stack.stream_last_sequence("EVENTS").await, before, "nothing was written");
    let missing = stack.get("/api/v1/broadcasts/brd_00000000000000000000000000000000").await;
    assert_eq!(missing.status, 404, "{}", missing.body);
}
