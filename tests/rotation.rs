//! A rotation of the master keys: a new first key seals from now on, the
//! old one stays to open what it sealed, and nothing derived from a keyed
//! hash moves, because hashes use the lookup key (`NOVIJ_LOOKUP_KEY`), which
//! does not rotate: a retried idempotency key finds its send, `/stop` finds
//! its chat, an open connect code still binds, and a custom bot's webhook
//! still takes Telegram's calls. Then `keys rotate` re-wraps every data key
//! with the new key, `keys retire` lets the old one go, and everything it
//! sealed still opens without it in the configuration.

mod support;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use novij_bus::{EventLog, Expect};
use novij_events::recipient::{RecipientBound, RecipientChatMigrated};
use novij_events::{Envelope, EventMeta};
use novij_runtime::derive::purpose;
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

/// Restarts `serve all` with `keys` as NOVIJ_MASTER_KEYS.
async fn restart_with_keys(stack: &mut TestStack, keys: &str) {
    if let Some(mut all) = stack.services.remove("all") {
        all.kill().await;
    }
    stack.set_env("NOVIJ_MASTER_KEYS", keys);
    stack.spawn("all", &["serve", "all"]);
    stack.wait_ready().await;
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

    // Users whose chats the old key sealed, and a reminder due long after
    // the old key is gone (its payload's data key wrapped by the old key).
    let dee = stack.connect_user(PROJECT, &integration, "dee").await;
    let eve = stack.connect_user(PROJECT, &custom, "eve").await;
    let due = (Utc::now() + chrono::Duration::seconds(90)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let reminder = json!({
        "project_id": PROJECT, "integration_id": integration, "recipient_ref": "dee",
        "template": "text_message", "template_vars": {"text": "the reminder"}, "send_at": due,
        "idempotency_key": "reminder-1",
    });
    // Dee's chat as an earlier release sealed it: directly by the master key.
    let listed = stack.get(&format!("/api/v1/integrations/{integration}/recipients")).await.body;
    let dee_id = listed.as_array().and_then(|l| l.iter().find(|r| r["public_user_ref"] == "dee").cloned());
    let dee_id = dee_id.and_then(|r| r["recipient_id"].as_str().map(String::from)).expect("dee's recipient_id");
    let log = EventLog::new(stack.jetstream().await);
    let (bound, _) = log.last::<RecipientBound>(&dee_id).await.expect("log").expect("dee's binding");
    let earlier = RecipientChatMigrated {
        recipient_id: dee_id.clone(),
        integration_id: integration.clone(),
        chat: stack.keyring().seal_str(purpose::CHAT_ID, &dee.to_string()).expect("seal"),
        chat_hash: bound.payload.chat_hash.clone(),
    };
    assert_eq!(earlier.chat.kid, "k1");
    log.append(&Envelope::new(earlier, EventMeta::new("earlier-release")), Expect::Any).await.expect("append");
    let reminder = stack.post("/api/v1/reminders", reminder).await;
    assert_eq!(reminder.status, 202, "{}", reminder.body);
    let reminder = reminder.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_idle().await;

    // A new first key; the old one stays to open what it sealed.
    let old = stack.env.iter().find(|(k, _)| k == "NOVIJ_MASTER_KEYS").map(|(_, v)| v.clone()).expect("keys");
    let new_key = novij_crypto::Keyring::generate_spec("k2").expect("key");
    restart_with_keys(&mut stack, &format!("{new_key},{old}")).await;
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

    // The old key may not go while data keys are wrapped by it.
    let retired = stack.cli_run(&["keys", "retire", "k1"]);
    let said = format!("{}{}", retired.stdout, retired.stderr);
    assert!(!retired.ok() && said.contains("keys rotate"), "retired before a rotation: {said}");
    let retired = stack.cli_run(&["keys", "retire", "k2"]);
    let said = format!("{}{}", retired.stdout, retired.stderr);
    assert!(!retired.ok() && said.contains("current"), "the current key retired: {said}");
    let rotated = stack.cli_run(&["keys", "rotate"]);
    let said = format!("{}{}", rotated.stdout, rotated.stderr);
    assert!(rotated.ok() && said.contains("older keys kept, wrapped:    k1"), "{said}");
    let retired = stack.cli_run(&["keys", "retire", "k1"]);
    assert!(retired.ok(), "{}{}", retired.stdout, retired.stderr);
    let pending = stack.get(&format!("/api/v1/reminders/{reminder}")).await.body;
    assert_eq!(pending["status"], "scheduled", "the reminder must still wait for the old key's removal: {pending}");

    // Without the old key: what it sealed still opens, through re-wrapped
    // data keys (chats bound before, a custom bot's token, the reminder's
    // payload), or through itself kept wrapped by the new one (dee's chat as
    // an earlier release sealed it).
    restart_with_keys(&mut stack, &new_key).await;
    let configured = stack.env.iter().find(|(k, _)| k == "NOVIJ_MASTER_KEYS").map(|(_, v)| v.clone());
    assert!(configured.is_some_and(|keys| !keys.contains("k1:")), "the old key is still configured");
    let to_dee = stack.send_text(PROJECT, &integration, "dee", "to dee", "k-3").await;
    stack.wait_send(to_dee.body["send_id"].as_str().expect("send_id"), "sent").await;
    assert!(texts(&stack, COMMON_BOT, dee, 2).await.contains(&"to dee".to_string()));
    let to_eve = stack.send_text(PROJECT, &custom, "eve", "to eve", "k-4").await;
    stack.wait_send(to_eve.body["send_id"].as_str().expect("send_id"), "sent").await;
    assert!(texts(&stack, "rotation_shop_bot", eve, 2).await.contains(&"to eve".to_string()));
    let fired = eventually(Duration::from_secs(120), || async {
        let view = stack.get(&format!("/api/v1/reminders/{reminder}")).await.body;
        (view["status"] == "sent").then_some(())
    })
    .await;
    assert!(fired.is_ok(), "the reminder never fired:\n{}", stack.output_tail());
    assert!(texts(&stack, COMMON_BOT, dee, 3).await.contains(&"the reminder".to_string()));
}
