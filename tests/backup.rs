//! `backup` of a running stack and `restore` into a fresh NATS and Postgres:
//! `rebuild` there gives the same projections, and a reminder still pending
//! at the backup is delivered by the restored stack.

mod support;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use novij_testkit::eventually;
use sea_orm::{ConnectionTrait as _, DbBackend, Statement};
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT};

const PROJECT: &str = "p_backup";

/// A projection's rows that say what happened, in a stable order.
async fn rows(stack: &TestStack, sql: &str) -> Vec<Value> {
    let db = stack.db.connect().await.expect("db");
    let found = db.query_all(Statement::from_string(DbBackend::Postgres, sql)).await.expect("query");
    found
        .iter()
        .map(|row| {
            let text = |c: &str| row.try_get::<Option<String>>("", c).ok().flatten();
            json!({ "id": text("id"), "a": text("a"), "b": text("b") })
        })
        .collect()
}

const SENDS: &str = "SELECT send_id AS id, status AS a, telegram_message_id::text AS b FROM sends ORDER BY send_id";
const RECIPIENTS: &str =
    "SELECT recipient_id AS id, status AS a, public_user_ref AS b FROM recipients ORDER BY recipient_id";
const INTEGRATIONS: &str = "SELECT id, project_id AS a, bot_key AS b FROM integrations ORDER BY id";

fn setting(stack: &TestStack, name: &str) -> String {
    stack.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).expect(name)
}

/// A fresh NATS and Postgres for the lost machine `a`: its keys, the same Telegram.
async fn successor(a: &TestStack) -> TestStack {
    let keys = [
        ("NOVIJ_MASTER_KEYS", setting(a, "NOVIJ_MASTER_KEYS")),
        ("NOVIJ_LOOKUP_KEY", setting(a, "NOVIJ_LOOKUP_KEY")),
        ("TELEGRAM_API_BASE_URL", a.sandbox.base_url()),
        ("TELEGRAM_COMMON_BOT_TOKEN", a.common_token.clone()),
    ];
    let extra: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestStack::start_with(Layout::Single, &extra).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restored_into_a_fresh_nats_and_postgres_rebuilds_the_same_and_delivers_what_waited() {
    let mut a = TestStack::start(Layout::Single).await;
    let integration = a.create_integration(PROJECT, None).await;
    let ann = a.connect_user(PROJECT, &integration, "ann").await;
    a.connect_user(PROJECT, &integration, "bo").await;
    for (i, text) in ["one", "two", "three"].iter().enumerate() {
        let sent = a.send_text(PROJECT, &integration, "ann", text, &format!("k-{i}")).await;
        a.wait_send(sent.body["send_id"].as_str().expect("send_id"), "sent").await;
    }
    let due = (Utc::now() + chrono::Duration::seconds(40)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let body = json!({
        "project_id": PROJECT, "integration_id": integration, "recipient_ref": "ann",
        "template": "text_message", "template_vars": {"text": "after the restore"}, "send_at": due,
        "idempotency_key": "reminder",
    });
    let reminder = a.post("/api/v1/reminders", body).await;
    assert_eq!(reminder.status, 202, "{}", reminder.body);
    let reminder = reminder.body["send_id"].as_str().expect("send_id").to_string();
    a.wait_settled().await;

    let dir = tempfile::tempdir().expect("dir");
    let out = a.cli(&["backup", "--out", dir.path().to_str().expect("path"), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest: Value = serde_json::from_slice(&out.stdout).expect("manifest");
    assert!(manifest["streams"]["EVENTS"].as_u64().unwrap_or(0) > 10, "{manifest}");
    let before = (rows(&a, SENDS).await, rows(&a, RECIPIENTS).await, rows(&a, INTEGRATIONS).await);
    let sends_seen = before.0.iter().filter(|r| r["id"].is_string() && r["a"].is_string()).count();
    assert!(sends_seen >= 6 && before.1.len() == 2, "{before:?}");
    // The machine is lost: its NATS and Postgres with it. Telegram stays.
    a.service("all").kill().await;

    let b = successor(&a).await;
    let out = b.cli(&["restore", dir.path().to_str().expect("path"), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let restored: Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(restored["restored"], manifest["streams"], "{restored}");
    let again = b.cli(&["restore", dir.path().to_str().expect("path")]);
    assert!(!again.status.success(), "restored twice into the same NATS");
    let out = b.cli(&["rebuild"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let after = (rows(&b, SENDS).await, rows(&b, RECIPIENTS).await, rows(&b, INTEGRATIONS).await);
    assert_eq!(after, before, "the restored projections differ");

    // The reminder that waited fires from the restored stack, once.
    let fired = eventually(Duration::from_secs(90), || async {
        let view = b.get(&format!("/api/v1/reminders/{reminder}")).await.body;
        (view["status"] == "sent").then_some(())
    })
    .await;
    assert!(fired.is_ok(), "the reminder never fired:\n{}", b.output_tail());
    b.wait_idle().await;
    let sent = a.sent(COMMON_BOT).await;
    let texts: Vec<&str> = sent.iter().filter(|m| m["chat_id"] == ann).filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts.iter().filter(|t| **t == "after the restore").count(), 1, "{texts:?}");
    assert_eq!(texts.iter().filter(|t| **t == "one").count(), 1, "a send delivered again after the restore");
}

/// The send ids of a copy's `EVENTS.jsonl` with an event of `kind` (`accepted`, `sent`).
fn sends_in_copy(dir: &std::path::Path, kind: &str) -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(dir.join("EVENTS.jsonl")).expect("EVENTS.jsonl");
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| {
            let subject = line["subject"].as_str()?.to_string();
            let parts: Vec<&str> = subject.split('.').collect();
            // nt.ev.send.<send_id>.<event>
            (parts.len() == 5 && parts[2] == "send" && parts[4] == kind).then(|| parts[3].to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_sends_flow_restores_every_accepted_send_and_delivers_the_rest() {
    let mut a = TestStack::start(Layout::Single).await;
    let integration = a.create_integration(PROJECT, None).await;
    let users: Vec<String> = (0..20).map(|i| format!("user-{i}")).collect();
    a.connect_users(PROJECT, &integration, &users).await;
    let sends: Vec<Value> = (0..300)
        .map(|i| {
            json!({
                "project_id": PROJECT, "integration_id": integration, "recipient_ref": users[i % users.len()],
                "template": "text_message", "template_vars": {"text": format!("load {i}")},
                "idempotency_key": format!("load-{i}"),
            })
        })
        .collect();
    // Accepted at once; delivered at one message a second per chat: the
    // payment-verifier and the dispatcher append while the backup reads.
    let (accepted, _) = a.spawn_send_all(sends).await.expect("sends");
    let dir = tempfile::tempdir().expect("dir");
    let out = a.cli(&["backup", "--out", dir.path().to_str().expect("path"), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let in_copy = sends_in_copy(dir.path(), "accepted");
    let sent_in_copy = sends_in_copy(dir.path(), "sent");
    // The copy also holds the connect replies, which are sends too.
    let missing: Vec<&String> = accepted.iter().filter(|id| !in_copy.contains(*id)).collect();
    assert!(missing.is_empty(), "accepted sends missing from the copy: {missing:?}");
    assert!(sent_in_copy.len() < in_copy.len(), "the backup was not taken while sends were in flight");
    // The machine is lost mid-flight.
    a.service("all").kill().await;
    let sent_before: Vec<Value> =
        rows(&a, SENDS).await.into_iter().filter(|r| sent_in_copy.contains(r["id"].as_str().unwrap_or(""))).collect();

    let b = successor(&a).await;
    let out = b.cli(&["restore", dir.path().to_str().expect("path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = b.cli(&["rebuild"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // What was sent before the backup is as it was; every other accepted send is delivered now.
    let restored = rows(&b, SENDS).await;
    let restored_ids: std::collections::BTreeSet<String> =
        restored.iter().filter_map(|r| r["id"].as_str().map(str::to_string)).collect();
    assert!(in_copy.is_subset(&restored_ids), "a send of the copy is missing after the rebuild");
    for before in &sent_before {
        assert!(restored.contains(before), "{before} changed in the restore");
    }
    let all_sent = eventually(Duration::from_secs(120), || async {
        let rows = rows(&b, SENDS).await;
        let sent = rows.iter().filter(|r| in_copy.contains(r["id"].as_str().unwrap_or("")) && r["a"] == "sent").count();
        (sent == in_copy.len()).then_some(())
    })
    .await;
    assert!(all_sent.is_ok(), "not every restored send was delivered:\n{}", b.output_tail());
}
