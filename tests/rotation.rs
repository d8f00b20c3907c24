//! A rotation of the master keys: a new first key seals from now on, the
//! old one stays to open what it sealed, and nothing derived from a keyed
//! hash moves, because hashes use the lookup key (`NOVIJ_LOOKUP_KEY`), which
//! does not rotate: a retried idempotency key finds its send, `/stop` finds
//! its chat, an open connect code still binds, and a custom bot's webhook
//! still takes Telegram's calls.

mod support;

use novij_testkit::eventually;
use serde_json::json;
use support::{Layout, TestStack, COMMON_BOT, WAIT};

const PROJECT: &str = "p_rotation";

/// The texts a bot sent to one chat, once there are `n`.
async fn texts(stack: &TestStack, bot: &str, chat: i64, n: usize) -> Vec<String> {
    let found = eventually(WAIT, || async {
        let sent = stack.sent(bot).await;
        let texts: Vec<String> =
            sent.iter().filter(|m| m["chat_id"] == chat).filter_map(|m| m["text"].as_str().map(String::from)).collect();
        (texts.len() >= n).then_some(texts)
    })
    .await;
    found.unwrap_or_else(|_| panic!("chat {chat} of {bot} got fewer than {n} messages:\n{}", stack.output_tail()))
}

async fn say(stack: &TestStack, bot: &str, user: i64, text: &str) {
    stack.sandbox_post(&format!("/sandbox/users/{user}/messages"), json!({"bot_username": bot, "text": text})).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_of_the_master_keys_moves_no_id_lookup_or_secret() {
    let mut stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let custom_bot = stack.sandbox_post("/sandbox/bots", json!({"username": "rotation_shop_bot"})).await;
    let token = custom_bot["token"].as_str().expect("token").to_string();
    let custom = stack.create_integration(PROJECT, Some(&token)).await;
    let ann = stack.connect_user(PROJECT, &integration, "ann").await;
    let cy = stack.connect_user(PROJECT, &custom, "cy").await;
    let first = stack.send_text(PROJECT, &integration, "ann", "before", "k-1").await;
    assert_eq!(first.status, 202, "{}", first.body);
    let send_id = first.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_send(&send_id, "sent").await;
    let body = json!({"project_id": PROJECT, "integration_id": integration, "public_user_ref": "bo"});
    let code = stack.post("/api/v1/telegram/connect-codes", body).await;
    let code = code.body["code"].as_str().expect("code").to_string();
    stack.wait_idle().await;

    // A new first key; the old one stays to open what it sealed.
    let old = stack.env.iter().find(|(k, _)| k == "NOVIJ_MASTER_KEYS").map(|(_, v)| v.clone()).expect("keys");
    let rotated = format!("{},{old}", novij_crypto::Keyring::generate_spec("k2").expect("key"));
    if let Some(mut all) = stack.services.remove("all") {
        all.kill().await;
    }
    stack.set_env("NOVIJ_MASTER_KEYS", &rotated);
    stack.spawn("all", &["serve", "all"]);
    stack.wait_ready().await;
    assert_eq!(stack.keyring().current_kid(), "k2");

    let again = stack.send_text(PROJECT, &integration, "ann", "before", "k-1").await;
    assert_eq!((again.status, &again.body["send_id"]), (202, &json!(send_id)), "a retry: {}", again.body);
    let after = stack.send_text(PROJECT, &integration, "ann", "after", "k-2").await;
    stack.wait_send(after.body["send_id"].as_str().expect("send_id"), "sent").await;

    let bo = stack.sandbox_post("/sandbox/users", json!({"first_name": "Bo"})).await["user_id"].as_i64().expect("id");
    let start = json!({"bot_username": COMMON_BOT, "payload": code});
    stack.sandbox_post(&format!("/sandbox/users/{bo}/start"), start).await;
    assert!(texts(&stack, COMMON_BOT, bo, 1).await[0].starts_with("✅ Connected"), "the code made before binds");

    say(&stack, COMMON_BOT, ann, "/stop").await;
    assert!(texts(&stack, COMMON_BOT, ann, 4).await[3].starts_with("Disconnected"), "/stop finds the chat");
    say(&stack, "rotation_shop_bot", cy, "/stop").await;
    assert!(texts(&stack, "rotation_shop_bot", cy, 2).await[1].starts_with("Disconnected"), "the webhook takes it");
    let listed = stack.get(&format!("/api/v1/integrations/{integration}/recipients")).await.body;
    let status = |user: &str| listed.as_array().and_then(|l| l.iter().find(|r| r["public_user_ref"] == user).cloned());
    assert_eq!(status("ann").map(|r| r["status"].clone()), Some(json!("disabled")), "{listed}");
}
