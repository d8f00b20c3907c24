//! Flood limits: 429 answers, Retry-After, recorded violations and the
//! punishment of clients that ignore retry_after.

use std::time::Duration;

use serde_json::json;
use telegram_sandbox::{Limits, SandboxConfig};

use crate::support::start;

#[tokio::test]
async fn second_message_to_a_chat_within_a_second_is_429_and_recorded() {
    let env = start().await;
    let (token, _) = env.create_bot("flood_bot").await;
    let user = env.create_user("Dave").await;
    env.press_start(user, "flood_bot", None).await;

    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "one"})).await;
    assert_eq!(status, 200);
    let response = env.call_raw(&token, "sendMessage", json!({"chat_id": user, "text": "two"})).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({
            "ok": false,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1}
        })
    );

    let (_, violations) = env.get("/sandbox/violations").await;
    let violations = violations.as_array().cloned().expect("array");
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0]["bot_username"], "flood_bot");
    assert_eq!(violations[0]["chat_id"], user);
    assert_eq!(violations[0]["scope"], "chat");
    assert_eq!(violations[0]["reason"], "limit_exceeded");
    assert_eq!(violations[0]["method"], "sendMessage");
    assert!(violations[0]["at"].is_string());

    // Ignoring retry_after is itself a violation.
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "three"})).await;
    assert_eq!(status, 429);
    let (_, violations) = env.get("/sandbox/violations").await;
    assert_eq!(violations.as_array().map(Vec::len), Some(2));
    assert_eq!(violations[1]["reason"], "ignored_retry_after");

    // Waiting out retry_after works again.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "four"})).await;
    assert_eq!(status, 200, "{body}");
    let (_, sent) = env.get("/sandbox/bots/flood_bot/sent").await;
    let texts: Vec<&str> = sent.as_array().expect("array").iter().filter_map(|r| r["text"].as_str()).collect();
    assert_eq!(texts, ["one", "four"]);

    // The calls log shows every attempt with its status.
    let (_, calls) = env.get("/sandbox/calls?bot_username=flood_bot&method=sendMessage").await;
    let statuses: Vec<u64> = calls.as_array().expect("array").iter().filter_map(|c| c["status"].as_u64()).collect();
    assert_eq!(statuses, [200, 429, 429, 200]);
}

#[tokio::test]
async fn paid_broadcast_goes_beyond_the_free_limit_up_to_the_paid_one() {
    let env = crate::support::start_with(SandboxConfig {
        limits: Limits { per_bot_per_second: 2, paid_broadcast_per_second: 3, ..Limits::telegram() },
        ..SandboxConfig::default()
    })
    .await;
    let (token, _) = env.create_bot("paid_news_bot").await;
    let mut users = Vec::new();
    for i in 0..5 {
        let user = env.create_user(&format!("P{i}")).await;
        env.press_start(user, "paid_news_bot", None).await;
        users.push(user);
    }
    let send = |chat: i64, paid: bool| {
        let mut params = json!({"chat_id": chat, "text": "news"});
        if paid {
            params["allow_paid_broadcast"] = json!(true);
        }
        env.call(&token, "sendMessage", params)
    };
    assert_eq!(send(users[0], false).await.0, 200);
    assert_eq!(send(users[1], false).await.0, 200);
    assert_eq!(send(users[2], true).await.0, 200, "a paid call is not held to the free limit");
    let (status, body) = send(users[3], true).await;
    assert_eq!(status, 429, "3 calls in all is the paid limit: {body}");
    assert_eq!(body["parameters"]["retry_after"], 1);
    let (_, stats) = env.get("/sandbox/stats?bot_username=paid_news_bot").await;
    assert_eq!((stats["delivered"].as_u64(), stats["paid_broadcast"].as_u64()), (Some(3), Some(1)));
    let (_, violations) = env.get("/sandbox/violations").await;
    assert_eq!(violations[0]["scope"], "bot");
}

#[tokio::test]
async fn bot_wide_limit_applies_across_chats_and_scale_raises_it() {
    let env = crate::support::start_with(SandboxConfig {
        limits: Limits { per_bot_per_second: 3, ..Limits::telegram() },
        ..SandboxConfig::default()
    })
    .await;
    let (token, _) = env.create_bot("wide_bot").await;
    let mut users = Vec::new();
    for i in 0..4 {
        let user = env.create_user(&format!("U{i}")).await;
        env.press_start(user, "wide_bot", None).await;
        users.push(user);
    }
    for user in &users[..3] {
        let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "hi"})).await;
        assert_eq!(status, 200);
    }
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": users[3], "text": "hi"})).await;
    assert_eq!(status, 429, "{body}");
    let (_, violations) = env.get("/sandbox/violations").await;
    assert_eq!(violations[0]["scope"], "bot");

    // Scaled limits allow proportionally more.
    let fast = crate::support::start_with(SandboxConfig {
        limits: Limits { scale: 3.0, ..Limits::telegram() },
        ..SandboxConfig::default()
    })
    .await;
    let (token, _) = fast.create_bot("fast_bot").await;
    let user = fast.create_user("Fast").await;
    fast.press_start(user, "fast_bot", None).await;
    for _ in 0..3 {
        let (status, _) = fast.call(&token, "sendMessage", json!({"chat_id": user, "text": "hi"})).await;
        assert_eq!(status, 200);
    }
    let (status, _) = fast.call(&token, "sendMessage", json!({"chat_id": user, "text": "hi"})).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn twenty_first_message_to_a_group_within_a_minute_is_429_with_scope_group() {
    let env = start().await;
    let (token, _) = env.create_bot("chatty_bot").await;
    let user = env.create_user("Lena").await;
    env.press_start(user, "chatty_bot", None).await;
    let group = env.create_group("Busy", "group", &[user]).await;
    env.add_bot_to_group(group, "chatty_bot", None).await;

    for i in 0..20 {
        let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": group, "text": format!("m{i}")})).await;
        assert_eq!(status, 200, "message {i}: {body}");
    }
    let response = env.call_raw(&token, "sendMessage", json!({"chat_id": group, "text": "m20"})).await;
    assert_eq!(response.status(), 429);
    let header: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After header");
    let body: serde_json::Value = response.json().await.expect("json");
    // The window is a minute long and started with the first message.
    assert!((55..=60).contains(&header), "retry_after {header}");
    assert_eq!(
        body,
        json!({
            "ok": false,
            "error_code": 429,
            "description": format!("Too Many Requests: retry after {header}"),
            "parameters": {"retry_after": header}
        })
    );
    let (_, violations) = env.get("/sandbox/violations").await;
    let violations = violations.as_array().cloned().expect("array");
    assert_eq!(violations.len(), 1);
    assert_eq!(
        (
            violations[0]["scope"].as_str(),
            violations[0]["reason"].as_str(),
            violations[0]["chat_id"].as_i64(),
            violations[0]["retry_after"].as_u64()
        ),
        (Some("group"), Some("limit_exceeded"), Some(group), Some(header))
    );
    // The group's window does not touch private chats.
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "private"})).await;
    assert_eq!(status, 200, "{body}");
    let (_, stats) = env.get("/sandbox/stats?bot_username=chatty_bot").await;
    assert_eq!((stats["delivered"].as_u64(), stats["violations"].as_u64()), (Some(21), Some(1)));
    assert_eq!(stats["per_chat"][group.to_string()], 20);

    // The allowance per group is configurable, and scaled.
    let small = crate::support::start_with(SandboxConfig {
        limits: Limits { per_group_per_minute: 4, scale: 0.5, ..Limits::telegram() },
        ..SandboxConfig::default()
    })
    .await;
    let (token, _) = small.create_bot("small_bot").await;
    let member = small.create_user("Mia").await;
    let group = small.create_group("Small", "supergroup", &[member]).await;
    small.add_bot_to_group(group, "small_bot", None).await;
    for _ in 0..2 {
        let (status, _) = small.call(&token, "sendMessage", json!({"chat_id": group, "text": "x"})).await;
        assert_eq!(status, 200);
    }
    let (status, _) = small.call(&token, "sendMessage", json!({"chat_id": group, "text": "x"})).await;
    assert_eq!(status, 429);
    let (_, violations) = small.get("/sandbox/violations").await;
    assert_eq!(violations[0]["scope"], "group");
}
