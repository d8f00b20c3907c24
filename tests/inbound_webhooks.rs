//! Inbound messages POSTed to the project's `inbound_webhook_url`, signed the
//! Standard Webhooks way and checked by the reference library in a Python
//! receiver (`tests/receivers/standard_webhooks.py`): retried while the
//! receiver fails, delivered once; both secrets sign for a while after a
//! rotation; internal addresses refused when the URL is set and when it is
//! called; dead letters listed and retried.

mod support;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::receiver::Receiver;
use support::{Layout, TestStack, WAIT};

const PROJECT: &str = "p_hooks";

/// The receivers run on loopback: opened for the test, as for development.
const ALLOW_LOOPBACK: (&str, &str) = ("INBOUND_WEBHOOK_ALLOW", "127.0.0.0/8");

/// A custom bot, an integration on it, and a connected user's chat.
async fn project(stack: &TestStack, bot: &str) -> (String, i64) {
    let created = stack.sandbox_post("/sandbox/bots", json!({"username": bot})).await;
    let integration = stack.create_integration(PROJECT, created["token"].as_str()).await;
    let chat = stack.connect_user(PROJECT, &integration, "user:1").await;
    (integration, chat)
}

/// The integration's first URL (where nothing listens yet): its answer shows
/// the secret, once.
async fn first_secret(stack: &TestStack, path: &str) -> String {
    let set = stack.patch(path, json!({"inbound_webhook_url": "http://127.0.0.1:9/not-yet"})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let secret = set.body["inbound_secret"].as_str().expect("the secret, shown once").to_string();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(stack.get(path).await.body.get("inbound_secret"), None, "never shown again");
    secret
}

async fn write(stack: &TestStack, bot: &str, chat: i64, text: &str) {
    stack.sandbox_post(&format!("/sandbox/users/{chat}/messages"), json!({"bot_username": bot, "text": text})).await;
}

/// The receiver's deliveries, once `done` says they are complete.
async fn until(receiver: &Receiver, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let found = eventually(WAIT, || async {
        let received = receiver.received().await;
        done(&received).then_some(received)
    })
    .await;
    found.unwrap_or_else(|_| panic!("{what}; the receiver has {:?}", futures::executor::block_on(receiver.received())))
}

fn answered(deliveries: &[Value], status: u16) -> usize {
    deliveries.iter().filter(|d| d["answered"] == status).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_reach_a_receiver_that_was_down_once_signed_and_after_a_rotation_with_both_secrets() {
    let retries = ("INBOUND_WEBHOOK_RETRIES", "500ms,500ms,1s,2s,5s,10s,20s");
    let stack = TestStack::start_with(Layout::Single, &[ALLOW_LOOPBACK, retries]).await;
    let bot = "hooks_bot";
    let (integration, chat) = project(&stack, bot).await;
    let path = format!("/api/v1/integrations/{integration}");

    let secret = first_secret(&stack, &path).await;

    // The receiver is down for a while: it answers 503 twice, then takes it.
    let receiver = Receiver::start("127.0.0.1", &[&secret]).await;
    let moved = stack.patch(&path, json!({"inbound_webhook_url": format!("{}/inbound", receiver.base)})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body.get("inbound_secret"), None, "a new URL keeps the secret");
    receiver.force(Some(503)).await;
    let text = format!("where is my order {}", uuid::Uuid::new_v4().simple());
    write(&stack, bot, chat, &text).await;
    until(&receiver, "two failed calls", |d| answered(d, 503) >= 2).await;
    receiver.force(None).await;
    until(&receiver, "the call after the receiver came back", |d| answered(d, 204) == 1).await;
    stack.wait_idle().await;

    let deliveries = receiver.received().await;
    assert_eq!(answered(&deliveries, 204), 1, "delivered once: {deliveries:?}");
    assert_eq!(deliveries.last().map(|d| &d["answered"]), Some(&json!(204)), "nothing after it: {deliveries:?}");
    let message_id = stack.last_on_feed(PROJECT, "inbound.received").await["message_id"].clone();
    for d in &deliveries {
        assert_eq!(d["webhook_id"], message_id, "the same id on every call: {d}");
        assert_eq!(d["verified_by"], json!([0]), "signed with the secret: {d}");
    }
    let body = &deliveries[0]["body"];
    assert_eq!(
        (&body["type"], &body["data"]["message_id"], &body["data"]["integration_id"]),
        (&json!("message.received"), &message_id, &json!(integration)),
        "{body}"
    );
    assert_eq!(
        (&body["data"]["text"], &body["data"]["public_user_ref"], &body["data"]["chat_kind"]),
        (&json!(text), &json!("user:1"), &json!("private")),
        "{body}"
    );
    assert!(body["timestamp"].as_str().is_some_and(|t| !t.is_empty()), "{body}");

    // A rotation: for the overlap, messages carry both signatures.
    let rotated = stack.post(&format!("{path}/inbound-secret"), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.body["inbound_secret"].as_str().expect("the new secret").to_string();
    assert_ne!(new_secret, secret);
    assert!(rotated.body["previous_valid_until"].is_string(), "{}", rotated.body);
    let both = Receiver::start("127.0.0.1", &[&secret, &new_secret]).await;
    let moved = stack.patch(&path, json!({"inbound_webhook_url": format!("{}/inbound", both.base)})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    write(&stack, bot, chat, "and now?").await;
    let signed = until(&both, "the message after the rotation", |d| answered(d, 204) == 1).await;
    assert_eq!(signed[0]["verified_by"], json!([0, 1]), "old and new secret verify: {}", signed[0]);
    let signatures = signed[0]["signature_header"].as_str().unwrap_or_default().split(' ').count();
    assert_eq!(signatures, 2, "{}", signed[0]);

    // Without a URL, messages stay on the feed only.
    let removed = stack.patch(&path, json!({"inbound_webhook_url": null})).await;
    assert_eq!((removed.status, &removed.body["inbound_webhook_url"]), (200, &Value::Null), "{}", removed.body);
    write(&stack, bot, chat, "anyone?").await;
    eventually(WAIT, || async {
        let last = stack.last_on_feed(PROJECT, "inbound.received").await;
        (last["message_id"] != message_id && last["message_id"] != signed[0]["webhook_id"]).then_some(())
    })
    .await
    .expect("the third message on the feed");
    stack.wait_idle().await;
    assert_eq!(both.received().await.len(), 1, "nothing was POSTed");
    let rotate_without_url = stack.post(&format!("{path}/inbound-secret"), json!({})).await;
    assert_eq!(
        (rotate_without_url.status, &rotate_without_url.body["error"]["code"]),
        (409, &json!("no_inbound_webhook")),
        "{}",
        rotate_without_url.body
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn internal_addresses_are_refused_when_set_and_when_called_and_dead_letters_are_retried() {
    let retries = ("INBOUND_WEBHOOK_RETRIES", "200ms");
    let mut stack = TestStack::start_with(Layout::Separate, &[ALLOW_LOOPBACK, retries]).await;
    let bot = "hooks_dlq_bot";
    let (integration, chat) = project(&stack, bot).await;
    let path = format!("/api/v1/integrations/{integration}");

    for (url, says) in [
        ("https://10.0.0.1/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fd00::1]/hook", "private"),
        ("http://203.0.113.5/hook", "https"),
        ("ftp://example.org/hook", "https URL"),
    ] {
        let refused = stack.patch(&path, json!({"inbound_webhook_url": url})).await;
        assert_eq!((refused.status, &refused.body["error"]["field"]), (422, &json!("inbound_webhook_url")), "{url}");
        assert!(refused.body["error"]["message"].as_str().is_some_and(|m| m.contains(says)), "{url}: {}", refused.body);
    }
    assert_eq!(stack.get(&path).await.body["inbound_webhook_url"], Value::Null, "nothing was written");

    // Allowed where the URL is set; connect, which calls it, allows less:
    // the address is checked again at the call.
    let secret = first_secret(&stack, &path).await;
    let receiver = Receiver::start("127.0.0.2", &[&secret]).await;
    let set = stack.patch(&path, json!({"inbound_webhook_url": format!("{}/in", receiver.base)})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let narrow = ("INBOUND_WEBHOOK_ALLOW".to_string(), "127.0.0.1/32".to_string());
    restart_connect(&mut stack, Some(narrow)).await;
    write(&stack, bot, chat, "hello?").await;
    let letters = eventually(WAIT, || async {
        let listed = stack.get("/api/v1/inbound/dead-letters").await;
        listed.body.as_array().filter(|l| !l.is_empty()).cloned()
    })
    .await
    .expect("a dead letter");
    let message_id = stack.last_on_feed(PROJECT, "inbound.received").await["message_id"].clone();
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(
        (&letters[0]["message_id"], &letters[0]["reason"], &letters[0]["attempts"]),
        (&message_id, &json!("address_refused"), &json!(2)),
        "{letters:?}"
    );
    assert!(receiver.received().await.is_empty(), "never called");

    // The address is allowed again: the dead letter, retried, is delivered.
    restart_connect(&mut stack, None).await;
    let retried = stack.post("/api/v1/inbound/dead-letters/retry", json!({"message_id": message_id})).await;
    assert_eq!((retried.status, &retried.body["retried"]), (200, &json!([message_id])), "{}", retried.body);
    let delivered = until(&receiver, "the retried message", |d| answered(d, 204) == 1).await;
    assert_eq!((&delivered[0]["webhook_id"], &delivered[0]["verified_by"]), (&message_id, &json!([0])));
    stack.wait_idle().await;
    assert_eq!(stack.get("/api/v1/inbound/dead-letters").await.body, json!([]), "the entry is gone");
    let again = stack.post("/api/v1/inbound/dead-letters/retry", json!({"message_id": message_id})).await;
    assert_eq!((again.status, &again.body["error"]["field"]), (404, &json!("message_id")), "{}", again.body);
    assert_eq!(receiver.received().await.len(), 1, "delivered once");
}

/// Starts connect again, with `setting` on top of the stack's settings.
async fn restart_connect(stack: &mut TestStack, setting: Option<(String, String)>) {
    stack.service("connect").kill().await;
    let base = stack.env.clone();
    stack.env.extend(setting);
    stack.spawn("connect", &["serve", "connect"]);
    stack.env = base;
    if let Err(e) = stack.service("connect").wait_for_line("\"started\"", WAIT).await {
        panic!("connect did not start again ({e}):\n{}", stack.service("connect").output());
    }
}
