//! `novij-telegram cleanup`: expired payloads become unreadable everywhere,
//! the event log's copy included, and the report counts what was removed.

mod support;

use std::time::Duration;

use novij_events::send::SendAccepted;
use novij_runtime::{PayloadError, Payloads};
use serde_json::{json, Value};
use support::{Layout, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn cleanup_shreds_expired_payloads_and_counts_what_it_removed() {
    let stack = TestStack::start_with(
        Layout::Single,
        &[
            ("PAYLOAD_RETENTION_SECONDS", "8"),
            ("PAYLOAD_KEY_EPOCH_SECONDS", "1"),
            ("CONNECT_CODE_TTL_SECONDS", "2"),
            // The scheduler's own run must not take the counts from this test.
            ("CLEANUP_CRON", "0 0 0 1 1 *"),
        ],
    )
    .await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;
    let r = stack.send_text("p1", &integration, "user:1", "shred me", "c-1").await;
    assert_eq!(r.status, 202, "{}", r.body);
    let send_id = r.body["send_id"].as_str().unwrap().to_string();
    stack.wait_send(&send_id, "sent").await;
    // A connect code nobody redeems.
    let code = stack
        .post(
            "/api/v1/telegram/connect-codes",
            json!({"project_id": "p1", "integration_id": integration, "public_user_ref": "user:2"}),
        )
        .await;
    assert_eq!(code.status, 201, "{}", code.body);

    // The payload as the event log holds it, and a reader with the service's keys.
    let js = stack.jetstream().await;
    let log = novij_bus::EventLog::new(js.clone());
    let (accepted, _) = log.last::<SendAccepted>(&send_id).await.unwrap().expect("accepted event");
    let keyring = std::sync::Arc::new(stack.keyring());
    let db = stack.db.connect().await.unwrap();
    let payloads = Payloads::connect(&js, db, keyring, 1).await.unwrap();
    let purpose = novij_runtime::derive::purpose::OUTGOING_MESSAGE;
    let before = payloads.open(purpose, &accepted.payload.message).await.expect("readable before cleanup");
    assert!(String::from_utf8_lossy(&before).contains("shred me"));

    let early = report(&stack);
    assert_eq!(early["payload_keys_erased"], 0, "nothing has expired yet: {early}");

    // Kept: the payloads must really grow older than PAYLOAD_RETENTION_SECONDS
    // (8 s) plus one key epoch (1 s).
    tokio::time::sleep(Duration::from_secs(10)).await;
    let report = report(&stack);
    // The welcome reply and the message both expired, sealed with the keys of
    // the epochs they expire in; so did the unredeemed code.
    let keys = payload_keys(&js).await;
    assert!((1..=2).contains(&keys.len()), "two payloads, one or two epochs: {keys:?}");
    assert_eq!(report["payload_keys_erased"], keys.len(), "{report}");
    assert_eq!(report["connect_codes_removed"], 1, "{report}");
    assert_eq!(report["sends_removed"], 0, "finished sends are kept for AUDIT_RETENTION_DAYS: {report}");
    assert!(
        matches!(payloads.open(purpose, &accepted.payload.message).await, Err(PayloadError::Shredded)),
        "the event log's copy is still readable"
    );
    let again = self::report(&stack);
    assert_eq!(again["payload_keys_erased"], 0, "{again}");
}

/// The data keys of every send's message on the log.
async fn payload_keys(js: &async_nats::jetstream::Context) -> std::collections::BTreeSet<String> {
    use async_nats::jetstream::consumer::pull::OrderedConfig;
    use futures::StreamExt;
    let stream = js.get_stream(novij_events::subjects::EVENTS_STREAM).await.unwrap();
    let mut consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: novij_events::subjects::all_of::<SendAccepted>(),
            ..Default::default()
        })
        .await
        .unwrap();
    let count = consumer.info().await.unwrap().num_pending;
    let mut messages = consumer.messages().await.unwrap().take(count as usize);
    let mut keys = std::collections::BTreeSet::new();
    while let Some(msg) = messages.next().await {
        let accepted = novij_events::decode_slice_as::<SendAccepted>(&msg.unwrap().payload).unwrap();
        keys.insert(accepted.payload.message.kid);
    }
    assert_eq!(keys.iter().filter(|k| k.starts_with("dk:e")).count(), keys.len(), "epoch keys only: {keys:?}");
    keys
}

fn report(stack: &TestStack) -> Value {
    let out = stack.cli(&["cleanup", "--json"]);
    assert!(out.status.success(), "cleanup failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("no report ({e}) in:\n{stdout}"))
}
