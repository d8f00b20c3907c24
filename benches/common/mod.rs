//! What the benchmarks share: the machine's description, percentiles,
//! resident memory, and writing one bench's section of docs/BENCHMARKS.md
//! without touching the others'.

#![allow(dead_code)] // each bench uses its own subset

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use telegram_sandbox::Limits;

use crate::support::{self, Layout, TestStack};

/// Warnings only, but the start-up lines the harness waits for.
pub const QUIET: &str = "warn,novij_telegram=info,novij_dispatcher::rpc=info";

/// "N cores, <CPU model>".
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{} cores, {cpu}", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0))
}

/// The `p` quantile of sorted values (NaN when empty).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Resident memory of a process, KiB (0 if it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| l.to_string()))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| {
        // Fields after the command name, which is in parentheses and may hold spaces.
        let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
        Some(rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?)
    });
    ticks.unwrap_or(0) as f64 / 100.0
}

/// The pids of every process whose command name is `comm` (nats-server,
/// postgres: the servers the stack runs on).
pub fn pids_named(comm: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == comm))
        .collect()
}

/// The processes whose CPU a benchmark reports: the stack's services and
/// the servers under them.
pub fn watched_processes(stack: &TestStack) -> Vec<(String, Vec<u32>)> {
    let mut out: Vec<(String, Vec<u32>)> =
        stack.services.iter().filter_map(|(n, p)| Some((n.clone(), vec![p.pid()?]))).collect();
    out.push(("nats-server".into(), pids_named("nats-server")));
    out.push(("postgres".into(), pids_named("postgres")));
    out
}

/// CPU seconds used so far by each watched process (group).
pub fn cpu_of(processes: &[(String, Vec<u32>)]) -> Vec<f64> {
    processes.iter().map(|(_, pids)| pids.iter().map(|pid| cpu_seconds(*pid)).sum()).collect()
}

/// "name N%" per process: the share of one core between two readings.
pub fn cpu_shares(processes: &[(String, Vec<u32>)], before: &[f64], seconds: f64) -> String {
    let after = cpu_of(processes);
    let shares: Vec<String> = processes
        .iter()
        .zip(before.iter().zip(after))
        .map(|((name, _), (b, a))| format!("{name} {:.0}%", (a - b) / seconds * 100.0))
        .collect();
    shares.join(", ")
}

fn benchmarks_md() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/BENCHMARKS.md"))
}

const HEADER: &str = "# Benchmarks\n\nEach section below is written by the benchmark it names, and only by it; \
every section says the command that produced it, the machine, and which goals it meets.\n";

/// Replaces (or adds) the section of bench `name` in docs/BENCHMARKS.md.
pub fn write_section(name: &str, body: &str) {
    let path = benchmarks_md();
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let (start, end) = (format!("<!-- bench:{name} -->"), format!("<!-- /bench:{name} -->"));
    let section = format!("{start}\n{}\n{end}", body.trim_end());
    let new = match (old.find(&start), old.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{section}{}", &old[..a], &old[b + end.len()..]),
        _ => {
            let kept =
                if old.contains("<!-- bench:") { old.trim_end().to_string() } else { HEADER.trim_end().to_string() };
            format!("{kept}\n\n{section}\n")
        }
    };
    std::fs::write(&path, new).expect("write docs/BENCHMARKS.md");
}

pub fn text_sends(integration: &str, users: &[String], per_user: usize, tag: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for round in 0..per_user {
        for user in users {
            out.push(json!({
                "project_id": "bench", "integration_id": integration, "recipient_ref": user, "template": "text_message",
                "template_vars": {"text": format!("{tag} {round} {user}")}, "idempotency_key": format!("{tag}-{round}-{user}")
            }));
        }
    }
    out
}

async fn sampler_peak(sampler: tokio::task::JoinHandle<u64>) -> u64 {
    sampler.await.unwrap_or(0)
}

/// Chats per bot and messages per chat in [`aggregate`]: at ten times
/// Telegram's rate a chat takes 10 messages/s, so the run is bound by the
/// service, not by the limits, up to 200 × 5 × 10 = 10,000 messages/s.
pub const AGGREGATE_CHATS: usize = 5;
pub const AGGREGATE_PER_CHAT: usize = 5;

/// Many bots at once, limits 10× faster: aggregate rate and dispatcher memory.
pub async fn aggregate(bots: usize) -> Aggregate {
    let env = [
        ("RUST_LOG", QUIET),
        ("TELEGRAM_LIMIT_PER_BOT_PER_SECOND", "300"),
        ("TELEGRAM_LIMIT_PER_CHAT_PER_SECOND", "10"),
        ("TELEGRAM_LIMIT_PER_GROUP_PER_MINUTE", "200"),
    ];
    let mut stack =
        TestStack::start_custom(Layout::Separate, 1, Limits { scale: 10.0, ..Limits::telegram() }, &env).await;
    let mut all = Vec::new();
    for b in 0..bots {
        let bot = stack.sandbox_post("/sandbox/bots", json!({"username": format!("bench{b}_bot")})).await;
        let integration = stack.create_integration("bench", bot["token"].as_str()).await;
        let users: Vec<String> = (0..AGGREGATE_CHATS).map(|c| format!("b{b}c{c}")).collect();
        stack.connect_users("bench", &integration, &users).await;
        all.extend(text_sends(&integration, &users, AGGREGATE_PER_CHAT, "agg"));
    }
    let n = all.len() as u64;
    let pid = stack.service("dispatcher").pid().unwrap_or(0);
    let idle_rss = rss_kib(pid);
    let from = stack.stream_last_sequence("EVENTS").await + 1;
    let watched = watched_processes(&stack);
    let cpu_before = cpu_of(&watched);
    let started = Instant::now();
    let before = stack.sandbox_get("/sandbox/stats").await["delivered"].as_u64().unwrap_or(0);
    let (done, mut done_rx) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        while !*done_rx.borrow() {
            peak = peak.max(rss_kib(pid));
            tokio::select! {
                _ = done_rx.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
        peak
    });
    stack.send_all(all).await;
    support::wait_total(&stack, before + n, Duration::from_secs(600)).await;
    let seconds = started.elapsed().as_secs_f64();
    let _ = done.send(true);
    let peak_rss = sampler_peak(sampler).await.max(rss_kib(pid));
    let cpu = cpu_shares(&watched, &cpu_before, seconds);
    Aggregate { rate: n as f64 / seconds, idle_rss, peak_rss, stages: stages(&stack, from).await, cpu }
}

/// What [`aggregate`] measured.
pub struct Aggregate {
    /// Messages per second, from the first request to the last delivery.
    pub rate: f64,
    /// The dispatcher's resident memory, KiB.
    pub idle_rss: u64,
    pub peak_rss: u64,
    pub stages: Stages,
    /// Share of one core per process during the run.
    pub cpu: String,
}

/// Each stage of a send, as its events on the log show it.
pub struct Stages {
    /// (event, events per second from its first to its last)
    pub rates: Vec<(&'static str, f64)>,
    /// Median milliseconds from `send.accepted` to `send.queued`, and from
    /// `send.queued` to `send.sent`.
    pub accepted_to_queued_ms: f64,
    pub queued_to_sent_ms: f64,
}

impl Stages {
    pub fn describe(&self) -> String {
        let rates: Vec<String> = self.rates.iter().map(|(e, r)| format!("`{e}` {r:.0}/s")).collect();
        format!(
            "{}; median accepted → queued {:.0} ms, queued → sent {:.0} ms",
            rates.join(", "),
            self.accepted_to_queued_ms,
            self.queued_to_sent_ms
        )
    }
}

/// Reads the sends' events from `from` on and times their stages.
async fn stages(stack: &TestStack, from: u64) -> Stages {
    use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
    use futures::StreamExt;
    const NAMES: [&str; 3] = ["accepted", "queued", "sent"];
    let js = stack.jetstream().await;
    let last = stack.stream_last_sequence("EVENTS").await;
    let stream = js.get_stream("EVENTS").await.expect("stream");
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subjects: NAMES.iter().map(|n| format!("nt.ev.send.*.{n}")).collect(),
            deliver_policy: DeliverPolicy::ByStartSequence { start_sequence: from },
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    // send id → occurred_at (ms) per stage
    let mut at: [std::collections::HashMap<String, i64>; 3] = Default::default();
    while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(2), messages.next()).await {
        let sequence = msg.info().map(|i| i.stream_sequence).unwrap_or(last);
        let env: Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
        let name = env["event_type"].as_str().and_then(|t| t.strip_prefix("send.")).unwrap_or_default();
        let when = env["occurred_at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        if let (Some(i), Some(when), Some(id)) =
            (NAMES.iter().position(|n| *n == name), when, env["aggregate_id"].as_str())
        {
            at[i].insert(id.to_string(), when.timestamp_millis());
        }
        if sequence >= last {
            break;
        }
    }
    let rate = |times: &std::collections::HashMap<String, i64>| {
        let (min, max) = (times.values().min().copied(), times.values().max().copied());
        match (min, max) {
            (Some(a), Some(b)) if b > a => times.len() as f64 / ((b - a) as f64 / 1000.0),
            _ => f64::NAN,
        }
    };
    let lag = |from: &std::collections::HashMap<String, i64>, to: &std::collections::HashMap<String, i64>| {
        let mut lags: Vec<f64> =
            to.iter().filter_map(|(id, t)| from.get(id).map(|f| (t - f) as f64)).collect::<Vec<_>>();
        lags.sort_by(|a, b| a.total_cmp(b));
        percentile(&lags, 0.5)
    };
    Stages {
        rates: NAMES.iter().zip(&at).map(|(n, times)| (*n, rate(times))).collect(),
        accepted_to_queued_ms: lag(&at[0], &at[1]),
        queued_to_sent_ms: lag(&at[1], &at[2]),
    }
}
