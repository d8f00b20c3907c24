//! Inbound messages: what a connected user writes to a project's bot (not a
//! command) is handed to the project, on its feed without the content, and
//! the project answers it in the same chat as a reply.

mod support;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, WAIT};

const PROJECT: &str = "p_inbound";

#[tokio::test(flavor = "multi_thread")]
async fn a_users_message_reaches_the_project_and_its_reply_answers_it_in_the_chat() {
    let stack = TestStack::start(Layout::Single).await;
    let bot = "inbound_bot";
    let created = stack.sandbox_post("/sandbox/bots", json!({"username": bot})).await;
    let integration = stack.create_integration(PROJECT, created["token"].as_str()).await;
    let chat = stack.connect_user(PROJECT, &integration, "user:1").await;
    let messages = format!("/sandbox/users/{chat}/messages");
    let write = |text: &str| stack.sandbox_post(&messages, json!({"bot_username": bot, "text": text}));

    let secret = format!("my order {} is late", uuid::Uuid::new_v4().simple());
    let user_message = write(&secret).await["message_id"].as_i64().expect("message_id");
    let inbound = stack.last_on_feed(PROJECT, "inbound.received").await;
    assert_eq!(
        (&inbound["kind"], &inbound["integration_id"], &inbound["from"], &inbound["chat_kind"]),
        (&json!("inbound"), &json!(integration), &json!("user:1"), &json!("private")),
        "{inbound}"
    );
    assert!(!inbound.to_string().contains(&secret), "the feed holds no content: {inbound}");
    let message_id = inbound["message_id"].as_str().expect("message_id").to_string();
    let read = stack.get(&format!("/api/v1/inbound/{message_id}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!((&read.body["text"], &read.body["from"]), (&json!(secret), &json!("user:1")), "{}", read.body);

    // A command is not an inbound message.
    write("/nope").await;
    let told = eventually(WAIT, || async {
        let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={bot}&method=sendMessage")).await;
        calls
            .as_array()?
            .iter()
            .any(|c| c["params"]["text"].as_str().is_some_and(|t| t.contains("/nope")))
            .then_some(())
    })
    .await;
    assert!(told.is_ok(), "the command was answered as a command");
    assert_eq!(stack.last_on_feed(PROJECT, "inbound.received").await["message_id"], message_id.as_str());

    let path = format!("/api/v1/inbound/{message_id}/reply");
    let replied = stack.post(&path, json!({"text": "Sorry, it ships today", "idempotency_key": "r1"})).await;
    assert_eq!(replied.status, 202, "{}", replied.body);
    let again = stack.post(&path, json!({"text": "Sorry, it ships today", "idempotency_key": "r1"})).await;
    assert_eq!(again.body["send_id"], replied.body["send_id"], "a retry: {}", again.body);
    let reply = eventually(WAIT, || async {
        let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={bot}&method=sendMessage")).await;
        calls.as_array()?.iter().find(|c| c["params"]["text"] == "Sorry, it ships today" && c["status"] == 200).cloned()
    })
    .await
    .expect("the reply reached the chat");
    assert_eq!(
        (&reply["params"]["chat_id"], &reply["params"]["reply_parameters"]["message_id"]),
        (&json!(chat), &json!(user_message)),
        "{reply}"
    );
    stack.wait_idle().await;
    let replies: Vec<Value> = stack
        .sandbox_get(&format!("/sandbox/calls?bot_username={bot}&method=sendMessage"))
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["params"]["text"] == "Sorry, it ships today")
        .collect();
    assert_eq!(replies.len(), 1, "answered once: {replies:?}");

    // A photo is handed on as Telegram describes it: the largest size, its caption.
    let photo = json!({"bot_username": bot, "photo": {"width": 1280, "height": 960}, "caption": "the broken box"});
    stack.sandbox_post(&messages, photo).await;
    let with_photo = eventually(WAIT, || async {
        let last = stack.last_on_feed(PROJECT, "inbound.received").await;
        (last["message_id"] != message_id.as_str()).then_some(last)
    })
    .await
    .expect("the photo was handed on");
    let read = stack.get(&format!("/api/v1/inbound/{}", with_photo["message_id"].as_str().unwrap_or_default())).await;
    let media = &read.body["media"];
    assert_eq!(
        (&media["kind"], &media["caption"], &read.body["text"]),
        (&json!("photo"), &json!("the broken box"), &Value::Null)
    );
    assert!(media["file_id"].as_str().is_some_and(|f| !f.is_empty()), "{media}");
    assert_eq!(media["file_size"], 1280 * 960 / 10, "the full size, not a thumbnail: {media}");

    let unknown = stack.post("/api/v1/inbound/inb_00000000000000000000000000000000/reply", json!({"text": "x"})).await;
    assert_eq!((unknown.status, &unknown.body["error"]["field"]), (404, &json!("message_id")), "{}", unknown.body);
    let empty = stack.post(&path, json!({"text": ""})).await;
    assert_eq!((empty.status, &empty.body["error"]["field"]), (422, &json!("text")), "{}", empty.body);
}
