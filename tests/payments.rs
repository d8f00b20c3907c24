//! Paid (DSR) sends end to end: a quote, a transfer on the Relay emulator, the
//! send; the payment-verifier checks the ledger and only a paid send reaches
//! Telegram.

mod support;

use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, PAYER_WALLET, SERVICE_WALLET};

const PROJECT: &str = "proj_paid";

/// Every sendMessage call the sandbox received whose text contains `marker`.
async fn calls_with(stack: &TestStack, marker: &str) -> usize {
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMessage")).await;
    let calls = calls.as_array().cloned().unwrap_or_default();
    calls.iter().filter(|c| c["params"]["text"].as_str().is_some_and(|t| t.contains(marker))).count()
}

fn paid_send(integration: &str, text: &str, key: &str, tx_hash: &str, code: &str) -> Value {
    json!({
        "project_id": PROJECT, "integration_id": integration, "recipient_ref": "user:1",
        "template": "text_message", "template_vars": {"text": text}, "payment_mode": "dsr",
        "tx_hash": tx_hash, "payer_wallet_id": PAYER_WALLET, "payment_code": code, "idempotency_key": key
    })
}

async fn paid_stack(extra: &[(&str, &str)]) -> (TestStack, String) {
    let stack = TestStack::start_with(Layout::Separate, extra).await;
    let integration = stack.create_integration_with(PROJECT, None, json!({"payment_mode": "dsr"})).await;
    stack.connect_user(PROJECT, &integration, "user:1").await;
    (stack, integration)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_send_is_delivered_and_every_failed_check_is_refused_without_a_call() {
    let (stack, integration) = paid_stack(&[("PAYMENT_PENDING_DEADLINE_SECONDS", "6")]).await;
    stack.relay_post("/relay/wallets", json!({"wallet_id": "other_wallet", "balance": "100"})).await;

    let quote = stack.quote(PROJECT, "text_message").await;
    assert_eq!(quote["amount"], "1");
    assert_eq!(quote["asset"], "NVJ");
    assert_eq!(quote["receiver_wallet_id"], SERVICE_WALLET);
    let code = quote["payment_code"].as_str().unwrap().to_string();

    // Paid: confirmed, right parties, memo and amount.
    let tx = stack.transfer(PAYER_WALLET, SERVICE_WALLET, "1", &code, "confirmed").await;
    let r = stack.post("/api/v1/send", paid_send(&integration, "paid-ok", "k-ok", &tx, &code)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let sent = stack.wait_send(r.body["send_id"].as_str().unwrap(), "sent").await;
    assert_eq!(sent["payment_tx"], tx.as_str(), "{sent}");
    assert_eq!(calls_with(&stack, "paid-ok").await, 1);

    // The same transaction again: refused at once.
    let again = stack.post("/api/v1/send", paid_send(&integration, "paid-reuse", "k-reuse", &tx, &code)).await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["error"]["code"], "tx_already_used");
    assert_eq!(again.body["error"]["field"], "tx_hash");

    // A transaction confirmed after 3 s of pending is waited for, then delivered.
    let pending = stack
        .relay_post(
            "/relay/transfers",
            json!({"from_wallet_id": PAYER_WALLET, "to_wallet_id": SERVICE_WALLET, "amount": "1", "memo": code,
                   "confirm_after_ms": 3000}),
        )
        .await;
    let pending_tx = pending["tx_hash"].as_str().unwrap().to_string();
    let r = stack.post("/api/v1/send", paid_send(&integration, "paid-late", "k-late", &pending_tx, &code)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let late_id = r.body["send_id"].as_str().unwrap().to_string();

    // Each failing check, with the reason it must be refused for.
    let mut cases = Vec::new();
    let other_code = stack.quote(PROJECT, "text_message").await["payment_code"].as_str().unwrap().to_string();
    let unknown_tx = "ab".repeat(32);
    for (reason, tx, send_code) in [
        ("wrong_receiver", stack.transfer(PAYER_WALLET, "other_wallet", "1", &code, "confirmed").await, &code),
        ("wrong_sender", stack.transfer("other_wallet", SERVICE_WALLET, "1", &code, "confirmed").await, &code),
        ("wrong_memo", stack.transfer(PAYER_WALLET, SERVICE_WALLET, "1", &code, "confirmed").await, &other_code),
        ("insufficient_amount", stack.transfer(PAYER_WALLET, SERVICE_WALLET, "0.5", &code, "confirmed").await, &code),
        ("tx_failed", stack.transfer(PAYER_WALLET, SERVICE_WALLET, "1", &code, "failed").await, &code),
        ("tx_pending_timeout", stack.transfer(PAYER_WALLET, SERVICE_WALLET, "1", &code, "pending").await, &code),
        ("tx_not_found", unknown_tx, &code),
    ] {
        let marker = format!("paid-{reason}");
        let r = stack.post("/api/v1/send", paid_send(&integration, &marker, &marker, &tx, send_code)).await;
        assert_eq!(r.status, 202, "{reason}: {}", r.body);
        cases.push((reason, marker, r.body["send_id"].as_str().unwrap().to_string(), tx));
    }
    for (reason, marker, send_id, tx) in &cases {
        let failed = stack.wait_send(send_id, "failed").await;
        assert_eq!(failed["failure"]["reason"], *reason, "{failed}");
        assert_eq!(calls_with(&stack, marker).await, 0, "{reason}: Telegram was called");
        let lookups = stack.relay.relay().lookups(tx).unwrap_or(0);
        assert!(lookups >= 1, "{reason}: the ledger was never asked");
    }

    let late = stack.wait_send(&late_id, "sent").await;
    assert_eq!(late["payment_tx"], pending_tx.as_str(), "{late}");
    let lookups = stack.relay.relay().lookups(&pending_tx).unwrap();
    assert!(lookups >= 2, "a pending transaction is asked about again ({lookups} lookups)");
    assert_eq!(calls_with(&stack, "paid-late").await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_sends_racing_for_one_transaction_get_exactly_one_delivery() {
    let (mut stack, integration) = paid_stack(&[]).await;
    // A second verifier instance races the first for the claims.
    stack.spawn("payment-verifier-2", &["serve", "payment-verifier"]);
    stack.wait_ready().await;
    let code = stack.quote(PROJECT, "text_message").await["payment_code"].as_str().unwrap().to_string();
    let tx = stack.transfer(PAYER_WALLET, SERVICE_WALLET, "1", &code, "confirmed").await;

    let bodies: Vec<Value> =
        (0..20).map(|i| paid_send(&integration, &format!("race-{i}"), &format!("race-{i}"), &tx, &code)).collect();
    let answers = futures::future::join_all(bodies.into_iter().map(|b| stack.post("/api/v1/send", b))).await;
    let mut accepted = Vec::new();
    for a in &answers {
        match a.status {
            202 => accepted.push(a.body["send_id"].as_str().unwrap().to_string()),
            409 => assert_eq!(a.body["error"]["code"], "tx_already_used", "{}", a.body),
            other => panic!("unexpected {other}: {}", a.body),
        }
    }
    let mut sent = 0;
    for id in &accepted {
        let view = support::wait_final(&stack, id).await;
        match view["status"].as_str() {
            Some("sent") => sent += 1,
            _ => assert_eq!(view["failure"]["reason"], "tx_already_used", "{view}"),
        }
    }
    assert_eq!(sent, 1, "exactly one send is paid by the transaction");
    assert_eq!(calls_with(&stack, "race-").await, 1, "Telegram got exactly one of them");
}

#[tokio::test(flavor = "multi_thread")]
async fn paid_sends_are_validated_before_anything_is_written() {
    let (stack, integration) = paid_stack(&[]).await;
    let code = stack.quote(PROJECT, "text_message").await["payment_code"].as_str().unwrap().to_string();
    let tx = "cd".repeat(32);
    let before = stack.stream_last_sequence("EVENTS").await;
    let field_of = |r: &support::Response| r.body["error"]["field"].as_str().unwrap_or_default().to_string();

    let mut body = paid_send(&integration, "x", "v-1", &tx, &code);
    body.as_object_mut().unwrap().remove("tx_hash");
    let r = stack.post("/api/v1/send", body).await;
    assert_eq!((r.status, field_of(&r)), (422, "tx_hash".into()), "{}", r.body);

    let r = stack.post("/api/v1/send", paid_send(&integration, "x", "v-2", "XYZ", &code)).await;
    assert_eq!((r.status, field_of(&r)), (422, "tx_hash".into()), "{}", r.body);

    let r = stack.post("/api/v1/send", paid_send(&integration, "x", "v-3", &tx, "pq_1_2_3_4_forged")).await;
    assert_eq!((r.status, field_of(&r)), (422, "payment_code".into()), "{}", r.body);

    // A code quoted for another template does not pay for this one.
    let test_code = stack.quote(PROJECT, "server_alert_basic").await["payment_code"].as_str().unwrap().to_string();
    let r = stack.post("/api/v1/send", paid_send(&integration, "x", "v-4", &tx, &test_code)).await;
    assert_eq!((r.status, field_of(&r)), (422, "payment_code".into()), "{}", r.body);

    let mut body = paid_send(&integration, "x", "v-5", &tx, &code);
    body["payment_mode"] = json!("none");
    let r = stack.post("/api/v1/send", body).await;
    assert_eq!((r.status, field_of(&r)), (422, "payment_mode".into()), "{}", r.body);

    let r = stack.post("/api/v1/payments/quote", json!({"project_id": PROJECT, "template": "fax"})).await;
    assert_eq!((r.status, field_of(&r)), (422, "template".into()), "{}", r.body);
    let r = stack
        .post("/api/v1/payments/quote", json!({"project_id": PROJECT, "template": "text_message", "recipients": 0}))
        .await;
    assert_eq!((r.status, field_of(&r)), (422, "recipients".into()), "{}", r.body);

    assert_eq!(stack.stream_last_sequence("EVENTS").await, before, "a refused request wrote to the log");

    let settings = stack.get("/api/v1/settings").await.body;
    assert_eq!(settings["prices"]["text_message"], json!({"none": "0", "dsr": "1"}), "{settings}");
    assert_eq!(settings["payments"]["receiver_wallet_id"], SERVICE_WALLET);
    assert_eq!(settings["templates"][1]["name"], "nrsv_reminder");

    // The same from the command line.
    let stdout = |args: &[&str]| {
        let out = stack.cli(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(stdout(&["wallet"]).trim(), SERVICE_WALLET);
    let check = stdout(&["relay-check"]);
    assert!(
        check.contains("Relay API: ok") && check.contains(&format!("service wallet {SERVICE_WALLET}: ")),
        "{check}"
    );
    let prices = stdout(&["prices"]);
    assert!(
        prices.lines().any(|l| l.contains("text_message") && l.contains("none=0") && l.contains("dsr=1")),
        "{prices}"
    );
    assert!(prices.contains("minutes_before"), "{prices}");
}

#[tokio::test(flavor = "multi_thread")]
async fn free_sends_are_the_operators_to_grant_per_project() {
    const FREE_KEY: &str = "key-of-a-free-project-0123456789";
    const PAID_KEY: &str = "key-of-a-paid-project-0123456789";
    let keys = format!("p_free:{FREE_KEY},p_paid:{PAID_KEY}");
    let env = [("PROJECT_API_KEYS", keys.as_str()), ("FREE_PROJECTS", "p_free")];
    let stack = TestStack::start_with(Layout::Single, &env).await;
    let body = |project: &str, mode: &str| {
        json!({"project_id": project, "owner_wallet_id": "wallet_1", "bot_mode": "common",
               "payment_mode": mode, "default_reminder_minutes": 30})
    };
    let create = |project: &'static str, mode: &'static str, key: &'static str| {
        let body = body(project, mode);
        let stack = &stack;
        async move { stack.request(reqwest::Method::POST, "/api/v1/integrations", Some(body), Some(key)).await }
    };
    let events_before = stack.stream_last_sequence("EVENTS").await;
    let refused = create("p_paid", "none", PAID_KEY).await;
    assert_eq!((refused.status, &refused.body["error"]["field"]), (403, &json!("payment_mode")), "{}", refused.body);
    assert_eq!(stack.stream_last_sequence("EVENTS").await, events_before, "a refused integration was written");
    assert_eq!(create("p_paid", "dsr", PAID_KEY).await.status, 201, "paid sends are open to every project");
    assert_eq!(create("p_free", "none", FREE_KEY).await.status, 201, "a project the operator made free");
    let by_admin = stack.post("/api/v1/integrations", body("p_paid", "none")).await;
    assert_eq!(by_admin.status, 201, "the admin grants what it likes: {}", by_admin.body);
}
