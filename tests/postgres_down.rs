//! Postgres is not on the path of a send: with it unreachable for 30 s under
//! load, sends and reminders to connected recipients are accepted and
//! delivered, and afterwards the projections catch up to exactly what a
//! rebuild from the log gives. Services restarted meanwhile work too.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Layout, TestStack, COMMON_BOT};

const BEFORE: Duration = Duration::from_secs(3);
const DOWN: Duration = Duration::from_secs(30);
const AFTER: Duration = Duration::from_secs(5);
/// One send per tick, spread over the users.
const TICK: Duration = Duration::from_millis(100);

async fn delivered(stack: &TestStack) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in stack.sent(COMMON_BOT).await {
        if let Some(text) = m["text"].as_str() {
            *counts.entry(text.to_string()).or_default() += 1;
        }
    }
    counts
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_down_for_30_s_under_load_refuses_nothing_and_loses_nothing() {
    let mut stack = TestStack::start_behind_pg_proxy(Layout::Separate, &[]).await;
    let integration = stack.create_integration("p1", None).await;
    let users: Vec<String> = (0..10).map(|i| format!("user:{i}")).collect();
    stack.connect_users("p1", &integration, &users).await;

    let started = Instant::now();
    let mut texts = Vec::new();
    let mut refused = Vec::new();
    let (mut cut_at, mut restored_at) = (None, None);
    let mut reminders = Vec::new();
    let mut i = 0usize;
    while started.elapsed() < BEFORE + DOWN + AFTER {
        if cut_at.is_none() && started.elapsed() >= BEFORE {
            stack.pg_proxy.as_ref().expect("proxy").cut();
            cut_at = Some(delivered(&stack).await.values().sum::<usize>());
            // Reminders made while Postgres is away, due while it still is.
            let send_at = (chrono::Utc::now() + chrono::Duration::seconds(5)).to_rfc3339();
            for (r, user) in users.iter().take(3).enumerate() {
                let text = format!("reminder {r}");
                let answer = stack
                    .post(
                        "/api/v1/reminders",
                        json!({
                            "project_id": "p1", "integration_id": integration, "recipient_ref": user,
                            "template": "text_message", "template_vars": {"text": text},
                            "send_at": send_at, "idempotency_key": format!("rem-{r}"),
                        }),
                    )
                    .await;
                assert_eq!(answer.status, 202, "a reminder refused with Postgres down: {}", answer.body);
                reminders.push(text);
            }
        }
        if restored_at.is_none() && started.elapsed() >= BEFORE + DOWN {
            restored_at = Some(delivered(&stack).await);
            stack.pg_proxy.as_ref().expect("proxy").restore();
        }
        let text = format!("load {i}");
        let answer = stack.send_text("p1", &integration, &users[i % users.len()], &text, &format!("k-{i}")).await;
        if answer.status == 202 {
            texts.push(text);
        } else {
            refused.push((answer.status, answer.body));
        }
        i += 1;
        tokio::time::sleep(TICK).await;
    }
    assert!(refused.is_empty(), "{} of {i} sends refused, e.g. {:?}", refused.len(), refused.first());

    // Delivered while Postgres was away, not only after it came back.
    let (cut_at, at_restore) = (cut_at.expect("cut"), restored_at.expect("restored"));
    let during: usize = at_restore.values().sum::<usize>() - cut_at;
    assert!(during >= 200, "only {during} messages delivered during the 30 s outage");
    for text in &reminders {
        assert_eq!(at_restore.get(text), Some(&1), "{text} was not delivered on time, during the outage");
    }

    // Nothing lost, nothing doubled.
    stack.wait_idle().await;
    let counts = delivered(&stack).await;
    for text in texts.iter().chain(&reminders) {
        assert_eq!(counts.get(text), Some(&1), "{text} delivered {:?} times", counts.get(text));
    }

    // The projections caught up, and are what a rebuild makes of the log.
    stack.wait_settled().await;
    for name in ["ingress", "dispatcher", "scheduler", "connect", "payment-verifier"] {
        stack.service(name).kill().await;
    }
    let db = stack.db.connect().await.expect("db");
    let live = support::projection_rows(&db).await;
    let sends = live.iter().find(|(t, _)| t == "sends").map(|(_, rows)| rows.len()).unwrap_or_default();
    assert!(sends >= texts.len() + reminders.len(), "{sends} send rows for {} sends", texts.len());
    support::rebuild_from_scratch(&stack, &db).await;
    assert_eq!(live, support::projection_rows(&db).await, "the live projections differ from a rebuild");
}

#[tokio::test(flavor = "multi_thread")]
async fn services_restarted_while_postgres_is_down_accept_and_deliver() {
    let mut stack = TestStack::start_behind_pg_proxy(Layout::Separate, &[]).await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;

    stack.pg_proxy.as_ref().expect("proxy").cut();
    for name in ["ingress", "dispatcher", "payment-verifier"] {
        stack.service(name).kill().await;
        stack.service(name).restart().expect("restart");
    }
    for (name, line) in [
        ("ingress", "\"started\""),
        ("payment-verifier", "\"started\""),
        ("dispatcher", "answering bot.verify requests"),
    ] {
        stack.service(name).wait_for_line(line, support::WAIT).await.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let answer = stack.send_text("p1", &integration, "user:1", "while postgres is away", "away-1").await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    novij_testkit::eventually(support::WAIT, || async {
        delivered(&stack).await.contains_key("while postgres is away").then_some(())
    })
    .await
    .expect("delivered with Postgres away");
    stack.pg_proxy.as_ref().expect("proxy").restore();
    stack.wait_send(answer.body["send_id"].as_str().expect("send_id"), "sent").await;
}
