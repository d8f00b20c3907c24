//! Slow answers, hangs, chat-scoped faults, clearing faults, and the counters
//! of `/sandbox/stats`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use telegram_sandbox::{Limits, SandboxConfig};

use crate::support::{api_error, eventually, start, start_with};

fn fault_view(overrides: Value) -> Value {
    let mut view = json!({
        "status": null, "count": 1, "retry_after": null, "method": null, "description": null,
        "delay_ms": null, "hang": false, "hang_ms": null, "chat_id": null,
    });
    if let (Some(map), Some(extra)) = (view.as_object_mut(), overrides.as_object()) {
        for (key, value) in extra {
            map.insert(key.clone(), value.clone());
        }
    }
    view
}

#[tokio::test]
async fn delay_slows_the_answer_and_then_performs_the_call() {
    let env = start().await;
    let (token, _) = env.create_bot("slow_bot").await;
    let user = env.create_user("Erin").await;
    env.press_start(user, "slow_bot", None).await;

    let (status, body) =
        env.post("/sandbox/bots/slow_bot/faults", json!({"delay_ms": 400, "method": "sendmessage"})).await;
    assert_eq!((status, body), (201, fault_view(json!({"delay_ms": 400, "method": "sendMessage"}))));

    let began = Instant::now();
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "late"})).await;
    assert!(began.elapsed() >= Duration::from_millis(400), "answered after {:?}", began.elapsed());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"], "late");

    // A delayed failure: waits, then fails without sending.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.post("/sandbox/bots/slow_bot/faults", json!({"delay_ms": 300, "status": 503})).await;
    let began = Instant::now();
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "lost"})).await;
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert_eq!((status, body), (503, api_error(503, "Service Unavailable")));

    let (_, sent) = env.get("/sandbox/bots/slow_bot/sent").await;
    let texts: Vec<&str> = sent.as_array().expect("array").iter().filter_map(|r| r["text"].as_str()).collect();
    assert_eq!(texts, ["late"]);
    let (_, calls) = env.get("/sandbox/calls?bot_username=slow_bot&method=sendMessage").await;
    let seen: Vec<(u64, bool)> = calls
        .as_array()
        .expect("array")
        .iter()
        .map(|c| (c["status"].as_u64().unwrap_or(0), c["fault"].as_bool().unwrap_or(false)))
        .collect();
    assert_eq!(seen, [(200, true), (503, true)]);
    let (_, faults) = env.get("/sandbox/bots/slow_bot/faults").await;
    assert_eq!(faults, json!([]));
}

#[tokio::test]
async fn a_hung_call_outlasts_the_client_timeout_and_sends_nothing() {
    let env = start().await;
    let (token, _) = env.create_bot("hung_bot").await;
    let user = env.create_user("Frank").await;
    env.press_start(user, "hung_bot", None).await;

    let (status, body) = env.post("/sandbox/bots/hung_bot/faults", json!({"hang": true, "hang_ms": 2000})).await;
    assert_eq!((status, body), (201, fault_view(json!({"hang": true, "hang_ms": 2000}))));
    let impatient = reqwest::Client::builder().timeout(Duration::from_secs(1)).build().expect("client");
    let began = Instant::now();
    let outcome = impatient
        .post(format!("{}/bot{token}/sendMessage", env.base))
        .json(&json!({"chat_id": user, "text": "into the void"}))
        .send()
        .await;
    let error = outcome.expect_err("the call must time out");
    assert!(error.is_timeout(), "{error}");
    assert!(began.elapsed() >= Duration::from_secs(1));

    // Nothing is sent, and the call shows up as 502 once the hang is over.
    let (_, sent) = env.get("/sandbox/bots/hung_bot/sent").await;
    assert_eq!(sent, json!([]));
    let calls = eventually(|| async {
        let (_, calls) = env.get("/sandbox/calls?bot_username=hung_bot&method=sendMessage").await;
        calls.as_array().filter(|c| !c.is_empty()).cloned()
    })
    .await;
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0]["status"].as_u64(), calls[0]["fault"].as_bool()), (Some(502), Some(true)));
    assert_eq!(calls[0]["params"], json!({"chat_id": user, "text": "into the void"}));

    // A patient client gets Telegram's 502 after the hang.
    env.post("/sandbox/bots/hung_bot/faults", json!({"hang": true, "hang_ms": 300})).await;
    let began = Instant::now();
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "again"})).await;
    assert!(began.elapsed() >= Duration::from_millis(300));
    assert_eq!((status, body), (502, api_error(502, "Bad Gateway")));
    let (_, sent) = env.get("/sandbox/bots/hung_bot/sent").await;
    assert_eq!(sent, json!([]));
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "finally"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn chat_scoped_faults_hit_only_their_chat_and_can_be_cleared() {
    let env = start().await;
    let (token, _) = env.create_bot("scoped_bot").await;
    let grace = env.create_user("Grace").await;
    let heidi = env.create_user("Heidi").await;
    for user in [grace, heidi] {
        env.press_start(user, "scoped_bot", None).await;
    }

    let (status, _) =
        env.post("/sandbox/bots/scoped_bot/faults", json!({"status": 500, "count": 2, "chat_id": grace})).await;
    assert_eq!(status, 201);
    let (status, _) = env.call(&token, "getMe", json!({})).await;
    assert_eq!(status, 200, "calls without chat_id are not hit");
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": heidi, "text": "fine"})).await;
    assert_eq!(status, 200);
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": grace.to_string(), "text": "x"})).await;
    assert_eq!((status, body), (500, api_error(500, "Internal Server Error")));
    let (status, faults) = env.get("/sandbox/bots/scoped_bot/faults").await;
    assert_eq!((status, faults), (200, json!([fault_view(json!({"status": 500, "count": 1, "chat_id": grace}))])));

    let response =
        env.http.delete(format!("{}/sandbox/bots/scoped_bot/faults", env.base)).send().await.expect("delete");
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json"), json!({"cleared": 1}));
    let (_, faults) = env.get("/sandbox/bots/scoped_bot/faults").await;
    assert_eq!(faults, json!([]));
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": grace, "text": "works again"})).await;
    assert_eq!(status, 200);

    // A chat-scoped 429 punishes only that chat for ignoring retry_after.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.post("/sandbox/bots/scoped_bot/faults", json!({"status": 429, "retry_after": 5, "chat_id": grace})).await;
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": grace, "text": "x"})).await;
    assert_eq!(
        (status, body),
        (
            429,
            json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 5", "parameters": {"retry_after": 5}})
        )
    );
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": heidi, "text": "other chat"})).await;
    assert_eq!(status, 200);
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": grace, "text": "too soon"})).await;
    assert_eq!(status, 429);
    let (_, violations) = env.get("/sandbox/violations").await;
    assert_eq!(violations.as_array().map(Vec::len), Some(1));
    assert_eq!(
        (violations[0]["scope"].as_str(), violations[0]["reason"].as_str(), violations[0]["chat_id"].as_i64()),
        (Some("chat"), Some("ignored_retry_after"), Some(grace))
    );
    let (_, calls) = env.get(&format!("/sandbox/calls?bot_username=scoped_bot&chat_id={grace}")).await;
    let seen: Vec<(u64, bool)> = calls
        .as_array()
        .expect("array")
        .iter()
        .map(|c| (c["status"].as_u64().unwrap_or(0), c["fault"].as_bool().unwrap_or(false)))
        .collect();
    assert_eq!(seen, [(500, true), (200, false), (429, true), (429, false)]);

    for bad in [json!({"hang_ms": 10}), json!({"status": 500, "chat_id": "abc"}), json!({"hang": true, "delay_ms": 5})]
    {
        let (status, _) = env.post("/sandbox/bots/scoped_bot/faults", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
    }
    let response = env.http.delete(format!("{}/sandbox/bots/ghost_bot/faults", env.base)).send().await.expect("delete");
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn stats_count_calls_deliveries_violations_and_chats() {
    let env = start().await;
    let (token, _) = env.create_bot("counted_bot").await;
    let (other_token, _) = env.create_bot("other_counted_bot").await;
    let ivan = env.create_user("Ivan").await;
    let judy = env.create_user("Judy").await;
    for user in [ivan, judy] {
        env.press_start(user, "counted_bot", None).await;
    }
    let group = env.create_group("Counters", "supergroup", &[ivan]).await;
    env.add_bot_to_group(group, "counted_bot", None).await;

    let mut statuses = Vec::new();
    let (status, first) = env.call(&token, "sendMessage", json!({"chat_id": ivan, "text": "1"})).await;
    statuses.push(status);
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": ivan, "text": "flood"})).await;
    statuses.push(status);
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": judy, "text": "2"})).await;
    statuses.push(status);
    for i in 0..3 {
        let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": group, "text": format!("g{i}")})).await;
        statuses.push(status);
    }
    env.post("/sandbox/bots/counted_bot/faults", json!({"status": 500, "method": "getMe"})).await;
    let (status, _) = env.call(&token, "getMe", json!({})).await;
    statuses.push(status);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = env
        .call(
            &token,
            "editMessageText",
            json!({"chat_id": ivan, "message_id": first["result"]["message_id"], "text": "1!"}),
        )
        .await;
    statuses.push(status);
    let (status, _) = env.call(&other_token, "getMe", json!({})).await;
    statuses.push(status);
    assert_eq!(statuses, [200, 429, 200, 200, 200, 200, 500, 200, 200]);

    let (status, stats) = env.get("/sandbox/stats?bot_username=counted_bot").await;
    assert_eq!(status, 200);
    assert_eq!(
        stats,
        json!({
            "calls": 8,
            "message_calls": 7,
            "delivered": 5,
            "edited": 1,
            "faulted": 1,
            "violations": 1,
            "paid_broadcast": 0,
            "uploads": 0,
            "upload_bytes": 0,
            "media_by_upload": 0,
            "media_by_url": 0,
            "media_by_file_id": 0,
            "per_chat": {ivan.to_string(): 1, judy.to_string(): 1, group.to_string(): 3},
        })
    );
    let (_, all) = env.get("/sandbox/stats").await;
    assert_eq!((all["calls"].as_u64(), all["delivered"].as_u64()), (Some(9), Some(5)));
    let (status, body) = env.get("/sandbox/stats?bot_username=ghost_bot").await;
    assert_eq!((status, body), (404, json!({"error": "bot @ghost_bot not found"})));
}

#[tokio::test]
async fn ten_thousand_records_stay_cheap_to_read_and_count_exactly_once() {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, _) = env.create_bot("bulk_bot").await;
    let kate = env.create_user("Kate").await;
    let group = env.create_group("Bulk", "supergroup", &[kate]).await;
    env.add_bot_to_group(group, "bulk_bot", None).await;

    const WORKERS: usize = 25;
    const PER_WORKER: usize = 400;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..WORKERS {
        let http = env.http.clone();
        let url = format!("{}/bot{token}/sendMessage", env.base);
        tasks.spawn(async move {
            for i in 0..PER_WORKER {
                let response = http
                    .post(&url)
                    .json(&json!({"chat_id": group, "text": format!("w{worker}-{i}")}))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(response.status(), 200);
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("worker");
    }
    let total = WORKERS * PER_WORKER;

    let began = Instant::now();
    let (status, sent) = env.get(&format!("/sandbox/bots/bulk_bot/sent?chat_id={group}")).await;
    let sent_took = began.elapsed();
    assert_eq!(status, 200);
    let sent = sent.as_array().cloned().expect("array");
    assert_eq!(sent.len(), total);
    let mut ids: Vec<i64> = sent.iter().filter_map(|r| r["message_id"].as_i64()).collect();
    ids.sort_unstable();
    ids.dedup();
    // Message 1 was the service message about the bot joining.
    assert_eq!(ids, (2..=(total as i64 + 1)).collect::<Vec<_>>());

    let began = Instant::now();
    let (status, calls) = env.get("/sandbox/calls?bot_username=bulk_bot&method=sendMessage").await;
    let calls_took = began.elapsed();
    assert_eq!(status, 200);
    assert_eq!(calls.as_array().map(Vec::len), Some(total));
    assert!(sent_took < Duration::from_secs(2), "sent took {sent_took:?}");
    assert!(calls_took < Duration::from_secs(2), "calls took {calls_took:?}");

    let (_, stats) = env.get("/sandbox/stats?bot_username=bulk_bot").await;
    assert_eq!(
        stats,
        json!({
            "calls": total, "message_calls": total, "delivered": total, "edited": 0, "faulted": 0, "violations": 0,
            "paid_broadcast": 0, "uploads": 0, "upload_bytes": 0, "media_by_upload": 0, "media_by_url": 0,
            "media_by_file_id": 0,
            "per_chat": {group.to_string(): total},
        })
    );
}
