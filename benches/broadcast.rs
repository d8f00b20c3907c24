//! `just bench broadcast`: a 5,000-recipient broadcast against the strict
//! sandbox with Telegram's limits ten times faster (in the sandbox and the
//! dispatcher alike), through the public surfaces, release build. Writes its
//! section of `docs/BENCHMARKS.md`.
//!
//! - rate: the broadcast's messages per second, from its first delivery to
//!   its last (both measured by the sandbox), against the bot's allowed rate;
//! - interactive latency: sends to the same bot made every 200 ms while the
//!   broadcast goes out, from the request to the sandbox receiving them.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use common::{percentile, QUIET};
use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT};
use telegram_sandbox::Limits;

const RECIPIENTS: usize = 5_000;
/// The bot's allowed rate here: Telegram's 30/s, ten times faster.
const ALLOWED_PER_SECOND: f64 = 300.0;

/// When (sandbox ms) each delivered sendMessage with a text starting with `prefix` arrived.
async fn arrivals(stack: &TestStack, prefix: &str) -> Vec<(String, i64)> {
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMessage")).await;
    calls
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == 200)
        .filter_map(|c| {
            let text = c["params"]["text"].as_str()?;
            text.starts_with(prefix).then(|| (text.to_string(), c["at_ms"].as_i64().unwrap_or_default()))
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let machine = common::machine();
    let limits = Limits { scale: 10.0, ..Limits::telegram() };
    let env = [
        ("RUST_LOG", QUIET),
        ("TELEGRAM_LIMIT_PER_BOT_PER_SECOND", "300"),
        ("TELEGRAM_LIMIT_PER_CHAT_PER_SECOND", "10"),
        ("TELEGRAM_LIMIT_PER_GROUP_PER_MINUTE", "200"),
    ];
    let stack = TestStack::start_custom(Layout::Separate, 1, limits, &env).await;
    let integration = stack.create_integration("bench", None).await;
    let users: Vec<String> = (0..RECIPIENTS).map(|i| format!("user:{i}")).collect();
    eprintln!("connecting {RECIPIENTS} users…");
    stack.connect_users("bench", &integration, &users).await;
    stack.wait_delivered(RECIPIENTS as u64, Duration::from_secs(600)).await;
    stack.wait_idle().await;

    eprintln!("broadcasting…");
    let body = json!({"project_id": "bench", "integration_id": integration, "all_connected": true,
                      "template": "text_message", "template_vars": {"text": "bulletin"}, "idempotency_key": "bench"});
    let created = stack.post("/api/v1/broadcasts", body).await;
    assert_eq!(created.status, 202, "{}", created.body);
    let id = created.body["broadcast_id"].as_str().unwrap_or_default().to_string();
    let started = std::time::Instant::now();
    let mut asked: Vec<(String, i64)> = Vec::new();
    let mut i = 0;
    // The sandbox's counter, not its list of calls: reading thousands of
    // calls five times a second would take the services' CPU.
    let delivered = || async { stack.stats().await["delivered"].as_u64().unwrap_or(0) as usize };
    let before = delivered().await;
    while delivered().await < before + RECIPIENTS + asked.len() && started.elapsed() < Duration::from_secs(300) {
        let text = format!("urgent {i}");
        let at = chrono::Utc::now().timestamp_millis();
        let r = stack.send_text("bench", &integration, &users[(i * 7919) % RECIPIENTS], &text, &text).await;
        assert_eq!(r.status, 202, "{}", r.body);
        asked.push((text, at));
        i += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let done = eventually(Duration::from_secs(60), || async {
        let b = stack.get(&format!("/api/v1/broadcasts/{id}")).await.body;
        (b["progress"]["sent"] == RECIPIENTS).then_some(b)
    })
    .await;
    let progress: Value = done.unwrap_or_else(|_| json!({}));
    let bulletin: Vec<i64> = arrivals(&stack, "bulletin").await.into_iter().map(|(_, at)| at).collect();
    let (first, last) = (bulletin.iter().min().copied().unwrap_or(0), bulletin.iter().max().copied().unwrap_or(0));
    let seconds = ((last - first) as f64 / 1000.0).max(0.001);
    let rate = bulletin.len() as f64 / seconds;
    let mut per_second = vec![0u32; (seconds as usize) + 1];
    for at in &bulletin {
        per_second[((at - first) / 1000) as usize] += 1;
    }
    let urgent = arrivals(&stack, "urgent ").await;
    let mut latencies: Vec<f64> = asked
        .iter()
        .filter_map(|(text, at)| urgent.iter().find(|(t, _)| t == text).map(|(_, arrived)| (arrived - at) as f64))
        .collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let violations = stack.stats().await["violations"].as_u64().unwrap_or(0);
    let (p50, p99) = (percentile(&latencies, 0.5), percentile(&latencies, 0.99));
    let met = |ok: bool| if ok { "yes" } else { "no" };
    let ratio = rate / ALLOWED_PER_SECOND;
    let report = format!(
        "## Broadcast\n\n\
Produced by `just bench broadcast` (`cargo bench --bench broadcast`: release build, the services as separate \
processes over a throwaway nats-server and Postgres, one dispatcher, the strict Telegram sandbox with Telegram's \
limits ten times faster, and the dispatcher configured the same). Measured on {machine}, everything on that one \
machine; single runs: read them as ratios.\n\n\
The reference is the bot's allowed rate ({ALLOWED_PER_SECOND:.0} messages/s). The broadcast's rate is from its \
first delivery to its last, both measured by the sandbox; an interactive send's latency is from its request to the \
sandbox receiving it.\n\n\
| measure | result | goal | met |\n|---|---|---|---|\n\
| {n} recipients, `all_connected` | **{rate:.0} messages/s** over {seconds:.1} s = **{ratio:.2} × the allowed rate**; progress at the end: sent {sent} | ≥ 0.95 | {m1} |\n\
| interactive sends to the same bot meanwhile ({k}, one per 200 ms) | p50 **{p50:.0} ms**, p99 **{p99:.0} ms** | < 2 s | {m2} |\n\
| Telegram limit violations | {violations} | 0 | {m3} |\n\n\
The broadcast's messages in each second from its first delivery: {per_second:?}; the interactive sends take their \
share of the same allowance.\n",
        n = bulletin.len(),
        sent = progress["progress"]["sent"],
        k = latencies.len(),
        m1 = met(ratio >= 0.95 && bulletin.len() == RECIPIENTS),
        m2 = met(p99 < 2000.0 && latencies.len() == asked.len()),
        m3 = met(violations == 0),
    );
    common::write_section("broadcast", &report);
    println!("{report}");
}
