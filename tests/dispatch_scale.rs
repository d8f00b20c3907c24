//! Several dispatchers, one bot: Telegram's limits kept together, every
//! message delivered exactly once, also when the dispatcher owning the bot dies;
//! interactive sends overtake a bulk backlog; one integration's flood on the
//! common bot does not hold up another's sends.

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use novij_dispatcher::partitioning::{dispatch_lane, partition_of};
use novij_events::integration::COMMON_BOT_KEY;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT};
use telegram_sandbox::Limits;

/// How long before a SIGKILL a call may have been answered without its
/// outcome on the log yet: an append takes milliseconds; this allows a loaded
/// machine's worst.
const IN_FLIGHT_MS: i64 = 2_000;

/// How soon after the owner's SIGKILL its bot's remaining sends have all
/// arrived at ten times Telegram's rate: a lease moves within about 3.5 s;
/// the ack wait (30 s) must not count.
const RESUMED_WITHIN_MS: i64 = 10_000;

/// The same at Telegram's real rate, for what is left of 180 messages when
/// half of them arrived: the lease, then about 3 s of sending.
const PRIVATE_RESUMED_WITHIN_MS: i64 = 10_000;

/// These scenarios are heavy: they run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Telegram's rules ten times faster, in the sandbox and in the dispatchers.
fn scaled() -> (Limits, [(&'static str, &'static str); 3]) {
    (
        Limits { scale: 10.0, ..Limits::telegram() },
        [
            ("TELEGRAM_LIMIT_PER_BOT_PER_SECOND", "300"),
            ("TELEGRAM_LIMIT_PER_CHAT_PER_SECOND", "10"),
            ("TELEGRAM_LIMIT_PER_GROUP_PER_MINUTE", "200"),
        ],
    )
}

struct Scenario {
    stack: TestStack,
    integration: String,
    users: Vec<String>,
    welcomes: u64,
}

async fn scenario(chats: usize) -> Scenario {
    let (limits, env) = scaled();
    let stack = TestStack::start_custom(Layout::Separate, 3, limits, &env).await;
    let integration = stack.create_integration("p1", None).await;
    let users: Vec<String> = (0..chats).map(|i| format!("user:{i}")).collect();
    stack.connect_users("p1", &integration, &users).await;
    let admin = stack.sandbox_post("/sandbox/users", json!({"first_name": "Admin"})).await["user_id"].as_i64().unwrap();
    let group = stack.sandbox_post("/sandbox/groups", json!({"title": "Ops", "members": [admin]})).await;
    let code = stack
        .post(
            "/api/v1/telegram/connect-codes",
            json!({"project_id": "p1", "integration_id": integration, "public_user_ref": "team:ops"}),
        )
        .await;
    let payload = code.body["code"].as_str().unwrap().to_string();
    stack
        .sandbox_post(
            &format!("/sandbox/groups/{}/bots", group["chat_id"]),
            json!({"bot_username": COMMON_BOT, "start_payload": payload, "from_user_id": admin}),
        )
        .await;
    let welcomes = chats as u64 + 1;
    stack.wait_delivered(welcomes, Duration::from_secs(60)).await;
    Scenario { stack, integration, users, welcomes }
}

fn sends(s: &Scenario, per_user: usize, to_group: usize, priority: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for round in 0..per_user {
        for user in &s.users {
            out.push(json!({
                "project_id": "p1", "integration_id": s.integration, "recipient_ref": user, "template": "text_message",
                "template_vars": {"text": format!("{priority} {round} to {user}")}, "idempotency_key": format!("{priority}-{round}-{user}"),
                "priority": priority
            }));
        }
    }
    for i in 0..to_group {
        out.push(json!({
            "project_id": "p1", "integration_id": s.integration, "recipient_ref": "team:ops", "template": "text_message",
            "template_vars": {"text": format!("{priority} group {i}")}, "idempotency_key": format!("{priority}-group-{i}"),
            "priority": priority
        }));
    }
    out
}

/// How many times each (chat, text) was delivered.
async fn deliveries(stack: &TestStack) -> HashMap<(i64, String), usize> {
    let mut counts = HashMap::new();
    for m in stack.sent(COMMON_BOT).await {
        let key = (m["chat_id"].as_i64().unwrap_or_default(), m["text"].as_str().unwrap_or_default().to_string());
        *counts.entry(key).or_default() += 1;
    }
    counts
}

async fn assert_exactly_once_without_violations(s: &Scenario, expected: &[Value]) {
    let counts = deliveries(&s.stack).await;
    let delivered_texts: std::collections::HashSet<&str> = counts.keys().map(|(_, t)| t.as_str()).collect();
    let lost: Vec<&str> = expected
        .iter()
        .filter_map(|b| b["template_vars"]["text"].as_str())
        .filter(|t| !delivered_texts.contains(*t))
        .collect();
    let doubled: Vec<(&(i64, String), &usize)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(lost.is_empty(), "{} lost, e.g. {:?}", lost.len(), lost.first());
    assert!(doubled.is_empty(), "{} delivered twice or more, e.g. {:?}", doubled.len(), doubled.first());
    let violations = s.stack.sandbox_get("/sandbox/violations").await;
    assert_eq!(violations, json!([]), "limit violations");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_dispatchers_keep_one_bots_limits_and_deliver_each_message_once() {
    let _serial = SERIAL.lock().await;
    let s = scenario(500).await;
    let expected = sends(&s, 3, 100, "interactive");
    s.stack.send_all(expected.clone()).await;
    s.stack.wait_delivered(s.welcomes + expected.len() as u64, Duration::from_secs(180)).await;
    s.stack.wait_idle().await;
    assert_exactly_once_without_violations(&s, &expected).await;
}

/// The dispatcher process (other than `except`) that logged taking `partition` last.
fn owner_of(stack: &TestStack, partition: u16, except: Option<&str>) -> Option<String> {
    let needle = format!("\"partition\":{partition}");
    let mut owner = None;
    for (name, process) in &stack.services {
        if !name.starts_with("dispatcher") || Some(name.as_str()) == except {
            continue;
        }
        let taken = process.output().lines().filter(|l| l.contains(&needle) && l.contains("partition taken")).count();
        let released =
            process.output().lines().filter(|l| l.contains(&needle) && l.contains("partition released")).count();
        if taken > released {
            owner = Some(name.clone());
        }
    }
    owner
}

/// Stops a process the way an orchestrator does (SIGTERM) and waits for it.
async fn terminate(stack: &mut TestStack, name: &str) {
    let pid = stack.service(name).pid().expect("running");
    // The shell's own `kill`: present wherever `sh` is, unlike procps.
    let status = std::process::Command::new("sh").args(["-c", &format!("kill -TERM {pid}")]).status().expect("kill");
    assert!(status.success());
    stack.service(name).wait_for_exit(Duration::from_secs(30)).await.expect("graceful exit");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dispatcher_owning_the_bot_stops_or_dies_mid_run_and_the_others_take_over() {
    let _serial = SERIAL.lock().await;
    let mut s = scenario(200).await;
    let partition = partition_of("common");

    // 1. Stopped (SIGTERM) mid-run: it drains and hands over; nothing lost or doubled.
    let expected = sends(&s, 3, 40, "interactive");
    let owner = owner_of(&s.stack, partition, None).expect("some dispatcher owns the common bot");
    let (head, tail) = expected.split_at(expected.len() / 3);
    s.stack.send_all(head.to_vec()).await;
    s.stack.wait_delivered(s.welcomes + 100, Duration::from_secs(60)).await;
    terminate(&mut s.stack, &owner).await;
    s.stack.send_all(tail.to_vec()).await;
    s.stack.wait_delivered(s.welcomes + expected.len() as u64, Duration::from_secs(240)).await;
    let second = owner_of(&s.stack, partition, Some(&owner)).expect("another dispatcher took the bot over");
    s.stack.wait_idle().await;
    assert_exactly_once_without_violations(&s, &expected).await;

    // 2. Killed (SIGKILL) mid-run: nothing lost and no limit broken; a message
    // whose call was in flight when the process died may arrive twice
    // (Telegram has no idempotency key to tell), never more.
    let phase2: Vec<Value> = sends(&s, 2, 0, "interactive")
        .into_iter()
        .map(|mut b| {
            let text = format!("after kill {}", b["template_vars"]["text"].as_str().unwrap());
            b["idempotency_key"] = json!(format!("k2-{}", b["idempotency_key"].as_str().unwrap()));
            b["template_vars"]["text"] = json!(text);
            b
        })
        .collect();
    let before = s.stack.stats().await["delivered"].as_u64().unwrap();
    let (head, tail) = phase2.split_at(phase2.len() / 3);
    s.stack.send_all(head.to_vec()).await;
    s.stack.wait_delivered(before + 50, Duration::from_secs(60)).await;
    let killing_ms = chrono::Utc::now().timestamp_millis();
    s.stack.service(&second).kill().await;
    let killed_ms = chrono::Utc::now().timestamp_millis();
    s.stack.send_all(tail.to_vec()).await;
    s.stack.wait_delivered(before + phase2.len() as u64, Duration::from_secs(240)).await;
    s.stack.wait_idle().await;
    let texts: Vec<&str> = phase2.iter().filter_map(|b| b["template_vars"]["text"].as_str()).collect();
    let gap = after_sigkill(&s.stack, &texts, killing_ms, killed_ms).await;
    assert!(gap < RESUMED_WITHIN_MS, "the rest arrived {gap} ms after the kill:\n{}", hand_overs(&s.stack));
}

/// The partitions' hand-overs as the dispatchers logged them.
fn hand_overs(stack: &TestStack) -> String {
    let lines = stack.output();
    let moves = lines
        .lines()
        .filter(|l| l.contains("partition taken") || l.contains("reset") || l.contains("partition released"));
    moves.collect::<Vec<_>>().join("\n")
}

/// After an owner's SIGKILL (between `killing_ms` and `killed_ms`) and the
/// rest drained: nothing of `texts` lost, no limit broken, and a message
/// delivered twice only if the killed process's call was in flight at the
/// kill (Telegram has no idempotency key to tell), never more. Returns how
/// long after the kill the last of them arrived.
async fn after_sigkill(stack: &TestStack, texts: &[&str], killing_ms: i64, killed_ms: i64) -> i64 {
    let counts = deliveries(stack).await;
    let lost = texts.iter().filter(|t| !counts.keys().any(|(_, d)| d == *t)).count();
    let doubled = counts.iter().filter(|((_, t), n)| texts.contains(&t.as_str()) && **n > 1).count();
    let tripled = counts.iter().filter(|((_, t), n)| texts.contains(&t.as_str()) && **n > 2).count();
    eprintln!("after SIGKILL: {lost} lost, {doubled} delivered twice");
    assert_eq!(lost, 0);
    assert_eq!(tripled, 0);
    // A message may be doubled only if the killed process's call was in flight
    // at the kill: its first copy arrived just before the kill (its outcome
    // not yet on the log), and the new owner's copy after it.
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMessage")).await;
    let mut arrivals: HashMap<String, Vec<i64>> = HashMap::new();
    for call in calls.as_array().cloned().unwrap_or_default().iter().filter(|c| c["status"] == 200) {
        let text = call["params"]["text"].as_str().unwrap_or_default().to_string();
        arrivals.entry(text).or_default().push(call["at_ms"].as_i64().expect("at_ms"));
    }
    let in_flight_window = (killing_ms - IN_FLIGHT_MS)..=killed_ms;
    let in_flight = arrivals.values().flatten().filter(|at| in_flight_window.contains(at)).count();
    for ((_, text), _) in counts.iter().filter(|((_, t), n)| texts.contains(&t.as_str()) && **n > 1) {
        let mut at = arrivals.get(text).cloned().unwrap_or_default();
        at.sort();
        assert!(
            at.len() == 2 && in_flight_window.contains(&at[0]) && at[1] > killing_ms,
            "{text:?} doubled but its first call was not in flight at the kill ({killing_ms}..{killed_ms}): {at:?}"
        );
    }
    assert!(doubled <= in_flight, "{doubled} doubled, more than the {in_flight} calls made just before the kill");
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
    let last = texts.iter().filter_map(|t| arrivals.get(*t)).flatten().max().copied().unwrap_or_default();
    let gap = last - killed_ms;
    eprintln!("after SIGKILL: the last message arrived {gap} ms after the kill");
    gap
}

/// The failover scenario at Telegram's real limits: the owner of the
/// common bot is killed while 180 messages to 60 private chats drain (half of
/// them delivered); the new owner takes its in-flight work back at once (its
/// consumers reset) once the lease moves (about 3.5 s), and the rest drains at
/// 30 messages/s (3 s).
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_owners_private_chats_resume_at_the_new_owner_within_seconds() {
    let _serial = SERIAL.lock().await;
    let mut stack = TestStack::start_custom(Layout::Separate, 3, Limits::telegram(), &[]).await;
    let integration = stack.create_integration("p1", None).await;
    let users: Vec<String> = (0..60).map(|i| format!("user:{i}")).collect();
    stack.connect_users("p1", &integration, &users).await;
    let welcomes = users.len() as u64;
    stack.wait_delivered(welcomes, Duration::from_secs(60)).await;
    let mut sends = Vec::new();
    for round in 0..3 {
        for user in &users {
            sends.push(json!({
                "project_id": "p1", "integration_id": integration, "recipient_ref": user,
                "template": "text_message", "template_vars": {"text": format!("drain {round} {user}")},
                "idempotency_key": format!("drain-{round}-{user}"),
            }));
        }
    }
    let owner = owner_of(&stack, partition_of("common"), None).expect("some dispatcher owns the common bot");
    stack.send_all(sends.clone()).await;
    stack.wait_delivered(welcomes + 90, Duration::from_secs(60)).await;
    let killing_ms = chrono::Utc::now().timestamp_millis();
    stack.service(&owner).kill().await;
    let killed_ms = chrono::Utc::now().timestamp_millis();
    stack.wait_delivered(welcomes + sends.len() as u64, Duration::from_secs(60)).await;
    stack.wait_idle().await;
    let texts: Vec<&str> = sends.iter().filter_map(|b| b["template_vars"]["text"].as_str()).collect();
    let gap = after_sigkill(&stack, &texts, killing_ms, killed_ms).await;
    assert!(gap < PRIVATE_RESUMED_WITHIN_MS, "the rest arrived {gap} ms after the kill:\n{}", hand_overs(&stack));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interactive_send_overtakes_a_bulk_backlog() {
    let _serial = SERIAL.lock().await;
    let stack = TestStack::start_custom(Layout::Separate, 1, Limits::telegram(), &[]).await;
    let integration = stack.create_integration("p1", None).await;
    let users: Vec<String> = (0..50).map(|i| format!("user:{i}")).collect();
    stack.connect_users("p1", &integration, &users).await;
    let s = Scenario { stack, integration, users, welcomes: 50 };
    let bulk = sends(&s, 100, 0, "bulk");
    assert_eq!(bulk.len(), 5000);
    // The backlog builds up while no dispatcher runs, then drains through one bot.
    let mut s = s;
    s.stack.service("dispatcher").kill().await;
    s.stack.send_all(bulk).await;
    s.stack.service("dispatcher").restart().expect("restart");
    s.stack.wait_ready().await;
    s.stack.wait_delivered(s.welcomes + 200, Duration::from_secs(60)).await;

    let started = Instant::now();
    let r = s.stack.send_text("p1", &s.integration, "user:7", "page: database down", "urgent-1").await;
    assert_eq!(r.status, 202);
    novij_testkit::eventually(Duration::from_secs(10), || async {
        let sent = s.stack.sent(COMMON_BOT).await;
        sent.iter().any(|m| m["text"] == "page: database down").then_some(())
    })
    .await
    .expect("the interactive send never arrived");
    let latency = started.elapsed();
    let left = s.welcomes + 5000 - s.stack.stats().await["delivered"].as_u64().unwrap();
    assert!(left > 1000, "the backlog was nearly gone ({left} left); the test proves nothing");
    assert!(latency < Duration::from_secs(2), "interactive send took {latency:?} behind the bulk backlog");
    let violations = s.stack.sandbox_get("/sandbox/violations").await;
    assert_eq!(violations, json!([]), "limit violations");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_integrations_flood_on_the_common_bot_does_not_starve_another() {
    let _serial = SERIAL.lock().await;
    let mut stack = TestStack::start_custom(Layout::Separate, 1, Limits::telegram(), &[]).await;
    let common = partition_of(COMMON_BOT_KEY);
    let flood = stack.create_integration("p1", None).await;
    // Integrations share a lane by chance (1 in COMMON_BOT_LANES); this test is about two that do not.
    let mut quiet = stack.create_integration("p2", None).await;
    while dispatch_lane(common, &quiet) == dispatch_lane(common, &flood) {
        quiet = stack.create_integration("p2", None).await;
    }
    let flood_users: Vec<String> = (0..50).map(|i| format!("fan:{i}")).collect();
    let quiet_users: Vec<String> = (0..5).map(|i| format!("member:{i}")).collect();
    stack.connect_users("p1", &flood, &flood_users).await;
    stack.connect_users("p2", &quiet, &quiet_users).await;
    let welcomes = (flood_users.len() + quiet_users.len()) as u64;
    stack.wait_delivered(welcomes, Duration::from_secs(60)).await;

    let bulk = |project: &str, integration: &str, users: &[String], rounds: usize, tag: &str| {
        (0..rounds)
            .flat_map(|round| users.iter().map(move |u| (round, u)))
            .map(|(round, u)| {
                json!({"project_id": project, "integration_id": integration, "recipient_ref": u,
                       "template": "text_message", "template_vars": {"text": format!("{tag} {round} to {u}")},
                       "idempotency_key": format!("{tag}-{round}-{u}"), "priority": "bulk"})
            })
            .collect::<Vec<_>>()
    };
    // The flood is queued first and starts draining at 30/s.
    stack.service("dispatcher").kill().await;
    stack.send_all(bulk("p1", &flood, &flood_users, 30, "sale")).await;
    stack.service("dispatcher").restart().expect("restart");
    stack.wait_ready().await;
    stack.wait_delivered(welcomes + 100, Duration::from_secs(60)).await;

    // The other integration's newsletter comes in behind 1400 waiting messages.
    stack.send_all(bulk("p2", &quiet, &quiet_users, 2, "digest")).await;
    novij_testkit::eventually(Duration::from_secs(30), || async {
        let sent = stack.sent(COMMON_BOT).await;
        let digests = sent.iter().filter(|m| m["text"].as_str().is_some_and(|t| t.starts_with("digest "))).count();
        (digests == 10).then_some(())
    })
    .await
    .expect("the quiet integration's sends never all arrived");
    let left = welcomes + 1500 + 10 - stack.stats().await["delivered"].as_u64().unwrap();
    assert!(left > 900, "the flood was nearly drained ({left} left) before the quiet integration was served");
    assert!(deliveries(&stack).await.values().all(|n| *n == 1), "a message was delivered twice");
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
}
