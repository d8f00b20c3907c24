//! The control API: users, its errors, and fault injection.

use serde_json::json;

use crate::support::{api_error, start};

#[tokio::test]
async fn users_must_start_a_bot_before_writing() {
    let env = start().await;
    env.create_bot("shy_bot").await;
    let user = env.create_user("Heidi").await;
    assert!(user >= 700_000_001);
    let (status, body) = env
        .post(&format!("/sandbox/users/{user}/messages"), json!({"bot_username": "shy_bot", "text": "hello?"}))
        .await;
    assert_eq!((status, body), (409, json!({"error": "user has not started this bot"})));
    let (status, body) = env.post("/sandbox/bots", json!({"username": "not_a_b0t_name"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = env.post("/sandbox/bots", json!({"username": "shy_bot"})).await;
    assert_eq!(status, 409);
    let (status, body) = env.get("/sandbox/bots/ghost_bot").await;
    assert_eq!((status, body), (404, json!({"error": "bot @ghost_bot not found"})));
    let (status, _) = env
        .post(&format!("/sandbox/users/{user}/start"), json!({"bot_username": "shy_bot", "payload": "has spaces"}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn injected_faults_fail_the_next_matching_calls() {
    let env = start().await;
    let (token, _) = env.create_bot("faulty_bot").await;
    let user = env.create_user("Ivan").await;
    env.press_start(user, "faulty_bot", None).await;

    let (status, body) =
        env.post("/sandbox/bots/faulty_bot/faults", json!({"status": 502, "count": 1, "method": "sendMessage"})).await;
    assert_eq!(status, 201, "{body}");
    // Other methods are not affected.
    let (status, _) = env.call(&token, "getMe", json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "x"})).await;
    assert_eq!((status, body), (502, api_error(502, "Bad Gateway")));
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "x"})).await;
    assert_eq!(status, 200);

    env.post("/sandbox/bots/faulty_bot/faults", json!({"status": 500, "count": 2})).await;
    for _ in 0..2 {
        let (status, body) = env.call(&token, "getMe", json!({})).await;
        assert_eq!((status, body), (500, api_error(500, "Internal Server Error")));
    }
    let (status, _) = env.call(&token, "getMe", json!({})).await;
    assert_eq!(status, 200);

    env.post(
        "/sandbox/bots/faulty_bot/faults",
        json!({"status": 429, "count": 1, "retry_after": 7, "method": "sendmessage"}),
    )
    .await;
    let response = env.call_raw(&token, "sendMessage", json!({"chat_id": user, "text": "x"})).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("7"));
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}})
    );
    // Ignoring an injected retry_after is punished like a real one.
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "x"})).await;
    assert_eq!(status, 429);
    let (_, violations) = env.get("/sandbox/violations").await;
    assert_eq!(violations[0]["reason"], "ignored_retry_after");
    assert_eq!(violations[0]["scope"], "bot");

    let (status, _) = env.post("/sandbox/bots/faulty_bot/faults", json!({"status": 200})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let env = start().await;
    let (status, _) = env.get("/sandbox/health").await;
    assert_eq!(status, 200);
    let base = env.base.clone();
    env.sandbox.shutdown().await;
    let after = reqwest::Client::new().get(format!("{base}/sandbox/health")).send().await;
    assert!(after.is_err(), "still serving after shutdown");
}
