//! What is sealed in the log is bound to what it belongs to: a recipient's
//! chat copied into another recipient's record does not open there, so a
//! forged record cannot turn one user's messages towards another's chat.

mod support;

use novij_bus::{EventLog, Expect};
use novij_events::recipient::{RecipientBound, RecipientChatMigrated};
use novij_events::{decode_slice_as, subjects, Envelope, EventMeta};
use novij_testkit::eventually;
use serde_json::json;
use support::{Layout, TestStack, COMMON_BOT, WAIT};

const PROJECT: &str = "p_sealing";

#[tokio::test(flavor = "multi_thread")]
async fn a_chat_copied_into_another_recipients_record_does_not_open() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let ann = stack.connect_user(PROJECT, &integration, "ann").await;
    stack.connect_user(PROJECT, &integration, "bo").await;
    stack.wait_idle().await;
    let listed = stack.get(&format!("/api/v1/integrations/{integration}/recipients")).await.body;
    let id_of = |user: &str| {
        let found = listed.as_array().and_then(|l| l.iter().find(|r| r["public_user_ref"] == user).cloned());
        found.and_then(|r| r["recipient_id"].as_str().map(String::from)).expect("recipient_id")
    };
    let (ann_id, bo_id) = (id_of("ann"), id_of("bo"));

    // Someone who can write to the log copies ann's sealed chat into bo's record.
    let js = stack.jetstream().await;
    let events = js.get_stream(subjects::EVENTS_STREAM).await.expect("EVENTS");
    let bound = events.get_last_raw_message_by_subject(&subjects::event::<RecipientBound>(&ann_id)).await;
    let bound = decode_slice_as::<RecipientBound>(&bound.expect("ann's binding").payload).expect("decode");
    let forged = RecipientChatMigrated {
        recipient_id: bo_id.clone(),
        integration_id: integration.clone(),
        chat: bound.payload.chat.clone(),
        chat_hash: bound.payload.chat_hash.clone(),
    };
    let log = EventLog::new(js.clone());
    log.append(&Envelope::new(forged, EventMeta::new("forged")), Expect::Any).await.expect("append");

    // A broadcast to bo reads bo's record from the log: the chat does not
    // open as bo's, so bo is skipped and ann gets nothing.
    let body = json!({"project_id": PROJECT, "integration_id": integration, "recipient_refs": ["bo"],
                      "template": "text_message", "template_vars": {"text": "for bo only"}, "idempotency_key": "b1"});
    let created = stack.post("/api/v1/broadcasts", body).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["broadcast_id"].as_str().expect("broadcast_id").to_string();
    let done = eventually(WAIT, || async {
        let view = stack.get(&format!("/api/v1/broadcasts/{id}")).await.body;
        (view["progress"]["pending"] == 0 && view["status"] != "created").then_some(view)
    })
    .await
    .expect("the broadcast was made");
    assert_eq!(done["progress"]["skipped"], json!({"chat_unreadable": 1}), "{done}");
    stack.wait_idle().await;
    let sent = stack.sent(COMMON_BOT).await;
    assert!(!sent.iter().any(|m| m["text"] == "for bo only"), "delivered through a copied chat: {sent:?}");
    assert!(sent.iter().any(|m| m["chat_id"] == ann), "ann's own messages are there");
}
