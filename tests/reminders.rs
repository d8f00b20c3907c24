//! Reminders end to end: created through the API, fired by two scheduler
//! instances (one restarted midway), seen by the Telegram sandbox.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, PAYER_WALLET, SERVICE_WALLET};

const PROJECT: &str = "proj_rem";

fn reminder(integration: &str, user: usize, marker: &str, send_at: chrono::DateTime<Utc>) -> Value {
    json!({
        "project_id": PROJECT, "integration_id": integration, "recipient_ref": format!("user:{user}"),
        "template": "nrsv_reminder", "locale": "en",
        "template_vars": {"service_title": marker, "starts_at_local": "2026-06-01 12:30", "minutes_before": 30},
        // An offset other than Z: send_at is an instant, whatever the zone.
        "send_at": send_at.with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap())
            .to_rfc3339_opts(SecondsFormat::Millis, false),
        "idempotency_key": marker,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_reminders_fire_once_each_on_time_across_a_scheduler_restart() {
    const USERS: usize = 40;
    const REMINDERS: usize = 200;
    let mut stack = TestStack::start(Layout::Separate).await;
    stack.spawn("scheduler-2", &["serve", "scheduler"]);
    stack.wait_ready().await;
    let integration = stack.create_integration(PROJECT, None).await;
    let refs: Vec<String> = (0..USERS).map(|u| format!("user:{u}")).collect();
    stack.connect_users(PROJECT, &integration, &refs).await;

    // 200 reminders over 10 s; one user's reminders are 2 s apart (Telegram allows 1/s per chat).
    let base = Utc::now() + chrono::Duration::seconds(5);
    let plan: Vec<(String, chrono::DateTime<Utc>)> =
        (0..REMINDERS).map(|i| (format!("rem-{i:03}"), base + chrono::Duration::milliseconds(50 * i as i64))).collect();
    let bodies: Vec<Value> =
        plan.iter().enumerate().map(|(i, (marker, at))| reminder(&integration, i % USERS, marker, *at)).collect();
    let ids = futures::future::join_all(bodies.into_iter().map(|b| stack.post("/api/v1/reminders", b))).await;
    let ids: Vec<String> = ids
        .iter()
        .map(|r| {
            assert_eq!(r.status, 202, "{}", r.body);
            r.body["send_id"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(Utc::now() < base, "creating the reminders took too long for the test's timing");

    // Cancel ten of the later ones.
    let cancelled: Vec<usize> = (0..10).map(|k| 105 + 9 * k).collect();
    for &i in &cancelled {
        let r = stack
            .request(reqwest::Method::DELETE, &format!("/api/v1/reminders/{}", ids[i]), None, Some(&stack.admin_key))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["status"], "cancelled");
    }
    let view = stack.get(&format!("/api/v1/reminders/{}", ids[cancelled[0]])).await;
    assert_eq!(view.body["status"], "cancelled", "{}", view.body);

    // Midway (the first hundred delivered), one scheduler dies hard; ten more
    // reminders come due and are delivered while it is down; it comes back.
    support::wait_total(&stack, USERS as u64 + 100, Duration::from_secs(20)).await;
    stack.service("scheduler-2").kill().await;
    let at_kill = stack.sandbox_get("/sandbox/stats").await["delivered"].as_u64().expect("delivered");
    support::wait_total(&stack, at_kill + 10, Duration::from_secs(10)).await;
    stack.service("scheduler-2").restart().expect("restart scheduler-2");
    stack.wait_ready().await;

    let expected = (REMINDERS - cancelled.len()) as u64;
    support::wait_total(&stack, expected + USERS as u64, Duration::from_secs(40)).await;
    stack.wait_idle().await;

    // Every accepted sendMessage call, stamped by the sandbox on arrival.
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMessage")).await;
    let mut arrivals: HashMap<String, Vec<i64>> = HashMap::new();
    for call in calls.as_array().cloned().unwrap_or_default().iter().filter(|c| c["status"] == 200) {
        let text = call["params"]["text"].as_str().unwrap_or_default();
        if let Some(marker) = text.lines().nth(1).filter(|l| l.starts_with("rem-")) {
            assert!(text.starts_with("⏰ <b>Reminder</b>\n"), "{text}");
            arrivals.entry(marker.to_string()).or_default().push(call["at_ms"].as_i64().expect("at_ms"));
        }
    }
    let mut worst_ms = 0;
    for (i, (marker, at)) in plan.iter().enumerate() {
        let got = arrivals.get(marker).cloned().unwrap_or_default();
        if cancelled.contains(&i) {
            assert!(got.is_empty(), "cancelled {marker} was delivered");
            continue;
        }
        assert_eq!(got.len(), 1, "{marker} delivered {} times", got.len());
        let late_ms = got[0] - at.timestamp_millis();
        assert!((0..1000).contains(&late_ms), "{marker} arrived {late_ms} ms after its send_at");
        worst_ms = worst_ms.max(late_ms);
    }
    println!("reminders: {expected} delivered once each, latest {worst_ms} ms after send_at");

    let done = stack.get(&format!("/api/v1/reminders/{}", ids[0])).await;
    assert_eq!(done.body["status"], "sent", "{}", done.body);
    let r = stack
        .request(reqwest::Method::DELETE, &format!("/api/v1/reminders/{}", ids[0]), None, Some(&stack.admin_key))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["error"]["code"], "already_dispatched");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_reminder_is_paid_at_creation_and_bad_times_are_refused() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack
        .create_integration_with(PROJECT, None, json!({"payment_mode": "dsr", "default_reminder_minutes": 15}))
        .await;
    stack.connect_user(PROJECT, &integration, "user:0").await;
    let code = stack.quote(PROJECT, "nrsv_reminder").await["payment_code"].as_str().unwrap().to_string();
    let tx = stack.transfer(PAYER_WALLET, SERVICE_WALLET, "1", &code, "confirmed").await;

    let send_at = Utc::now() + chrono::Duration::seconds(4);
    let mut body = reminder(&integration, 0, "paid-rem", send_at);
    body["template_vars"].as_object_mut().unwrap().remove("minutes_before");
    body["locale"] = json!("ru");
    for (k, v) in
        [("payment_mode", "dsr"), ("tx_hash", tx.as_str()), ("payer_wallet_id", PAYER_WALLET), ("payment_code", &code)]
    {
        body[k] = json!(v);
    }
    let r = stack.post("/api/v1/reminders", body).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["send_id"].as_str().unwrap().to_string();
    // Verified when created: scheduled (and paid) long before it is due.
    let scheduled = stack.wait_send(&id, "scheduled").await;
    assert!(Utc::now() < send_at, "the payment was not checked at creation");
    assert_eq!(scheduled["payment_tx"], tx.as_str(), "{scheduled}");
    let sent = stack.wait_send(&id, "sent").await;
    let sent_texts = stack.sent(COMMON_BOT).await;
    let text =
        sent_texts.iter().find_map(|m| m["text"].as_str().filter(|t| t.contains("paid-rem"))).unwrap_or_default();
    assert!(text.contains("Напоминание"), "not rendered in Russian: {text} ({sent})");
    assert!(text.contains("(через 15 мин.)"), "the integration's default_reminder_minutes was not used: {text}");

    let field_of = |r: &support::Response| r.body["error"]["field"].as_str().unwrap_or_default().to_string();
    let past = reminder(&integration, 0, "too-old", Utc::now() - chrono::Duration::minutes(10));
    let r = stack.post("/api/v1/reminders", past).await;
    assert_eq!((r.status, field_of(&r)), (422, "send_at".into()), "{}", r.body);
    let mut no_offset = reminder(&integration, 0, "no-offset", Utc::now());
    no_offset["send_at"] = json!("2026-06-01T09:00:00");
    let r = stack.post("/api/v1/reminders", no_offset).await;
    assert_eq!((r.status, field_of(&r)), (422, "send_at".into()), "{}", r.body);
    let r = stack.post("/api/v1/send", reminder(&integration, 0, "on-send", Utc::now())).await;
    assert_eq!((r.status, field_of(&r)), (422, "send_at".into()), "{}", r.body);
}
