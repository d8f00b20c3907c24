//! Bad input: a clear 4xx JSON error naming the problem, and nothing stored.

mod support;

use serde_json::{json, Value};
use support::{Layout, TestStack};

fn send_body(integration: &str) -> Value {
    json!({
        "project_id": "p1", "integration_id": integration, "recipient_ref": "user:1",
        "template": "text_message", "template_vars": {"text": "hi"}, "idempotency_key": "bad-1"
    })
}

fn with(mut body: Value, key: &str, value: Value) -> Value {
    body[key] = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key);
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_rejected_with_the_field_and_store_nothing() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;
    let events_before = stack.stream_last_sequence("EVENTS").await;
    let ok = send_body(&integration);

    let cases: Vec<(&str, Value, u16, Option<&str>)> = vec![
        ("missing field", without(ok.clone(), "idempotency_key"), 422, Some("idempotency_key")),
        ("mistyped field", with(ok.clone(), "template_vars", json!("text")), 422, Some("template_vars")),
        ("unknown field", with(ok.clone(), "colour", json!("red")), 422, Some("colour")),
        ("unknown template", with(ok.clone(), "template", json!("haiku")), 422, Some("template")),
        ("missing template var", with(ok.clone(), "template_vars", json!({})), 422, Some("template_vars.text")),
        (
            "mistyped template var",
            with(ok.clone(), "template_vars", json!({"text": 5})),
            422,
            Some("template_vars.text"),
        ),
        (
            "over-long text",
            with(ok.clone(), "template_vars", json!({"text": "x".repeat(4097)})),
            422,
            Some("template_vars.text"),
        ),
        (
            "unknown integration",
            with(ok.clone(), "integration_id", json!("int_0123456789abcdef0123456789abcdef")),
            404,
            Some("integration_id"),
        ),
        ("malformed integration id", with(ok.clone(), "integration_id", json!("../etc")), 404, Some("integration_id")),
        ("recipient not connected", with(ok.clone(), "recipient_ref", json!("user:404")), 422, Some("recipient_ref")),
        ("empty idempotency key", with(ok.clone(), "idempotency_key", json!("  ")), 422, Some("idempotency_key")),
    ];
    for (what, body, status, field) in cases {
        let r = stack.post("/api/v1/send", body).await;
        assert_eq!(r.status, status, "{what}: {}", r.body);
        assert!(r.body["error"]["code"].is_string() && r.body["error"]["message"].is_string(), "{what}: {}", r.body);
        assert_eq!(r.body["error"]["field"].as_str(), field, "{what}: {}", r.body);
    }

    let integration_cases: Vec<(&str, Value, &str)> = vec![
        (
            "custom without token",
            json!({"project_id": "p1", "owner_wallet_id": "w", "bot_mode": "custom", "payment_mode": "none", "default_reminder_minutes": 1}),
            "custom_bot_token",
        ),
        (
            "bad bot mode",
            json!({"project_id": "p1", "owner_wallet_id": "w", "bot_mode": "shared", "payment_mode": "none", "default_reminder_minutes": 1}),
            "bot_mode",
        ),
        (
            "negative minutes",
            json!({"project_id": "p1", "owner_wallet_id": "w", "bot_mode": "common", "payment_mode": "none", "default_reminder_minutes": -5}),
            "default_reminder_minutes",
        ),
        (
            "token Telegram rejects",
            json!({"project_id": "p1", "owner_wallet_id": "w", "bot_mode": "custom", "custom_bot_token": "123456:AAnotARealTokenAtAllxxxxxxxxxxxxxxx", "payment_mode": "none", "default_reminder_minutes": 1}),
            "custom_bot_token",
        ),
    ];
    for (what, body, field) in integration_cases {
        let r = stack.post("/api/v1/integrations", body).await;
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        assert_eq!(r.body["error"]["field"].as_str(), Some(field), "{what}: {}", r.body);
    }

    let malformed = stack.post_raw("/api/v1/send", b"{\"project_id\": ".to_vec()).await;
    assert_eq!(malformed.status, 400, "{}", malformed.body);
    assert_eq!(malformed.body["error"]["code"], "invalid_json");

    let huge = format!("{{\"project_id\":\"{}\"}}", "x".repeat(200_000));
    let oversized = stack.post_raw("/api/v1/send", huge.into_bytes()).await;
    assert_eq!(oversized.status, 413, "{}", oversized.body);
    assert_eq!(oversized.body["error"]["code"], "body_too_large");

    let unauthenticated = stack.request(reqwest::Method::POST, "/api/v1/send", Some(ok.clone()), None).await;
    assert_eq!(unauthenticated.status, 401);
    let wrong_key =
        stack.request(reqwest::Method::POST, "/api/v1/send", Some(ok.clone()), Some("not-a-key-at-all")).await;
    assert_eq!(wrong_key.status, 401);
    // A method the endpoint does not take: 405, naming those it does.
    let wrong_method = reqwest::Client::new()
        .delete(format!("{}/api/v1/send", stack.api))
        .bearer_auth(&stack.admin_key)
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_method.status().as_u16(), 405);
    assert_eq!(wrong_method.headers().get("allow").and_then(|v| v.to_str().ok()), Some("POST"));

    assert_eq!(stack.stream_last_sequence("EVENTS").await, events_before, "a rejected request stored an event");

    // The same idempotency key with another body is a conflict, after the first is stored.
    let first = stack.post("/api/v1/send", ok.clone()).await;
    assert_eq!(first.status, 202, "{}", first.body);
    let conflict = stack.post("/api/v1/send", with(ok, "template_vars", json!({"text": "other"}))).await;
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    assert_eq!(conflict.body["error"]["field"], "idempotency_key");
}
