//! Live alert cards, end to end: an upsert sends one card per chat with its
//! buttons, later upserts edit it in place (coalesced within Telegram's
//! limits, never an older state after a newer one), a resolved incident that
//! fires again gets a new card, and a deleted card is sent afresh.

mod support;

use std::time::Instant;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, WAIT};

const PROJECT: &str = "p_alerts";

fn card(integration_id: &str, external_id: &str, status: &str, summary: &str) -> Value {
    json!({
        "project_id": PROJECT, "integration_id": integration_id, "recipient_ref": "oncall:1",
        "external_id": external_id, "title": "Disk full on db-1", "severity": "critical", "status": status,
        "summary": summary,
        "fields": [{"name": "Host", "value": "db-1"}],
        "links": [{"label": "Runbook", "url": "https://runbooks.example/disk"}],
        "actions": [{"id": "ack", "label": "Ack"}, {"id": "resolve", "label": "Resolve"}],
        "locale": "en"
    })
}

/// The records of one message, skipping the welcome.
fn of_message(records: &[Value], message_id: i64) -> Vec<&Value> {
    records.iter().filter(|r| r["message_id"] == message_id).collect()
}

/// Waits until the chat's message `message_id` (or, with `None`, the newest
/// card: a message with buttons) shows `text`; the message id.
async fn wait_shown(stack: &TestStack, chat: i64, message_id: Option<i64>, text: &str) -> i64 {
    let found = eventually(WAIT, || async {
        let records = stack.sent_to(chat).await;
        let last = records.iter().rev().find(|r| match message_id {
            Some(id) => r["message_id"] == id,
            None => r["reply_markup"].is_object(),
        })?;
        last["text"].as_str()?.contains(text).then(|| last["message_id"].as_i64())?
    })
    .await;
    match found {
        Ok(message_id) => message_id,
        Err(_) => {
            panic!("the card never showed {text:?}: {:?}\n{}", stack.sent_to(chat).await, stack.output_tail())
        }
    }
}

/// The `step N` a record's text shows.
fn step(record: &Value) -> Option<u32> {
    let text = record["text"].as_str()?;
    text.split("step ").nth(1)?.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_is_sent_with_its_buttons_and_a_burst_of_updates_ends_in_the_last_state_within_few_edits() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let chat = stack.connect_user(PROJECT, &integration, "oncall:1").await;

    let opened = stack.post("/api/v1/alerts/upsert", card(&integration, "disk-full", "firing", "step 0")).await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    assert_eq!(opened.body["created"], true);
    assert_eq!(opened.body["revision"], 1);
    let alert_id = opened.body["alert_id"].as_str().expect("alert_id").to_string();
    assert!(alert_id.starts_with("alr_"), "{alert_id}");

    let message_id = wait_shown(&stack, chat, None, "step 0").await;
    let records = stack.sent_to(chat).await;
    let sent = of_message(&records, message_id);
    assert_eq!(sent.len(), 1, "one message: {sent:?}");
    assert_eq!(sent[0]["method"], "sendMessage");
    assert!(sent[0]["text"].as_str().unwrap_or_default().contains("CRITICAL"), "{}", sent[0]);
    let keyboard = &sent[0]["reply_markup"]["inline_keyboard"];
    assert_eq!(keyboard[0][0]["text"], "Ack");
    assert_eq!(keyboard[0][0]["callback_data"], format!("{alert_id}:0"), "opaque data: the card and the position");
    assert_eq!(keyboard[0][1]["callback_data"], format!("{alert_id}:1"));
    assert_eq!(keyboard[1][0]["url"], "https://runbooks.example/disk");

    // The same content again changes nothing.
    let same = stack.post("/api/v1/alerts/upsert", card(&integration, "disk-full", "firing", "step 0")).await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(
        (same.body["alert_id"].as_str(), &same.body["revision"], &same.body["created"]),
        (Some(alert_id.as_str()), &json!(1), &json!(false))
    );

    let burst = Instant::now();
    for i in 1..=100 {
        let r =
            stack.post("/api/v1/alerts/upsert", card(&integration, "disk-full", "firing", &format!("step {i}"))).await;
        assert_eq!(r.status, 200, "upsert {i}: {}", r.body);
        assert_eq!(r.body["alert_id"], alert_id.as_str(), "the same card");
        assert_eq!(r.body["revision"], i + 1);
    }
    eprintln!("100 upserts in {:?}", burst.elapsed());
    wait_shown(&stack, chat, Some(message_id), "step 100").await;
    stack.wait_idle().await;

    let records = stack.sent_to(chat).await;
    let shown = of_message(&records, message_id);
    let edits: Vec<&&Value> = shown.iter().filter(|r| r["method"] == "editMessageText").collect();
    eprintln!("{} edits for 100 upserts", edits.len());
    assert!(!edits.is_empty() && edits.len() <= 10, "{} edits: {:?}", edits.len(), edits);
    let steps: Vec<u32> = shown.iter().filter_map(|r| step(r)).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "an older state after a newer one: {steps:?}");
    assert_eq!(steps.last(), Some(&100));
    assert!(
        records.iter().filter(|r| r["method"] == "sendMessage").count() <= 2,
        "no second card (the welcome and the card)"
    );
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resolved_incident_that_fires_again_gets_a_new_card_and_a_deleted_card_is_sent_afresh() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let chat = stack.connect_user(PROJECT, &integration, "oncall:1").await;

    let first = stack.post("/api/v1/alerts/upsert", card(&integration, "cpu", "firing", "step 1")).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let first_id = first.body["alert_id"].as_str().expect("alert_id").to_string();
    let first_message = wait_shown(&stack, chat, None, "step 1").await;

    let resolved = stack.post("/api/v1/alerts/upsert", card(&integration, "cpu", "resolved", "step 2")).await;
    assert_eq!((resolved.status, resolved.body["status"].as_str()), (200, Some("resolved")), "{}", resolved.body);
    wait_shown(&stack, chat, Some(first_message), "resolved").await;
    let records = stack.sent_to(chat).await;
    let last = of_message(&records, first_message).last().copied().cloned().expect("the card");
    assert!(
        last["reply_markup"]["inline_keyboard"].as_array().is_some_and(|rows| rows.len() == 1),
        "links only: {last}"
    );

    // Resolved again: nothing changes.
    let again = stack.post("/api/v1/alerts/upsert", card(&integration, "cpu", "resolved", "step 3")).await;
    assert_eq!((again.status, again.body["revision"].clone()), (200, json!(2)), "{}", again.body);

    let refired = stack.post("/api/v1/alerts/upsert", card(&integration, "cpu", "firing", "step 4")).await;
    assert_eq!(refired.status, 201, "{}", refired.body);
    let second_id = refired.body["alert_id"].as_str().expect("alert_id").to_string();
    assert_ne!(second_id, first_id, "a new card");
    let second_message = wait_shown(&stack, chat, None, "step 4").await;
    assert_ne!(second_message, first_message, "a new message");
    let records = stack.sent_to(chat).await;
    assert!(
        of_message(&records, first_message).last().is_some_and(|r| step(r) == Some(2)),
        "the old card is left as it was"
    );

    // The old card cannot be changed by id any more.
    let stale = stack.patch(&format!("/api/v1/alerts/{first_id}"), json!({"summary": "step 9"})).await;
    assert_eq!((stale.status, stale.body["error"]["code"].as_str()), (409, Some("alert_superseded")), "{}", stale.body);

    // The user deletes the card: the next change sends it afresh.
    stack
        .sandbox_post(
            &format!("/sandbox/users/{chat}/delete_message"),
            json!({"bot_username": COMMON_BOT, "message_id": second_message}),
        )
        .await;
    let patched = stack.patch(&format!("/api/v1/alerts/{second_id}"), json!({"summary": "step 5"})).await;
    assert_eq!((patched.status, patched.body["revision"].clone()), (200, json!(2)), "{}", patched.body);
    let third_message = wait_shown(&stack, chat, None, "step 5").await;
    assert_ne!(third_message, second_message, "sent afresh");
    let records = stack.sent_to(chat).await;
    assert_eq!(of_message(&records, third_message)[0]["method"], "sendMessage");

    // Later changes edit the new message.
    stack.patch(&format!("/api/v1/alerts/{second_id}"), json!({"status": "acknowledged"})).await;
    wait_shown(&stack, chat, Some(third_message), "acknowledged").await;

    // The list shows both cards, newest first, as the projections have them.
    stack.wait_settled().await;
    let list = stack.get(&format!("/api/v1/alerts?project_id={PROJECT}&integration_id={integration}")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let cards: Vec<(Value, Value, Value)> = list.body["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["alert_id"].clone(), c["status"].clone(), c["generation"].clone()))
        .collect();
    assert_eq!(
        cards,
        vec![(json!(second_id), json!("acknowledged"), json!(2)), (json!(first_id), json!("resolved"), json!(1))]
    );
    let resolved =
        stack.get(&format!("/api/v1/alerts?project_id={PROJECT}&integration_id={integration}&status=resolved")).await;
    assert_eq!(resolved.body["alerts"].as_array().map(Vec::len), Some(1), "{}", resolved.body);
    let bad = stack.get(&format!("/api/v1/alerts?project_id={PROJECT}&integration_id={integration}&status=gone")).await;
    assert_eq!((bad.status, &bad.body["error"]["field"]), (422, &json!("status")), "{}", bad.body);
    // A page at a time: the next page starts after the last card shown.
    let list = format!("/api/v1/alerts?project_id={PROJECT}&integration_id={integration}&limit=1");
    let first_page = stack.get(&list).await;
    assert_eq!(first_page.body["alerts"][0]["alert_id"], json!(second_id), "{}", first_page.body);
    assert_eq!(first_page.body["alerts"].as_array().map(Vec::len), Some(1), "{}", first_page.body);
    let next = stack.get(&format!("{list}&after={second_id}")).await;
    assert_eq!(next.body["alerts"][0]["alert_id"], json!(first_id), "{}", next.body);
    let last = stack.get(&format!("{list}&after={first_id}")).await;
    assert_eq!(last.body["alerts"], json!([]), "{}", last.body);
    let foreign = stack.get(&format!("{list}&after=alr_0")).await;
    assert_eq!((foreign.status, &foreign.body["error"]["field"]), (422, &json!("after")), "{}", foreign.body);
    let too_many =
        stack.get(&format!("/api/v1/alerts?project_id={PROJECT}&integration_id={integration}&limit=1001")).await;
    assert_eq!((too_many.status, &too_many.body["error"]["field"]), (422, &json!("limit")), "{}", too_many.body);
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_alert_requests_name_the_field_and_write_nothing() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    stack.connect_user(PROJECT, &integration, "oncall:1").await;
    let events_before = stack.stream_last_sequence("EVENTS").await;
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c.as_object_mut().map(|o| o.remove("title"));
                c
            },
            "title",
        ),
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c["sumary"] = json!("typo");
                c
            },
            "sumary",
        ),
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c["severity"] = json!("apocalyptic");
                c
            },
            "severity",
        ),
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c["actions"][0]["id"] = json!("Ack Now");
                c
            },
            "actions[0].id",
        ),
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c["actions"][1]["id"] = json!("ack");
                c
            },
            "actions[1].id",
        ),
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c["links"][0]["url"] = json!("javascript:alert(1)");
                c
            },
            "links[0].url",
        ),
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c["recipient_ref"] = json!("nobody");
                c
            },
            "recipient_ref",
        ),
        (
            {
                let mut c = card(&integration, "x", "firing", "s");
                c["recipient_refs"] = json!(["oncall:1"]);
                c
            },
            "recipient_ref",
        ),
    ];
    for (body, field) in cases {
        let r = stack.post("/api/v1/alerts/upsert", body).await;
        assert!(r.status == 422 || r.status == 400, "{field}: {} {}", r.status, r.body);
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    let missing = stack.patch("/api/v1/alerts/alr_00000000000000000000000000000000001", json!({})).await;
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert_eq!(stack.stream_last_sequence("EVENTS").await, events_before, "nothing written");
}

/// The sandbox user presses the button with `data` under the bot's message.
async fn press(stack: &TestStack, chat: i64, message_id: i64, data: &str) -> String {
    press_in(stack, chat, chat, message_id, data).await
}

/// The sandbox user `user` presses the button with `data` under the bot's
/// message in `chat` (their private chat, or a group they are in).
async fn press_in(stack: &TestStack, user: i64, chat: i64, message_id: i64, data: &str) -> String {
    let pressed = stack
        .sandbox_post(
            &format!("/sandbox/users/{user}/callbacks"),
            json!({"bot_username": COMMON_BOT, "chat_id": chat, "callback_data": data, "message_id": message_id}),
        )
        .await;
    pressed["callback_query_id"].as_str().expect("callback_query_id").to_string()
}

/// The answer Telegram got for a press, once it came.
async fn answer_of(stack: &TestStack, query_id: &str) -> Value {
    let found = eventually(WAIT, || async {
        let answers = stack.sandbox_get(&format!("/sandbox/bots/{COMMON_BOT}/callback_answers")).await;
        answers.as_array()?.iter().find(|a| a["callback_query_id"] == query_id).cloned()
    })
    .await;
    found.unwrap_or_else(|_| panic!("the press {query_id} was never answered\n{}", stack.output_tail()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_press_is_answered_at_once_offered_once_to_the_poll_and_an_ack_with_a_result_edits_the_card() {
    let stack = TestStack::start(Layout::Separate).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let chat = stack.connect_user(PROJECT, &integration, "oncall:1").await;
    let opened = stack.post("/api/v1/alerts/upsert", card(&integration, "db-down", "firing", "step 1")).await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let alert_id = opened.body["alert_id"].as_str().expect("alert_id").to_string();
    let message_id = wait_shown(&stack, chat, None, "step 1").await;
    let poll_path = format!("/api/v1/alerts/actions/poll?project_id={PROJECT}&integration_id={integration}");
    let empty = stack.get(&poll_path).await;
    assert_eq!((empty.status, &empty.body["actions"]), (200, &json!([])), "{}", empty.body);

    // Answered before the project polls, with the button's label.
    let query = press(&stack, chat, message_id, &format!("{alert_id}:0")).await;
    let answer = answer_of(&stack, &query).await;
    assert_eq!(answer["text"], "✓ Ack: sent", "{answer}");
    eprintln!("press answered after {} ms", answer["latency_ms"]);
    // The same button by the same person a moment later is the same action.
    let again = press(&stack, chat, message_id, &format!("{alert_id}:0")).await;
    answer_of(&stack, &again).await;

    let polled = stack.get(&format!("{poll_path}&wait_seconds=10")).await;
    assert_eq!(polled.status, 200, "{}", polled.body);
    let actions = polled.body["actions"].as_array().cloned().unwrap_or_default();
    assert_eq!(actions.len(), 1, "one action: {}", polled.body);
    let action = &actions[0];
    assert_eq!(
        (&action["alert_id"], &action["external_id"], &action["action"], &action["pressed_by"]),
        (&json!(alert_id), &json!("db-down"), &json!("ack"), &json!("oncall:1")),
        "{action}"
    );
    let action_id = action["action_id"].as_str().expect("action_id").to_string();
    // Not acked: offered again, still once.
    let polled = stack.get(&poll_path).await;
    assert_eq!(polled.body["actions"].as_array().map(Vec::len), Some(1), "{}", polled.body);

    let acked = stack
        .post(
            "/api/v1/alerts/actions/ack",
            json!({"project_id": PROJECT, "integration_id": integration, "action_ids": [action_id],
                   "result": {"status": "acknowledged", "summary": "taken by the on-call"}}),
        )
        .await;
    assert_eq!((acked.status, &acked.body["acked"]), (200, &json!(1)), "{}", acked.body);
    wait_shown(&stack, chat, Some(message_id), "taken by the on-call").await;
    let records = stack.sent_to(chat).await;
    let last = of_message(&records, message_id).last().copied().cloned().expect("the card");
    assert!(last["text"].as_str().is_some_and(|t| t.contains("acknowledged")), "{last}");
    let polled = stack.get(&poll_path).await;
    assert_eq!(polled.body["actions"], json!([]), "acked presses leave the poll: {}", polled.body);
    let again = stack
        .post(
            "/api/v1/alerts/actions/ack",
            json!({"project_id": PROJECT, "integration_id": integration, "action_ids": [action_id]}),
        )
        .await;
    assert_eq!((again.status, &again.body["acked"]), (200, &json!(0)), "acking again changes nothing: {}", again.body);
}

/// The bot's sendMessage calls to the chat, as the sandbox received them.
async fn send_calls(stack: &TestStack, chat: i64) -> Vec<Value> {
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMessage")).await;
    calls
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c["params"]["chat_id"] == chat && c["status"] == 200)
        .collect()
}

/// Waits for a sendMessage to the chat replying to `message_id` whose text holds `text`.
async fn wait_reply(stack: &TestStack, chat: i64, message_id: i64, text: &str) -> Value {
    let found = eventually(WAIT, || async {
        send_calls(stack, chat).await.into_iter().find(|c| {
            c["params"]["reply_parameters"]["message_id"] == message_id
                && c["params"]["text"].as_str().is_some_and(|t| t.contains(text))
        })
    })
    .await;
    found.unwrap_or_else(|_| panic!("no reply {text:?} to {message_id}: {:?}", chat))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_severity_raise_notifies_under_the_card_and_replies_land_under_the_current_card_with_media_too() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let chat = stack.connect_user(PROJECT, &integration, "oncall:1").await;
    let mut body = card(&integration, "latency", "firing", "p99 800 ms");
    body["severity"] = json!("warning");
    let opened = stack.post("/api/v1/alerts/upsert", body.clone()).await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let alert_id = opened.body["alert_id"].as_str().expect("alert_id").to_string();
    let message_id = wait_shown(&stack, chat, None, "WARNING").await;
    assert!(
        !send_calls(&stack, chat).await.iter().any(|c| c["params"]["reply_parameters"].is_object()),
        "no notice for a new card"
    );

    // Worse: the card is edited, and a short reply under it notifies the chat.
    body["severity"] = json!("critical");
    body["summary"] = json!("p99 3 s");
    let raised = stack.post("/api/v1/alerts/upsert", body.clone()).await;
    assert_eq!(raised.status, 200, "{}", raised.body);
    wait_shown(&stack, chat, Some(message_id), "p99 3 s").await;
    wait_reply(&stack, chat, message_id, "Severity raised to <b>CRITICAL</b>: Disk full on db-1").await;

    // Better again: edited, without a notice.
    body["severity"] = json!("info");
    stack.post("/api/v1/alerts/upsert", body.clone()).await;
    wait_shown(&stack, chat, Some(message_id), "INFO").await;
    stack.wait_idle().await;
    let notices =
        send_calls(&stack, chat).await.into_iter().filter(|c| c["params"]["reply_parameters"].is_object()).count();
    assert_eq!(notices, 1, "one notice, for the raise only");

    let replied = stack
        .post(
            &format!("/api/v1/alerts/{alert_id}/reply"),
            json!({"text": "runbook step 3 <done>", "idempotency_key": "r1"}),
        )
        .await;
    assert_eq!(replied.status, 202, "{}", replied.body);
    let send_ids = replied.body["send_ids"].as_array().cloned().unwrap_or_default();
    assert_eq!(send_ids.len(), 1, "{}", replied.body);
    wait_reply(&stack, chat, message_id, "runbook step 3 &lt;done&gt;").await;
    let again = stack
        .post(
            &format!("/api/v1/alerts/{alert_id}/reply"),
            json!({"text": "runbook step 3 <done>", "idempotency_key": "r1"}),
        )
        .await;
    assert_eq!((again.status, &again.body["send_ids"]), (202, &json!(send_ids)), "a retry: {}", again.body);
    stack.wait_idle().await;
    let replies = send_calls(&stack, chat)
        .await
        .into_iter()
        .filter(|c| c["params"]["text"].as_str().is_some_and(|t| t.contains("runbook")))
        .count();
    assert_eq!(replies, 1, "the retry sent nothing again");

    // Details with a graph: a photo under the card, the text its caption.
    let graph = json!({"text": "p99, last hour", "idempotency_key": "r2",
        "media": {"type": "photo", "url": "https://grafana.example.org/render/p99.png"}});
    let replied = stack.post(&format!("/api/v1/alerts/{alert_id}/reply"), graph).await;
    assert_eq!(replied.status, 202, "{}", replied.body);
    let photo_calls = format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendPhoto&chat_id={chat}");
    let photo = eventually(WAIT, || async {
        let calls = stack.sandbox_get(&photo_calls).await;
        calls.as_array()?.iter().find(|c| c["status"] == 200).cloned()
    })
    .await
    .expect("the graph was never sent");
    let params = &photo["params"];
    assert_eq!(
        (&params["caption"], &params["photo"], &params["reply_parameters"]["message_id"]),
        (&json!("p99, last hour"), &json!("https://grafana.example.org/render/p99.png"), &json!(message_id)),
        "{photo}"
    );
}

/// Rounds of updates of every incident, a second apart.
const ROUNDS: usize = 10;
/// How soon a card must show its incident's last state.
const LATEST_WITHIN_MS: i64 = 3_000;

#[tokio::test(flavor = "multi_thread")]
async fn three_dispatchers_keep_twenty_cards_current_within_seconds_while_a_bulk_backlog_drains() {
    let stack = TestStack::start_custom(Layout::Separate, 3, telegram_sandbox::Limits::telegram(), &[]).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let users: Vec<String> = (0..20).map(|i| format!("oncall:{i}")).collect();
    let chats = stack.connect_users(PROJECT, &integration, &users).await;
    let bulk: Vec<Value> = (0..2000)
        .map(|i| {
            json!({"project_id": PROJECT, "integration_id": integration, "recipient_ref": users[i % users.len()],
                   "template": "text_message", "template_vars": {"text": format!("digest {i}")},
                   "idempotency_key": format!("bulk-{i}"), "priority": "bulk"})
        })
        .collect();
    stack.send_all(bulk).await;

    let upsert = |i: usize, round: usize| {
        let mut body = card(&integration, &format!("incident-{i}"), "firing", &format!("round {round}"));
        body["recipient_ref"] = json!(users[i]);
        body
    };
    let mut last_upsert_ms = vec![0i64; users.len()];
    for round in 0..=ROUNDS {
        let started = Instant::now();
        let answers =
            futures::future::join_all((0..users.len()).map(|i| stack.post("/api/v1/alerts/upsert", upsert(i, round))))
                .await;
        let now_ms = chrono::Utc::now().timestamp_millis();
        for (i, r) in answers.iter().enumerate() {
            assert!(r.status == 200 || r.status == 201, "incident {i}, round {round}: {}", r.body);
            last_upsert_ms[i] = now_ms;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1).saturating_sub(started.elapsed())).await;
    }
    let bulk_sent = stack.stats().await["delivered"].as_u64().unwrap_or_default();

    let last = format!("round {ROUNDS}");
    for chat in &chats {
        wait_shown(&stack, *chat, None, &last).await;
    }
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}")).await;
    let calls = calls.as_array().cloned().unwrap_or_default();
    for (i, chat) in chats.iter().enumerate() {
        let shown_at = calls
            .iter()
            .filter(|c| c["params"]["chat_id"] == *chat && c["status"] == 200)
            .find(|c| c["params"]["text"].as_str().is_some_and(|t| t.contains(&last)))
            .and_then(|c| c["at_ms"].as_i64())
            .expect("the call that showed the last state");
        let late = shown_at - last_upsert_ms[i];
        assert!(late <= LATEST_WITHIN_MS, "card {i} showed its last state {late} ms after the last upsert");
    }
    assert!(bulk_sent < 2000, "the backlog was gone before the cards stopped changing; the test proves nothing");
    let records = futures::future::join_all(chats.iter().map(|c| stack.sent_to(*c))).await;
    let edits: usize = records.iter().flatten().filter(|r| r["method"] == "editMessageText").count();
    eprintln!("{edits} edits for {} upserts; {bulk_sent} messages delivered meanwhile", users.len() * ROUNDS);
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
}

/// A quote of `recipients` alert cards (priced as `server_alert_basic`).
async fn card_quote(stack: &TestStack, recipients: u32) -> (String, String) {
    let body = json!({"project_id": PROJECT, "template": "server_alert_basic", "recipients": recipients});
    let quote = stack.post("/api/v1/payments/quote", body).await;
    assert_eq!(quote.status, 200, "{}", quote.body);
    (
        quote.body["payment_code"].as_str().expect("code").to_string(),
        quote.body["amount"].as_str().expect("amount").into(),
    )
}

fn paid_card(integration_id: &str, external_id: &str, summary: &str, tx_hash: &str, code: &str) -> Value {
    let mut body = card(integration_id, external_id, "firing", summary);
    let object = body.as_object_mut().expect("an object");
    object.remove("recipient_ref");
    object.insert("recipient_refs".into(), json!(["oncall:1", "oncall:2"]));
    object.insert("tx_hash".into(), json!(tx_hash));
    object.insert("payer_wallet_id".into(), json!(support::PAYER_WALLET));
    object.insert("payment_code".into(), json!(code));
    body
}

/// The cards of the integration as `GET /alerts` lists them, by alert id: their payment.
async fn listed_payments(stack: &TestStack, integration: &str) -> Vec<(String, Value)> {
    let list = stack.get(&format!("/api/v1/alerts?project_id={PROJECT}&integration_id={integration}")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let cards = list.body["alerts"].as_array().cloned().unwrap_or_default();
    cards.iter().map(|c| (c["alert_id"].as_str().unwrap_or_default().to_string(), c["payment"].clone())).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_card_is_shown_once_its_payment_clears_edits_are_free_and_a_refused_one_is_never_shown() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration_with(PROJECT, None, json!({"payment_mode": "dsr"})).await;
    let chats = [
        stack.connect_user(PROJECT, &integration, "oncall:1").await,
        stack.connect_user(PROJECT, &integration, "oncall:2").await,
    ];
    let (service, payer) = (support::SERVICE_WALLET, support::PAYER_WALLET);

    // A card that opens must be paid for, for every chat it goes to.
    let events_before = stack.stream_last_sequence("EVENTS").await;
    let mut unpaid = card(&integration, "paid-disk", "firing", "v1");
    unpaid.as_object_mut().map(|o| o.remove("recipient_ref"));
    unpaid["recipient_refs"] = json!(["oncall:1", "oncall:2"]);
    let r = stack.post("/api/v1/alerts/upsert", unpaid).await;
    assert_eq!((r.status, &r.body["error"]["field"]), (422, &json!("tx_hash")), "{}", r.body);
    let (one_chat, _) = card_quote(&stack, 1).await;
    let tx = stack.transfer(payer, service, "0.5", &one_chat, "confirmed").await;
    let r = stack.post("/api/v1/alerts/upsert", paid_card(&integration, "paid-disk", "v1", &tx, &one_chat)).await;
    assert_eq!((r.status, &r.body["error"]["field"]), (422, &json!("payment_code")), "{}", r.body);
    assert_eq!(stack.stream_last_sequence("EVENTS").await, events_before, "nothing written");

    // Paid with a transaction the ledger confirms a moment later: the card
    // waits for it, and its first message shows its newest state.
    let (code, amount) = card_quote(&stack, 2).await;
    assert_eq!(amount, "1", "0.5 per chat");
    let pending = stack
        .relay_post(
            "/relay/transfers",
            json!({"from_wallet_id": payer, "to_wallet_id": service, "amount": amount, "memo": code,
                   "confirm_after_ms": 1500}),
        )
        .await;
    let tx = pending["tx_hash"].as_str().expect("tx_hash").to_string();
    let opened = stack.post("/api/v1/alerts/upsert", paid_card(&integration, "paid-disk", "v1", &tx, &code)).await;
    assert_eq!((opened.status, &opened.body["payment"]), (201, &json!("pending")), "{}", opened.body);
    let alert_id = opened.body["alert_id"].as_str().expect("alert_id").to_string();
    let updated = stack.patch(&format!("/api/v1/alerts/{alert_id}"), json!({"summary": "v2"})).await;
    assert_eq!((updated.status, &updated.body["revision"]), (200, &json!(2)), "{}", updated.body);
    let early = stack.post(&format!("/api/v1/alerts/{alert_id}/reply"), json!({"text": "details"})).await;
    assert_eq!((early.status, &early.body["error"]["code"]), (409, &json!("alert_not_paid")), "{}", early.body);
    let mut messages = Vec::new();
    for chat in chats {
        let message_id = wait_shown(&stack, chat, None, "v2").await;
        let records = stack.sent_to(chat).await;
        let shown = of_message(&records, message_id);
        assert_eq!((shown.len(), &shown[0]["method"]), (1, &json!("sendMessage")), "v1 never shown: {shown:?}");
        messages.push(message_id);
    }

    // Updates and upserts of the open card are free: no payment fields needed.
    let upserted = stack.post("/api/v1/alerts/upsert", card(&integration, "paid-disk", "acknowledged", "v3")).await;
    assert_eq!((upserted.status, &upserted.body["payment"]), (200, &json!("paid")), "{}", upserted.body);
    for (chat, message_id) in chats.iter().zip(&messages) {
        wait_shown(&stack, *chat, Some(*message_id), "v3").await;
    }

    // The transaction paid for this card: another card cannot use it.
    let reuse = stack.post("/api/v1/alerts/upsert", paid_card(&integration, "other", "x", &tx, &code)).await;
    assert_eq!((reuse.status, &reuse.body["error"]["code"]), (409, &json!("tx_already_used")), "{}", reuse.body);

    // Too little paid: the card is refused and never shown, and cannot be changed.
    let (short_code, _) = card_quote(&stack, 2).await;
    let short = stack.transfer(payer, service, "0.5", &short_code, "confirmed").await;
    let refused =
        stack.post("/api/v1/alerts/upsert", paid_card(&integration, "paid-cpu", "cpu-v1", &short, &short_code)).await;
    assert_eq!(refused.status, 201, "{}", refused.body);
    let refused_id = refused.body["alert_id"].as_str().expect("alert_id").to_string();
    stack.wait_settled().await;
    let payments = listed_payments(&stack, &integration).await;
    assert_eq!(
        payments,
        vec![(refused_id.clone(), json!("refused")), (alert_id.clone(), json!("paid"))],
        "newest first"
    );
    for chat in chats {
        let records = stack.sent_to(chat).await;
        assert!(!records.iter().any(|r| r["text"].as_str().is_some_and(|t| t.contains("cpu-v1"))), "{records:?}");
    }
    let patch = stack.patch(&format!("/api/v1/alerts/{refused_id}"), json!({"summary": "cpu-v2"})).await;
    assert_eq!((patch.status, &patch.body["error"]["code"]), (409, &json!("alert_payment_refused")), "{}", patch.body);
    // Firing again opens a new card, to be paid for.
    let (code, _) = card_quote(&stack, 2).await;
    let tx = stack.transfer(payer, service, "1", &code, "confirmed").await;
    let again = stack.post("/api/v1/alerts/upsert", paid_card(&integration, "paid-cpu", "cpu-v3", &tx, &code)).await;
    assert_eq!((again.status, &again.body["created"]), (201, &json!(true)), "{}", again.body);
    assert_ne!(again.body["alert_id"], refused_id.as_str());
    for chat in chats {
        wait_shown(&stack, chat, None, "cpu-v3").await;
    }
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]), "limit violations");
}

#[tokio::test(flavor = "multi_thread")]
async fn any_member_of_a_bound_group_may_press_and_each_press_is_on_the_project_feed() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let mut members = Vec::new();
    for name in ["Admin", "Bob"] {
        members.push(stack.sandbox_post("/sandbox/users", json!({"first_name": name})).await["user_id"].clone());
    }
    let members: Vec<i64> = members.iter().filter_map(Value::as_i64).collect();
    let group = stack.connect_group(PROJECT, &integration, "team:ops", &members).await;
    let mut body = card(&integration, "group-db", "firing", "step 1");
    body["recipient_ref"] = json!("team:ops");
    let opened = stack.post("/api/v1/alerts/upsert", body).await;
    assert_eq!(opened.status, 201, "{}", opened.body);
    let alert_id = opened.body["alert_id"].as_str().expect("alert_id").to_string();
    let message_id = wait_shown(&stack, group, None, "step 1").await;

    // Bob never wrote to the bot; being in the group is enough.
    let bob = members[1];
    let query = press_in(&stack, bob, group, message_id, &format!("{alert_id}:1")).await;
    assert_eq!(answer_of(&stack, &query).await["text"], "✓ Resolve: sent");
    let poll_path = format!("/api/v1/alerts/actions/poll?project_id={PROJECT}&integration_id={integration}");
    let polled = stack.get(&format!("{poll_path}&wait_seconds=10")).await;
    let actions = polled.body["actions"].as_array().cloned().unwrap_or_default();
    assert_eq!(actions.len(), 1, "{}", polled.body);
    let pressed_by = actions[0]["pressed_by"].as_str().expect("pressed_by").to_string();
    // Not a connected recipient: an opaque id, never the Telegram id.
    assert!(pressed_by.starts_with("tg_") && !pressed_by.contains(&bob.to_string()), "{pressed_by}");

    // The project's feed has the card and the press, with no content.
    let card_opened = stack.last_on_feed(PROJECT, "incident.card_opened").await;
    assert_eq!(
        (&card_opened["kind"], &card_opened["alert_id"], &card_opened["external_id"], &card_opened["status"]),
        (&json!("alert"), &json!(alert_id), &json!("group-db"), &json!("firing")),
        "{card_opened}"
    );
    assert!(!card_opened.to_string().contains("Disk full"), "no card content on the feed: {card_opened}");
    let pressed = stack.last_on_feed(PROJECT, "incident.action_pressed").await;
    assert_eq!(
        (&pressed["kind"], &pressed["action_id"], &pressed["action"], &pressed["pressed_by"]),
        (&json!("action"), &actions[0]["action_id"], &json!("resolve"), &json!(pressed_by)),
        "{pressed}"
    );
}
