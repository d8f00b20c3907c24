//! `TELEGRAM_UPDATES=polling`: updates taken with getUpdates instead of the
//! webhook, by one poller per bot across the dispatchers; `/start <code>`
//! connects as with the webhook; killing the poller hands its bot over with
//! no update lost or stored twice; back in webhook mode, the webhooks are set
//! again.

mod support;

use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, WAIT};
use telegram_sandbox::Limits;

const PROJECT: &str = "p_polling";
const DISPATCHERS: [&str; 2] = ["dispatcher", "dispatcher-2"];

/// The dispatchers that took the lease `poll.<bot_key>`, by process name.
fn pollers(stack: &TestStack, bot_key: &str) -> Vec<String> {
    let lease = format!("\"poll.{bot_key}\"");
    DISPATCHERS
        .iter()
        .filter(|name| {
            stack.services[**name].output().lines().any(|l| l.contains("taking the work on") && l.contains(&lease))
        })
        .map(|name| name.to_string())
        .collect()
}

/// How many messages the project's feed has on `event_type`.
async fn on_feed(stack: &TestStack, event_type: &str) -> u64 {
    let js = stack.jetstream().await;
    let stream = js.get_stream(novij_events::feed::FEED_STREAM).await.expect("FEED");
    let subject =
        format!("{}.{}.{event_type}", novij_events::feed::FEED_ROOT, novij_events::feed::project_token(PROJECT));
    let config = OrderedConfig { filter_subject: subject, deliver_policy: DeliverPolicy::All, ..Default::default() };
    let consumer = stream.create_consumer(config).await.expect("reader");
    consumer.cached_info().num_pending
}

async fn wait_on_feed(stack: &TestStack, event_type: &str, n: u64) {
    let reached = eventually(WAIT, || async { (on_feed(stack, event_type).await >= n).then_some(()) }).await;
    assert!(
        reached.is_ok(),
        "{n} {event_type} never on the feed ({}):\n{}",
        on_feed(stack, event_type).await,
        stack.output_tail()
    );
}

fn conflicts(calls: &Value) -> Vec<Value> {
    calls.as_array().into_iter().flatten().filter(|c| c["status"] == 409).cloned().collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_poller_per_bot_connects_users_and_hands_over_with_nothing_lost_or_stored_twice() {
    let mut stack =
        TestStack::start_custom(Layout::Separate, 2, Limits::telegram(), &[("TELEGRAM_UPDATES", "polling")]).await;

    // The common bot: no webhook, and /start <code> connects through getUpdates.
    let common = stack.create_integration(PROJECT, None).await;
    stack.connect_user(PROJECT, &common, "user:1").await;
    let bot = stack.sandbox_get(&format!("/sandbox/bots/{COMMON_BOT}")).await;
    assert_eq!(bot["webhook"]["url"], "", "polling deleted the webhook: {bot}");

    // A custom bot is polled from its creation on; it never gets a webhook.
    let created = stack.sandbox_post("/sandbox/bots", json!({"username": "polled_bot"})).await;
    let custom = stack.create_integration(PROJECT, created["token"].as_str()).await;
    let chat = stack.connect_user(PROJECT, &custom, "user:2").await;
    let bot = stack.sandbox_get("/sandbox/bots/polled_bot").await;
    assert_eq!(bot["webhook"]["url"], "", "{bot}");
    let set = stack.sandbox_get("/sandbox/calls?bot_username=polled_bot&method=setWebhook").await;
    assert_eq!(set, json!([]), "no setWebhook for a polled bot");

    // One poller per bot, and never two at once (Telegram would answer 409).
    assert_eq!(pollers(&stack, "common").len(), 1, "{:?}", pollers(&stack, "common"));
    let holder = pollers(&stack, &custom);
    assert_eq!(holder.len(), 1, "{holder:?}");
    for bot in [COMMON_BOT, "polled_bot"] {
        let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={bot}&method=getUpdates")).await;
        assert!(calls.as_array().is_some_and(|c| !c.is_empty()), "{bot} was polled");
        assert_eq!(conflicts(&calls), Vec::<Value>::new(), "{bot}: two pollers at once");
    }

    // The holder dies while the user writes: the other dispatcher takes the
    // bot over, and every message is stored and handled once.
    stack.wait_idle().await;
    let stored_before = stack.stream_last_sequence("TG_UPDATES").await;
    let messages = format!("/sandbox/users/{chat}/messages");
    let write =
        |i: usize| stack.sandbox_post(&messages, json!({"bot_username": "polled_bot", "text": format!("message {i}")}));
    for i in 0..10 {
        write(i).await;
    }
    wait_on_feed(&stack, "inbound.received", 1).await;
    let pid = stack.services[&holder[0]].pid().expect("the holder runs");
    let killed = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().expect("kill");
    assert!(killed.success());
    for i in 10..20 {
        write(i).await;
    }
    wait_on_feed(&stack, "inbound.received", 20).await;
    let taken_over = pollers(&stack, &custom);
    assert_eq!(taken_over.len(), 2, "the other dispatcher took over: {taken_over:?}");
    stack.wait_idle().await;
    assert_eq!(on_feed(&stack, "inbound.received").await, 20, "each message handled once");
    let stored = stack.stream_last_sequence("TG_UPDATES").await - stored_before;
    assert_eq!(stored, 20, "each update stored once, though Telegram gave the unconfirmed ones again");

    // Back to the webhook: the next dispatcher to start sets both webhooks
    // again, and updates come through them.
    for name in DISPATCHERS {
        stack.service(name).kill().await;
    }
    let polling = stack.env.clone();
    stack.env.retain(|(k, _)| k != "TELEGRAM_UPDATES");
    stack.spawn("dispatcher", &["serve", "dispatcher"]);
    stack.env = polling;
    stack.wait_ready().await;
    for bot in [COMMON_BOT, "polled_bot"] {
        let set = eventually(WAIT, || async {
            let info = stack.sandbox_get(&format!("/sandbox/bots/{bot}")).await;
            info["webhook"]["url"].as_str().is_some_and(|u| u.contains("/api/v1/telegram/webhook/")).then_some(())
        })
        .await;
        assert!(set.is_ok(), "{bot} has its webhook again:\n{}", stack.output_tail());
    }
    stack.sandbox_post(&messages, json!({"bot_username": "polled_bot", "text": "through the webhook"})).await;
    wait_on_feed(&stack, "inbound.received", 21).await;
}
