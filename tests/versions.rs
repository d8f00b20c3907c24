//! Event versions on a running stack: v1 events exactly as the release before
//! `send.failed` v2 wrote them are read by the consumers, the projector and
//! the API; an event of a newer release stops the consumer that meets it,
//! with a clear log line, and is not stepped over.

mod support;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};
use support::{Layout, TestStack, WAIT};

const PROJECT: &str = "p_versions";

/// A reminder due in an hour: it waits as `scheduled`, so the test decides
/// what happens to it next.
async fn waiting_reminder(stack: &TestStack, integration: &str, key: &str) -> String {
    let send_at = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let body = json!({
        "project_id": PROJECT, "integration_id": integration, "recipient_ref": "user:1",
        "template": "text_message", "template_vars": {"text": "later"},
        "send_at": send_at, "idempotency_key": key,
    });
    let r = stack.post("/api/v1/reminders", body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_send(&id, "scheduled").await;
    id
}

/// An envelope as main wrote it before this change, byte for byte in shape.
fn envelope(event_type: &str, version: u16, send_id: &str, payload: Value) -> Value {
    json!({
        "event_id": uuid::Uuid::new_v4(),
        "event_type": event_type,
        "version": version,
        "aggregate_type": "send",
        "aggregate_id": send_id,
        "occurred_at": Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
        "correlation_id": "versions-test",
        "payload": payload,
    })
}

/// A stack with one connected user; returns it and the integration.
async fn stack_with_a_user() -> (TestStack, String) {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    stack.connect_user(PROJECT, &integration, "user:1").await;
    (stack, integration)
}

/// Appends a raw event to the log; returns its stream sequence.
async fn append_raw(stack: &TestStack, name: &str, event: &Value) -> u64 {
    let subject = format!("nt.ev.send.{}.{name}", event["aggregate_id"].as_str().expect("aggregate_id"));
    let js = stack.jetstream().await;
    let ack = js.publish(subject, serde_json::to_vec(event).expect("json").into()).await.expect("publish");
    ack.await.expect("stored").sequence
}

#[tokio::test(flavor = "multi_thread")]
async fn v1_events_are_read_by_every_consumer_the_projector_and_the_api() {
    let (stack, integration) = stack_with_a_user().await;
    let failed = waiting_reminder(&stack, &integration, "v1-failed").await;
    let dead = waiting_reminder(&stack, &integration, "v1-dead").await;

    let v1_failed = json!({ "send_id": failed, "reason": "chat_not_found", "detail": "Bad Request: chat not found", "attempts": 1 });
    append_raw(&stack, "failed", &envelope("send.failed", 1, &failed, v1_failed)).await;
    let v1_dead = json!({
        "send_id": dead, "bot_key": "common", "priority": "interactive",
        "reason": "telegram_unavailable", "detail": "Bad Gateway", "attempts": 3,
    });
    append_raw(&stack, "dead_lettered", &envelope("send.dead_lettered", 1, &dead, v1_dead)).await;

    // The projector and the API.
    let view = stack.wait_send(&failed, "failed").await;
    assert_eq!(view["failure"]["reason"], "chat_not_found", "{view}");
    let view = stack.wait_send(&dead, "dead_lettered").await;
    assert_eq!(view["failure"]["reason"], "telegram_unavailable", "{view}");
    // The API's own reads of the log: a failed reminder cannot be cancelled.
    let r = stack
        .request(reqwest::Method::DELETE, &format!("/api/v1/reminders/{failed}"), None, Some(&stack.admin_key))
        .await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (409, Some("not_cancellable")), "{}", r.body);
    // The dispatcher's dead-letter consumer filed the v1 event; a retry queues it.
    let letters = novij_testkit::eventually(WAIT, || async {
        let r = stack.get("/api/v1/ops/dead-letters").await;
        let list = r.body.as_array()?.clone();
        list.iter().any(|l| l["send_id"] == dead.as_str()).then_some(list)
    })
    .await
    .expect("the v1 dead letter is listed");
    let letter = letters.iter().find(|l| l["send_id"] == dead.as_str()).expect("letter");
    assert_eq!(letter["reason"], "telegram_unavailable", "{letter}");
    let r = stack.post("/api/v1/ops/dead-letters/retry", json!({"send_id": dead})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let view = support::wait_final(&stack, &dead).await;
    assert_eq!(view["status"], "sent", "the retried v1 dead letter was not delivered: {view}");
    assert!(!stack.output().contains("CONSUMER STOPPED"), "a v1 event stopped a consumer");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_event_of_a_newer_release_stops_its_consumer_and_is_not_skipped() {
    let (stack, integration) = stack_with_a_user().await;
    let reminder = waiting_reminder(&stack, &integration, "newer").await;

    let v3 = json!({
        "send_id": reminder, "reason": {"code": "chat_not_found", "retryable": false},
        "detail": "from the future", "attempts": 1,
    });
    let sequence = append_raw(&stack, "failed", &envelope("send.failed", 3, &reminder, v3)).await;
    // Every consumer that meets it says so: the projector and the feed.
    let process = stack.services.get("all").expect("all");
    for consumer in ["projector", "feed"] {
        let said = novij_testkit::eventually(WAIT, || async {
            let output = process.output();
            let line =
                output.lines().find(|l| l.contains("CONSUMER STOPPED") && l.contains(&format!("\"{consumer}\"")));
            line.map(str::to_string)
        })
        .await
        .unwrap_or_else(|_| panic!("{consumer} never said it stopped:\n{}", process.tail(40)));
        assert!(said.contains("send.failed version 3"), "{said}");
    }

    // Not skipped: the projector's checkpoint is below it, and the reminder
    // still shows as scheduled.
    let db = stack.db.connect().await.expect("db");
    let checkpoint = novij_projections::queries::checkpoint(&db).await.expect("checkpoint");
    assert!(checkpoint < sequence, "the checkpoint moved past the newer event: {checkpoint} ≥ {sequence}");
    let view = stack.get(&format!("/api/v1/sends/{reminder}")).await;
    assert_eq!(view.body["status"], "scheduled", "{}", view.body);
}
