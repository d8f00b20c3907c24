//! `just bench core`: the hot path, measured through the public surfaces
//! (HTTP in, NATS between, Postgres for reading), release build. Writes its
//! section of `docs/BENCHMARKS.md`.
//!
//! - ingress: sends accepted per second at 64 connections, beside a bare warp
//!   JSON echo served by this benchmark in the same run, with the same client;
//! - live projection: events applied per second under that load, and how far
//!   behind the log the projections are 5 s after it stops;
//! - `rebuild`: events replayed per second;
//! - 200 bots: messages per second end to end;
//! - where the CPU went during the ingress load, per process.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{percentile, QUIET};
use serde_json::{json, Value};
use support::{Layout, TestStack};
use telegram_sandbox::Limits;
use warp::Filter;

const CONNECTIONS: usize = 64;
const LOAD: Duration = Duration::from_secs(10);

/// What one load run saw.
struct Load {
    accepted: usize,
    other: usize,
    seconds: f64,
    /// Milliseconds, sorted.
    latencies: Vec<f64>,
}

impl Load {
    fn rate(&self) -> f64 {
        self.accepted as f64 / self.seconds
    }
}

/// `CONNECTIONS` clients posting `body(i)` to `url` for [`LOAD`]; `ok` is the
/// status that counts as accepted.
async fn load(url: &str, auth: Option<&str>, ok: u16, body: impl Fn(usize) -> Value + Send + Sync + 'static) -> Load {
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONNECTIONS).build().expect("client");
    let body = Arc::new(body);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers = (0..CONNECTIONS).map(|_| {
        let (client, body, next, url) = (client.clone(), body.clone(), next.clone(), url.to_string());
        let auth = auth.map(str::to_string);
        tokio::spawn(async move {
            let (mut accepted, mut other, mut latencies) = (0, 0, Vec::new());
            while started.elapsed() < LOAD {
                let payload = serde_json::to_vec(&body(next.fetch_add(1, Ordering::Relaxed))).expect("json");
                let mut request = client.post(&url).header("content-type", "application/json").body(payload);
                if let Some(auth) = &auth {
                    request = request.header("authorization", auth);
                }
                let sent = Instant::now();
                match request.send().await {
                    Ok(r) if r.status().as_u16() == ok => {
                        let _ = r.bytes().await;
                        accepted += 1;
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => other += 1,
                }
            }
            (accepted, other, latencies)
        })
    });
    let mut out = Load { accepted: 0, other: 0, seconds: 0.0, latencies: Vec::new() };
    for worker in futures::future::join_all(workers).await {
        let (accepted, other, latencies) = worker.expect("worker");
        out.accepted += accepted;
        out.other += other;
        out.latencies.extend(latencies);
    }
    out.seconds = started.elapsed().as_secs_f64();
    out.latencies.sort_by(|a, b| a.total_cmp(b));
    out
}

/// The reference: warp answering a JSON body with itself.
async fn echo() -> Load {
    let route = warp::post().and(warp::path("echo")).and(warp::body::json()).map(|v: Value| warp::reply::json(&v));
    let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
    let server = tokio::spawn(server);
    let url = format!("http://{addr}/echo");
    let result = load(&url, None, 200, |i| send_body("int_echo", i)).await;
    server.abort();
    result
}

fn send_body(integration: &str, i: usize) -> Value {
    json!({
        "project_id": "bench", "integration_id": integration, "recipient_ref": format!("u{}", i % 100),
        "template": "text_message", "template_vars": {"text": format!("core {i}")},
        "idempotency_key": format!("core-{i}"),
    })
}

async fn checkpoint(stack: &TestStack) -> u64 {
    let db = stack.db.connect().await.expect("db");
    novij_projections::queries::checkpoint(&db).await.expect("checkpoint")
}

struct Ingress {
    load: Load,
    /// The same load on ingress with the other services stopped.
    alone: Load,
    /// Events appended / applied per second during the load.
    produced: f64,
    applied: f64,
    /// Events the projections were behind, 5 s after the load stopped.
    lag_after_5s: u64,
    /// Share of one core per process during the load.
    cpu: String,
    rebuild_events: u64,
    rebuild_seconds: f64,
}

async fn ingress() -> Ingress {
    let env = [("RUST_LOG", QUIET), ("PROJECT_DAILY_SEND_QUOTA", "100000000")];
    let mut stack = TestStack::start_custom(Layout::Separate, 1, Limits::telegram(), &env).await;
    let integration = stack.create_integration("bench", None).await;
    let users: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    stack.connect_users("bench", &integration, &users).await;
    stack.wait_settled().await;

    let names: Vec<String> = stack.services.keys().cloned().collect();
    let watched = common::watched_processes(&stack);
    let cpu_before = common::cpu_of(&watched);
    let (log_before, cp_before) = (stack.stream_last_sequence("EVENTS").await, checkpoint(&stack).await);
    let auth = format!("Bearer {}", stack.admin_key);
    let url = format!("{}/api/v1/send", stack.api);
    let id = integration.clone();
    let result = load(&url, Some(&auth), 202, move |i| send_body(&id, i)).await;
    let (log_after, cp_after) = (stack.stream_last_sequence("EVENTS").await, checkpoint(&stack).await);
    let cpu = common::cpu_shares(&watched, &cpu_before, result.seconds);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let lag_after_5s = stack.stream_last_sequence("EVENTS").await.saturating_sub(checkpoint(&stack).await);

    // The same load with ingress alone (the pipeline behind it stopped, so
    // it does not share the two cores with them; the projector moves to it).
    for name in names.iter().filter(|n| *n != "ingress") {
        stack.service(name).kill().await;
    }
    let id = integration.clone();
    let alone = load(&url, Some(&auth), 202, move |i| send_body(&id, 10_000_000 + i)).await;
    stack.service("ingress").kill().await;
    let rebuild_events = stack.stream_last_sequence("EVENTS").await;
    let out = stack.cli(&["rebuild"]);
    assert!(out.status.success(), "rebuild: {}", String::from_utf8_lossy(&out.stderr));
    // The rebuild's own time, without the command's start-up.
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    let ms: f64 = said
        .rsplit_once(" in ")
        .and_then(|(_, t)| t.trim().strip_suffix(" ms"))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no time in the rebuild's report: {said}"));
    let rebuild_seconds = ms / 1000.0;
    let seconds = result.seconds;
    Ingress {
        load: result,
        alone,
        produced: (log_after - log_before) as f64 / seconds,
        applied: (cp_after - cp_before) as f64 / seconds,
        lag_after_5s,
        cpu,
        rebuild_events,
        rebuild_seconds,
    }
}

fn meets(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

#[tokio::main]
async fn main() {
    let machine = common::machine();
    eprintln!("echo…");
    let echo = echo().await;
    eprintln!("ingress…");
    let ing = ingress().await;
    eprintln!("200 bots…");
    let bots = 200;
    let agg = common::aggregate(bots).await;
    let bots_rate = agg.rate;

    let ratio = ing.load.rate() / echo.rate();
    let p50 = percentile(&ing.load.latencies, 0.5);
    let p99 = percentile(&ing.load.latencies, 0.99);
    let rebuild_rate = ing.rebuild_events as f64 / ing.rebuild_seconds;
    let report = format!(
        "## Core\n\n\
Produced by `just bench core` (`cargo bench --bench core`: release build, the services as separate processes \
over a throwaway nats-server and Postgres, the Telegram sandbox and the HTTP load in the benchmark process). \
Measured on {machine}, everything on that one machine; single runs on a small, shared machine: read them as \
ratios and orders of magnitude. Load: {CONNECTIONS} connections for {load}s, one client for both.\n\n\
| measure | result | goal | |\n|---|---|---|---|\n\
| bare warp JSON echo (the reference, same client, same run) | **{echo_rate:.0} requests/s**, p50 {ep50:.1} ms, p99 {ep99:.1} ms | — | |\n\
| `POST /api/v1/send` accepted, the whole stack running | **{rate:.0} sends/s** = **{ratio:.3} × echo**, p50 {p50:.1} ms, p99 **{p99:.1} ms**, {other} not accepted | ≥ 0.15 × echo, p99 < 20 ms | {m1} |\n\
| the same, ingress alone (the services behind it stopped) | {alone_rate:.0} sends/s = {alone_ratio:.3} × echo, p50 {ap50:.1} ms, p99 {ap99:.1} ms | | |\n\
| live projection under that load | {produced:.0} events/s appended, **{applied:.0} events/s applied** | ≥ 20,000 events/s | {m2} |\n\
| projections behind the log 5 s after the load | **{lag} events** | < 5 s of applying | {m3} |\n\
| `rebuild` | {events} events in {rs:.1} s = **{rebuild_rate:.0} events/s** | ≥ 50,000 events/s | {m4} |\n\
| {bots} bots in parallel, limits ×10, {chats} chats × {per_chat} messages each | **{bots_rate:.0} messages/s** end to end | ≥ 5,000 messages/s | {m5} |\n\n\
CPU during the ingress load (share of one core, per process): {cpu}.\n\n\
The {bots}-bot run, stage by stage (from the events' times on the log): {stages}. \
CPU during it: {agg_cpu}.\n",
        load = LOAD.as_secs(),
        chats = common::AGGREGATE_CHATS,
        per_chat = common::AGGREGATE_PER_CHAT,
        echo_rate = echo.rate(),
        ep50 = percentile(&echo.latencies, 0.5),
        ep99 = percentile(&echo.latencies, 0.99),
        rate = ing.load.rate(),
        alone_rate = ing.alone.rate(),
        alone_ratio = ing.alone.rate() / echo.rate(),
        ap50 = percentile(&ing.alone.latencies, 0.5),
        ap99 = percentile(&ing.alone.latencies, 0.99),
        other = ing.load.other,
        produced = ing.produced,
        applied = ing.applied,
        lag = ing.lag_after_5s,
        events = ing.rebuild_events,
        rs = ing.rebuild_seconds,
        m1 = meets(ratio >= 0.15 && p99 < 20.0),
        m2 = meets(ing.applied >= 20_000.0),
        m3 = meets(ing.lag_after_5s == 0 || (ing.lag_after_5s as f64) < ing.applied * 5.0),
        m4 = meets(rebuild_rate >= 50_000.0),
        m5 = meets(bots_rate >= 5_000.0),
        cpu = ing.cpu,
        stages = agg.stages.describe(),
        agg_cpu = agg.cpu,
    );
    common::write_section("core", &report);
    println!("{report}");
}
