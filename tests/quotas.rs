//! Per-project quotas, counted by ingress in memory from the log: parallel
//! requests cannot race past them, a retry of an accepted send is still
//! answered, and a restarted ingress counts what the log holds.

mod support;

use serde_json::json;
use support::{Layout, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn quotas_hold_under_parallel_requests_and_across_a_restart() {
    let mut stack = TestStack::start_with(
        Layout::Separate,
        &[("PROJECT_DAILY_SEND_QUOTA", "5"), ("PROJECT_PENDING_REMINDERS_QUOTA", "2")],
    )
    .await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;

    // Twelve sends at once: five fit the day's quota.
    let (stack_ref, integration_ref) = (&stack, &integration);
    let answers = futures::future::join_all((0..12).map(|i| async move {
        stack_ref.send_text("p1", integration_ref, "user:1", &format!("m{i}"), &format!("q-{i}")).await
    }))
    .await;
    let accepted: Vec<_> = answers.iter().filter(|r| r.status == 202).collect();
    let refused: Vec<_> = answers.iter().filter(|r| r.status == 429).collect();
    assert_eq!((accepted.len(), refused.len()), (5, 7), "{:?}", answers.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert!(refused.iter().all(|r| r.body["error"]["code"] == "quota_exceeded"), "{:?}", refused[0].body);

    // A retry of an accepted send is answered with it, quota or not.
    let first = answers.iter().position(|r| r.status == 202).expect("one accepted");
    let retry = stack.send_text("p1", &integration, "user:1", &format!("m{first}"), &format!("q-{first}")).await;
    assert_eq!((retry.status, &retry.body["send_id"]), (202, &answers[first].body["send_id"]), "{}", retry.body);

    // A restarted ingress counts the day's sends from the log.
    stack.service("ingress").kill().await;
    stack.service("ingress").restart().expect("restart");
    stack.wait_ready().await;
    let after = stack.send_text("p1", &integration, "user:1", "after restart", "q-after").await;
    assert_eq!((after.status, after.body["error"]["code"].as_str()), (429, Some("quota_exceeded")), "{}", after.body);

    // Another project has its own quotas; its reminders are limited while they wait.
    let other = stack.create_integration("p2", None).await;
    stack.connect_user("p2", &other, "user:1").await;
    let send_at = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let mut statuses = Vec::new();
    for i in 0..3 {
        let r = stack
            .post(
                "/api/v1/reminders",
                json!({
                    "project_id": "p2", "integration_id": other, "recipient_ref": "user:1",
                    "template": "text_message", "template_vars": {"text": "later"},
                    "send_at": send_at, "idempotency_key": format!("r-{i}"),
                }),
            )
            .await;
        statuses.push(r.status);
    }
    assert_eq!(statuses, [202, 202, 429]);
}
