//! How the dispatcher answers Telegram: blocked users, 5xx storms and dead
//! letters, 429 with retry_after.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT};

async fn calls(stack: &TestStack) -> Vec<Value> {
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMessage")).await;
    calls.as_array().cloned().unwrap_or_default()
}

fn to_chat(calls: &[Value], chat: i64) -> Vec<&Value> {
    calls.iter().filter(|c| c["params"]["chat_id"] == chat).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_who_blocked_the_bot_costs_one_call_then_fails_fast() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    let chat = stack.connect_user("p1", &integration, "user:1").await;
    // The bot never hears of the block (its my_chat_member update is lost):
    // the first send finds out from Telegram.
    let block = json!({"bot_username": COMMON_BOT, "notify_bot": false});
    stack.sandbox_post(&format!("/sandbox/users/{chat}/block"), block).await;

    let first = stack.send_text("p1", &integration, "user:1", "are you there?", "b-1").await;
    assert_eq!(first.status, 202, "{}", first.body);
    let failed = stack.wait_send(first.body["send_id"].as_str().unwrap(), "failed").await;
    assert_eq!(failed["failure"]["reason"], "recipient_blocked", "{failed}");
    let attempts = to_chat(&calls(&stack).await, chat).into_iter().filter(|c| c["status"] == 403).count();
    assert_eq!(attempts, 1);

    let recipients = stack.get(&format!("/api/v1/integrations/{integration}/recipients")).await;
    assert_eq!(recipients.body[0]["status"], "unreachable", "{}", recipients.body);
    assert_eq!(recipients.body[0]["disabled_reason"], "recipient_blocked");

    let before = calls(&stack).await.len();
    let second = stack.send_text("p1", &integration, "user:1", "hello again", "b-2").await;
    assert_eq!(second.status, 422, "{}", second.body);
    assert_eq!(second.body["error"]["code"], "recipient_unreachable");
    assert!(second.body["error"]["message"].as_str().unwrap().contains("recipient_blocked"));
    // Whatever the refused request may have appended has been handled.
    stack.wait_idle().await;
    assert_eq!(calls(&stack).await.len(), before, "a send to a blocked user reached Telegram");

    // Connecting again (Start unblocks the bot) makes the recipient reachable.
    stack.connect_user("p1", &integration, "user:1").await;
    let third = stack.send_text("p1", &integration, "user:1", "welcome back", "b-3").await;
    assert_eq!(third.status, 202, "{}", third.body);
    stack.wait_send(third.body["send_id"].as_str().unwrap(), "sent").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_storm_dead_letters_and_a_retry_delivers_exactly_once() {
    let stack = TestStack::start_with(
        Layout::Single,
        &[("DISPATCH_MAX_ATTEMPTS", "3"), ("DISPATCH_RETRY_BASE_MS", "100"), ("DISPATCH_RETRY_MAX_MS", "400")],
    )
    .await;
    let integration = stack.create_integration("p1", None).await;
    let chat = stack.connect_user("p1", &integration, "user:1").await;
    stack
        .sandbox_post(
            &format!("/sandbox/bots/{COMMON_BOT}/faults"),
            json!({"status": 502, "count": 3, "method": "sendMessage"}),
        )
        .await;

    let accepted = stack.send_text("p1", &integration, "user:1", "through the storm", "s-1").await;
    let send_id = accepted.body["send_id"].as_str().unwrap().to_string();
    let dead = stack.wait_send(&send_id, "dead_lettered").await;
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert_eq!(dead["failure"]["reason"], "telegram_unavailable");
    let failed_calls = to_chat(&calls(&stack).await, chat).into_iter().filter(|c| c["status"] == 502).count();
    assert_eq!(failed_calls, 3);

    let listed = novij_testkit::eventually(support::WAIT, || async {
        let r = stack.get("/api/v1/ops/dead-letters").await;
        r.body.as_array().filter(|a| !a.is_empty()).cloned()
    })
    .await
    .expect("the dead letter was never listed");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["send_id"], send_id.as_str());
    let cli_list = stack.cli(&["dlq", "list"]);
    assert!(String::from_utf8_lossy(&cli_list.stdout).contains(&send_id), "dlq list: {cli_list:?}");

    // Telegram has recovered (the fault is used up): retry everything, twice.
    let retry = stack.cli(&["dlq", "retry", "--all"]);
    assert!(retry.status.success(), "{}", String::from_utf8_lossy(&retry.stderr));
    assert!(String::from_utf8_lossy(&retry.stdout).contains("1 send(s) queued again"));
    let again = stack.cli(&["dlq", "retry", "--all"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 send(s) queued again"), "{again:?}");
    let sent = stack.wait_send(&send_id, "sent").await;
    let statuses: Vec<&str> =
        sent["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "queued", "dead_lettered", "queued", "sent"]);
    stack.wait_idle().await;
    let delivered = stack.sent(COMMON_BOT).await.into_iter().filter(|m| m["text"] == "through the storm").count();
    assert_eq!(delivered, 1);
    assert_eq!(stack.get("/api/v1/ops/dead-letters").await.body, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_429_no_call_reaches_the_bot_until_retry_after_has_passed() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;
    stack.connect_user("p1", &integration, "user:2").await;
    // Kept: the welcomes' per-chat window (1 message/s) must pass so both sends can leave at once.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    stack
        .sandbox_post(
            &format!("/sandbox/bots/{COMMON_BOT}/faults"),
            json!({"status": 429, "retry_after": 3, "count": 1, "method": "sendMessage"}),
        )
        .await;
    let a = stack.send_text("p1", &integration, "user:1", "first", "r-1").await;
    let b = stack.send_text("p1", &integration, "user:2", "second", "r-2").await;
    for r in [&a, &b] {
        stack.wait_send(r.body["send_id"].as_str().unwrap(), "sent").await;
    }
    let all = calls(&stack).await;
    let limited = all.iter().find(|c| c["status"] == 429).expect("the 429 was answered");
    let limited_at = limited["at_ms"].as_i64().unwrap();
    let later: Vec<&Value> = all.iter().filter(|c| c["at_ms"].as_i64().is_some_and(|t| t > limited_at)).collect();
    // The other send may have been on its way when the 429 was answered (the
    // two leave at once); Telegram refuses it too. Nothing starts later.
    let (waited, in_flight): (Vec<&Value>, Vec<&Value>) =
        later.into_iter().partition(|c| c["at_ms"].as_i64().is_some_and(|t| t >= limited_at + 3000));
    assert_eq!(waited.len(), 2, "both messages were sent after retry_after passed: {all:?}");
    assert!(waited.iter().all(|c| c["status"] == 200), "{all:?}");
    assert!(in_flight.len() <= 1, "a call started before retry_after passed: {all:?}");
    for call in in_flight {
        let at = call["at_ms"].as_i64().unwrap_or_default();
        assert!(call["status"] == 429 && at < limited_at + 500, "a call started before retry_after passed: {all:?}");
    }
    let violations = stack.sandbox_get("/sandbox/violations").await;
    assert_eq!(violations, json!([]), "limit violations");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_upgraded_to_a_supergroup_is_rebound_and_the_message_resent() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    let admin = stack.sandbox_post("/sandbox/users", json!({"first_name": "Admin"})).await["user_id"].as_i64().unwrap();
    let group_id = stack.connect_group("p1", &integration, "team:ops", &[admin]).await;

    let migrated = stack.sandbox_post(&format!("/sandbox/groups/{group_id}/migrate"), json!({})).await;
    let new_id = migrated["new_chat_id"].as_i64().unwrap();
    let first = stack.send_text("p1", &integration, "team:ops", "disk almost full", "m-1").await;
    stack.wait_send(first.body["send_id"].as_str().unwrap(), "sent").await;
    let delivered: Vec<Value> =
        stack.sent(COMMON_BOT).await.into_iter().filter(|m| m["text"] == "disk almost full").collect();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(delivered[0]["chat_id"], new_id);

    // The recipient now points at the supergroup (the migration is handled everywhere): no second 400.
    stack.wait_idle().await;
    let second = stack.send_text("p1", &integration, "team:ops", "disk full", "m-2").await;
    stack.wait_send(second.body["send_id"].as_str().unwrap(), "sent").await;
    let to_old = to_chat(&calls(&stack).await, group_id).into_iter().filter(|c| c["status"] == 400).count();
    assert_eq!(to_old, 1, "only the first send should have hit the old group id");
    let last = stack.sent(COMMON_BOT).await.into_iter().filter(|m| m["text"] == "disk full").collect::<Vec<_>>();
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["chat_id"], new_id);
}
