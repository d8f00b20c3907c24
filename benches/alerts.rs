//! `just bench alerts`: live alert cards against the strict sandbox, through
//! the public surfaces, release build. Writes its section of
//! `docs/BENCHMARKS.md`.
//!
//! - press answers: from the user's press to Telegram receiving
//!   `answerCallbackQuery` (the sandbox measures both ends), first on an idle
//!   bot (the reference, same run), then while a 2,000-message bulk backlog
//!   drains on the same bot;
//! - coalescing: 100 upserts of one incident as fast as the API takes them,
//!   and the edits they cost.

mod common;
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use common::{percentile, QUIET};
use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT};
use telegram_sandbox::Limits;

const CHATS: usize = 20;

fn card(integration: &str, user: &str, external_id: &str, summary: &str) -> Value {
    json!({
        "project_id": "bench", "integration_id": integration, "recipient_ref": user,
        "external_id": external_id, "title": "Disk full", "severity": "critical", "status": "firing",
        "summary": summary, "actions": [{"id": "ack", "label": "Ack"}, {"id": "resolve", "label": "Resolve"}],
        "locale": "en"
    })
}

/// The card (the bot's message with buttons) in the chat, once shown with `text`.
async fn card_message(stack: &TestStack, chat: i64, text: &str) -> i64 {
    let found = eventually(Duration::from_secs(60), || async {
        let sent = stack.sandbox_get(&format!("/sandbox/bots/{COMMON_BOT}/sent?chat_id={chat}")).await;
        let last = sent.as_array()?.iter().rev().find(|r| r["reply_markup"].is_object())?.clone();
        last["text"].as_str()?.contains(text).then(|| last["message_id"].as_i64())?
    })
    .await;
    found.expect("the card was shown")
}

/// Presses `n` buttons, `per_second`, round the cards; the answers' latencies (ms).
async fn presses(stack: &TestStack, cards: &[(i64, i64, String)], n: usize, per_second: u64) -> Vec<f64> {
    let mut queries = Vec::new();
    for i in 0..n {
        let (chat, message_id, alert_id) = &cards[i % cards.len()];
        let pressed = stack
            .sandbox_post(
                &format!("/sandbox/users/{chat}/callbacks"),
                json!({"bot_username": COMMON_BOT, "callback_data": format!("{alert_id}:{}", i % 2), "message_id": message_id}),
            )
            .await;
        queries.push(pressed["callback_query_id"].as_str().unwrap_or_default().to_string());
        tokio::time::sleep(Duration::from_millis(1000 / per_second)).await;
    }
    let answered = eventually(Duration::from_secs(60), || async {
        let answers = stack.sandbox_get(&format!("/sandbox/bots/{COMMON_BOT}/callback_answers")).await;
        let answers = answers.as_array()?.clone();
        let latencies: Vec<f64> = queries
            .iter()
            .filter_map(|q| answers.iter().find(|a| a["callback_query_id"] == q.as_str())?["latency_ms"].as_f64())
            .collect();
        (latencies.len() == queries.len()).then_some(latencies)
    })
    .await;
    let mut latencies = answered.expect("every press answered");
    latencies.sort_by(|a, b| a.total_cmp(b));
    latencies
}

#[tokio::main]
async fn main() {
    let machine = common::machine();
    let stack = TestStack::start_custom(Layout::Separate, 1, Limits::telegram(), &[("RUST_LOG", QUIET)]).await;
    let integration = stack.create_integration("bench", None).await;
    let users: Vec<String> = (0..CHATS).map(|i| format!("oncall{i}")).collect();
    let chats = stack.connect_users("bench", &integration, &users).await;
    let mut cards = Vec::new();
    for (user, chat) in users.iter().zip(&chats) {
        let r = stack.post("/api/v1/alerts/upsert", card(&integration, user, &format!("inc-{user}"), "open")).await;
        assert_eq!(r.status, 201, "{}", r.body);
        cards.push((*chat, 0, r.body["alert_id"].as_str().unwrap_or_default().to_string()));
    }
    for card in cards.iter_mut() {
        card.1 = card_message(&stack, card.0, "open").await;
    }

    eprintln!("presses on an idle bot…");
    let idle = presses(&stack, &cards, 50, 5).await;
    eprintln!("presses while a bulk backlog drains…");
    let bulk: Vec<Value> = (0..2000)
        .map(|i| {
            json!({"project_id": "bench", "integration_id": integration, "recipient_ref": users[i % CHATS],
                   "template": "text_message", "template_vars": {"text": format!("digest {i}")},
                   "idempotency_key": format!("digest-{i}"), "priority": "bulk"})
        })
        .collect();
    stack.send_all(bulk).await;
    let busy = presses(&stack, &cards, 100, 5).await;
    let delivered = stack.stats().await["delivered"].as_u64().unwrap_or(0);
    let draining = delivered < 2000;

    eprintln!("coalescing…");
    let (chat, message_id, _) = cards[0].clone();
    let started = std::time::Instant::now();
    for i in 1..=100 {
        let r = stack
            .post("/api/v1/alerts/upsert", card(&integration, &users[0], "inc-oncall0", &format!("step {i}")))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let burst = started.elapsed().as_secs_f64();
    card_message(&stack, chat, "step 100").await;
    let sent = stack.sandbox_get(&format!("/sandbox/bots/{COMMON_BOT}/sent?chat_id={chat}")).await;
    let edits = sent
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["message_id"] == message_id && r["method"] == "editMessageText")
        .filter(|r| r["text"].as_str().is_some_and(|t| t.contains("step ")))
        .count();
    let violations = stack.stats().await["violations"].as_u64().unwrap_or(0);

    let (ip50, ip99) = (percentile(&idle, 0.5), percentile(&idle, 0.99));
    let (bp50, bp99) = (percentile(&busy, 0.5), percentile(&busy, 0.99));
    let met = |ok: bool| if ok { "yes" } else { "no" };
    let report = format!(
        "## Alerts\n\n\
Produced by `just bench alerts` (`cargo bench --bench alerts`: release build, the services as separate processes \
over a throwaway nats-server and Postgres, one dispatcher, the strict Telegram sandbox at Telegram's limits in the \
benchmark process). Measured on {machine}, everything on that one machine; single runs: read them as ratios.\n\n\
A press's latency is from the user's press to Telegram receiving `answerCallbackQuery`, both measured by the \
sandbox. The reference is the same presses on the same bot while it is idle, in the same run.\n\n\
| measure | result | goal | met |\n|---|---|---|---|\n\
| press answered, idle bot (the reference; {ni} presses, 5/s over {CHATS} cards) | p50 **{ip50:.0} ms**, p99 **{ip99:.0} ms** | — | |\n\
| press answered while a 2,000-message bulk backlog drains on the same bot ({nb} presses) | p50 **{bp50:.0} ms**, p99 **{bp99:.0} ms** = **{ratio:.2} × idle p99**; backlog still draining at the end: {draining} | p99 < 300 ms | {m1} |\n\
| 100 upserts of one incident in {burst:.1} s | editMessageText calls: **{edits}**; the last state shown | ≤ 10 | {m2} |\n\
| Telegram limit violations | {violations} | 0 | {m3} |\n",
        ni = idle.len(),
        nb = busy.len(),
        ratio = bp99 / ip99.max(1.0),
        m1 = met(bp99 < 300.0 && draining),
        m2 = met(edits <= 10),
        m3 = met(violations == 0),
    );
    common::write_section("alerts", &report);
    println!("{report}");
}
