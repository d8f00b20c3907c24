//! Webhooks: setWebhook rules, delivery with the secret header, retries,
//! ordering, last_error reporting, and the getUpdates conflict.

use std::time::Duration;

use serde_json::{json, Value};
use telegram_sandbox::SandboxConfig;

use crate::support::{api_error, eventually, spawn_receiver, start, start_with};

#[tokio::test]
async fn set_webhook_validates_like_telegram() {
    let strict = start_with(SandboxConfig { allow_insecure_webhooks: false, ..SandboxConfig::default() }).await;
    let (token, _) = strict.create_bot("strict_hook_bot").await;
    let cases = [
        (
            json!({"url": "https://example.com/hook", "secret_token": "has spaces"}),
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            json!({"url": "https://example.com/hook", "secret_token": "a:b"}),
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            json!({"url": "https://example.com/hook", "secret_token": "a".repeat(257)}),
            "Bad Request: secret token is too long",
        ),
        (
            json!({"url": "http://127.0.0.1:9000/hook"}),
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ),
        (
            json!({"url": "http://example.com/hook"}),
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ),
        (
            json!({"url": "https://example.com:3000/hook"}),
            "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
    ];
    for (params, description) in cases {
        let (status, body) = strict.call(&token, "setWebhook", params.clone()).await;
        assert_eq!((status, body), (400, api_error(400, description)), "{params}");
    }

    let hook = json!({"url": "https://example.com:8443/hook", "secret_token": "s3cr3t_-X", "max_connections": 10});
    let (status, body) = strict.call(&token, "setWebhook", hook.clone()).await;
    assert_eq!((status, body), (200, json!({"ok": true, "result": true, "description": "Webhook was set"})));
    let (_, body) = strict.call(&token, "setWebhook", hook).await;
    assert_eq!(body, json!({"ok": true, "result": true, "description": "Webhook is already set"}));
    let (_, info) = strict.call(&token, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info,
        json!({"ok": true, "result": {
            "url": "https://example.com:8443/hook",
            "has_custom_certificate": false,
            "pending_update_count": 0,
            "max_connections": 10
        }})
    );
    let (_, bot) = strict.get("/sandbox/bots/strict_hook_bot").await;
    assert_eq!(bot["webhook"]["has_secret"], true);
    assert!(!bot.to_string().contains("s3cr3t_-X"));
    assert!(!bot.to_string().contains(&token));

    let (status, body) = strict.call(&token, "getUpdates", json!({})).await;
    assert_eq!(
        (status, body),
        (
            409,
            api_error(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        )
    );

    let (_, body) = strict.call(&token, "deleteWebhook", json!({})).await;
    assert_eq!(body, json!({"ok": true, "result": true, "description": "Webhook was deleted"}));
    let (_, body) = strict.call(&token, "deleteWebhook", json!({})).await;
    assert_eq!(body, json!({"ok": true, "result": true, "description": "Webhook is already deleted"}));
    let (_, info) = strict.call(&token, "getWebhookInfo", json!({})).await;
    assert_eq!(
        info,
        json!({"ok": true, "result": {"url": "", "has_custom_certificate": false, "pending_update_count": 0}})
    );
}

#[tokio::test]
async fn webhook_delivery_sends_secret_retries_after_500_and_keeps_order() {
    let env = start().await;
    let receiver = spawn_receiver(vec![500]);
    let (token, _) = env.create_bot("hook_bot").await;
    let user = env.create_user("Erin").await;

    let (status, body) =
        env.call(&token, "setWebhook", json!({"url": receiver.url(), "secret_token": "hook-secret"})).await;
    assert_eq!(status, 200, "{body}");

    env.press_start(user, "hook_bot", None).await;
    for text in ["first", "second", "third"] {
        let (status, body) = env
            .post(&format!("/sandbox/users/{user}/messages"), json!({"bot_username": "hook_bot", "text": text}))
            .await;
        assert_eq!(status, 200, "{body}");
    }

    let received = eventually(|| {
        let got = receiver.received();
        async move { (got.len() >= 5).then_some(got) }
    })
    .await;
    // First attempt answered 500, then the same update again, then the rest in order.
    let texts: Vec<String> =
        received.iter().map(|(_, body)| body["message"]["text"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(texts, ["/start", "/start", "first", "second", "third"]);
    assert_eq!(received[0].1, received[1].1, "the retry carries the same update");
    assert!(received.iter().all(|(secret, _)| secret.as_deref() == Some("hook-secret")));
    let ids: Vec<i64> = received[1..].iter().filter_map(|(_, body)| body["update_id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    assert!(ids[0] >= 100_000_000);

    let info = eventually(|| {
        let env = &env;
        let token = token.clone();
        async move {
            let (_, info) = env.call(&token, "getWebhookInfo", json!({})).await;
            (info["result"]["pending_update_count"] == 0).then_some(info)
        }
    })
    .await;
    assert_eq!(info["result"]["last_error_message"], "Wrong response from the webhook: 500 Internal Server Error");
    assert!(info["result"]["last_error_date"].is_i64());
}

#[tokio::test]
async fn unreachable_webhook_keeps_updates_pending_with_connection_refused() {
    let env = start().await;
    let (token, _) = env.create_bot("refused_bot").await;
    // A port that was free a moment ago.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let (status, _) = env.call(&token, "setWebhook", json!({"url": format!("http://127.0.0.1:{port}/hook")})).await;
    assert_eq!(status, 200);
    let user = env.create_user("Frank").await;
    env.press_start(user, "refused_bot", None).await;
    let info: Value = eventually(|| {
        let env = &env;
        let token = token.clone();
        async move {
            let (_, info) = env.call(&token, "getWebhookInfo", json!({})).await;
            info["result"].get("last_error_message").is_some().then_some(info)
        }
    })
    .await;
    assert_eq!(info["result"]["last_error_message"], "Connection refused");
    assert_eq!(info["result"]["pending_update_count"], 1);

    // Dropping pending updates empties the queue.
    let (_, _) = env.call(&token, "deleteWebhook", json!({"drop_pending_updates": true})).await;
    assert!(env.updates(&token).await.is_empty());
}

#[tokio::test]
async fn get_updates_long_polls_and_confirms_with_offset() {
    let env = start().await;
    let (token, _) = env.create_bot("poll_bot").await;
    let user = env.create_user("Grace").await;

    let poll = {
        let http = env.http.clone();
        let url = format!("{}/bot{token}/getUpdates", env.base);
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let body: Value =
                http.post(url).json(&json!({"timeout": 10})).send().await.expect("request").json().await.expect("json");
            (started.elapsed(), body)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    env.press_start(user, "poll_bot", None).await;
    let (elapsed, body) = poll.await.expect("join");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let updates = body["result"].as_array().cloned().expect("array");
    assert_eq!(updates.len(), 1);
    let update_id = updates[0]["update_id"].as_i64().expect("update_id");

    let (_, body) = env.call(&token, "getUpdates", json!({"offset": update_id + 1})).await;
    assert_eq!(body, json!({"ok": true, "result": []}));
}
