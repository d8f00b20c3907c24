//! A service killed after the 202 and before delivery, then restarted: the
//! message is delivered exactly once.

mod support;

use std::time::Duration;

use support::{Layout, TestStack};

async fn assert_delivered_once(stack: &TestStack, text: &str) {
    // A duplicate would come from work still pending or in flight: let it finish.
    stack.wait_idle().await;
    let copies = stack.sent(support::COMMON_BOT).await.into_iter().filter(|m| m["text"].as_str() == Some(text)).count();
    assert_eq!(copies, 1, "delivered {copies} times");
}

#[tokio::test(flavor = "multi_thread")]
async fn dispatcher_killed_before_delivery_then_restarted_delivers_once() {
    let mut stack = TestStack::start(Layout::Separate).await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;

    stack.service("dispatcher").kill().await;
    let accepted = stack.send_text("p1", &integration, "user:1", "after the crash", "k-1").await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let send_id = accepted.body["send_id"].as_str().unwrap().to_string();
    stack.wait_send(&send_id, "queued").await;
    // Kept: proves nothing delivers the send over a while with the dispatcher down.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.get(&format!("/api/v1/sends/{send_id}")).await.body["status"], "queued");

    stack.service("dispatcher").restart().expect("restart");
    stack.wait_ready().await;
    stack.wait_send(&send_id, "sent").await;
    assert_delivered_once(&stack, "after the crash").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ingress_killed_right_after_202_loses_nothing() {
    let mut stack = TestStack::start(Layout::Separate).await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;

    stack.service("payment-verifier").kill().await;
    let accepted = stack.send_text("p1", &integration, "user:1", "accepted then crashed", "k-2").await;
    assert_eq!(accepted.status, 202);
    let send_id = accepted.body["send_id"].as_str().unwrap().to_string();
    stack.service("ingress").kill().await;
    stack.service("payment-verifier").restart().expect("restart");
    stack.service("ingress").restart().expect("restart");
    stack.wait_ready().await;
    stack.wait_send(&send_id, "sent").await;
    assert_delivered_once(&stack, "accepted then crashed").await;

    // The same request again is the same send, not a second message.
    let again = stack.send_text("p1", &integration, "user:1", "accepted then crashed", "k-2").await;
    assert_eq!(again.status, 202);
    assert_eq!(again.body["send_id"], send_id.as_str());
    assert_delivered_once(&stack, "accepted then crashed").await;
}
