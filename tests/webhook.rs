//! The Telegram webhook intake: secret checked before anything is stored,
//! duplicate update ids handled once, 5xx when the update cannot be stored.

mod support;

use novij_runtime::derive;
use serde_json::json;
use support::{Layout, TestStack};

const UPDATES: &str = "TG_UPDATES";

fn secret(stack: &TestStack, bot_key: &str) -> String {
    let keyring = stack.keyring();
    derive::webhook_secret(&keyring, bot_key)
}

async fn post_update(stack: &TestStack, secret: Option<(&str, &str)>, query: &str, body: serde_json::Value) -> u16 {
    let mut req =
        reqwest::Client::new().post(format!("{}/api/v1/telegram/webhook/common{query}", stack.api)).json(&body);
    if let Some((name, value)) = secret {
        req = req.header(name, value);
    }
    req.send().await.expect("webhook").status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_is_401_and_nothing_is_stored() {
    let stack = TestStack::start(Layout::Single).await;
    let before = stack.stream_last_sequence(UPDATES).await;
    let update = json!({"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "/stop"}});
    assert_eq!(post_update(&stack, None, "", update.clone()).await, 401);
    assert_eq!(post_update(&stack, Some(("X-Telegram-Bot-Api-Secret-Token", "wrong")), "", update.clone()).await, 401);
    assert_eq!(post_update(&stack, None, "?secret=wrong", update.clone()).await, 401);
    let other_bot = secret(&stack, "int_00000000000000000000000000000000");
    assert_eq!(
        post_update(&stack, Some(("X-Telegram-Bot-Api-Secret-Token", &other_bot)), "", update.clone()).await,
        401
    );
    assert_eq!(stack.stream_last_sequence(UPDATES).await, before, "a rejected update was stored");

    // The right secret, by header or by query, is accepted and stored.
    let good = secret(&stack, "common");
    assert_eq!(post_update(&stack, None, &format!("?secret={good}"), update).await, 200);
    assert_eq!(stack.stream_last_sequence(UPDATES).await, before + 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_update_id_twice_is_handled_once() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    let user_id = stack.connect_user("p1", &integration, "user:1").await;
    let stored = stack.stream_last_sequence(UPDATES).await;

    // The user sends /stop; Telegram (here: us) delivers that update twice.
    let update = json!({
        "update_id": 990001,
        "message": {"message_id": 77, "date": 0, "chat": {"id": user_id, "type": "private"},
                    "from": {"id": user_id, "is_bot": false, "first_name": "Ann"}, "text": "/stop",
                    "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}
    });
    let header = secret(&stack, "common");
    for _ in 0..2 {
        assert_eq!(
            post_update(&stack, Some(("X-Telegram-Bot-Api-Secret-Token", &header)), "", update.clone()).await,
            200
        );
    }
    assert_eq!(stack.stream_last_sequence(UPDATES).await, stored + 1, "the duplicate was stored");

    let stopped = novij_testkit::eventually(support::WAIT, || async {
        let replies = stack.sent(support::COMMON_BOT).await;
        let n = replies.iter().filter(|m| m["text"].as_str().is_some_and(|t| t.starts_with("Disconnected"))).count();
        (n > 0).then_some(n)
    })
    .await
    .expect("the /stop was never answered");
    // A second handling would still be pending or in flight: let it finish.
    stack.wait_idle().await;
    let replies = stack.sent(support::COMMON_BOT).await;
    let n = replies.iter().filter(|m| m["text"].as_str().is_some_and(|t| t.starts_with("Disconnected"))).count();
    assert_eq!((stopped, n), (1, 1), "the update was handled more than once");
}

#[tokio::test(flavor = "multi_thread")]
async fn nats_unavailable_answers_5xx() {
    let mut stack = TestStack::start(Layout::Single).await;
    let header = secret(&stack, "common");
    let update = json!({"update_id": 5, "message": {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "hi"}});
    assert_eq!(post_update(&stack, Some(("X-Telegram-Bot-Api-Secret-Token", &header)), "", update.clone()).await, 200);
    stack.nats.server_mut().stop().await;
    let status = post_update(&stack, Some(("X-Telegram-Bot-Api-Secret-Token", &header)), "", update).await;
    assert!((500..600).contains(&status), "got {status} with NATS down");
    let health = stack.request(reqwest::Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(health.status, 503, "{}", health.body);
    // No internal error text for anyone to read.
    assert_eq!(health.body["checks"]["postgres"], "ok", "{}", health.body);
    assert!(["unreachable", "timed_out"].contains(&health.body["checks"]["nats"].as_str().unwrap_or_default()));
}
