//! The README walkthrough end to end, with the services as separate processes:
//! create an integration, connect a user through the sandbox, send a
//! `text_message`, read it as sent. Canary values for the bot token, chat id,
//! text, card, command and file (its bytes, name, caption, URL and file_id)
//! must then appear nowhere in the services' logs or the raw bytes of the
//! JetStream store.

mod support;

use serde_json::json;
use support::{contains, raw_bytes, Layout, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn walkthrough_delivers_exactly_one_message_and_leaks_nothing() {
    let mut stack = TestStack::start(Layout::Separate).await;
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "canary_shop_bot"})).await;
    let token = bot["token"].as_str().expect("token").to_string();
    let integration = stack.create_integration("project_123", Some(&token)).await;
    let view = stack.get(&format!("/api/v1/integrations/{integration}")).await;
    assert_eq!(view.body["bot_username"], "canary_shop_bot");
    assert!(!view.body.to_string().contains(&token), "the API returned the token");

    let chat_id = stack.connect_user("project_123", &integration, "user:42").await;
    let text = format!("canary text {} <i>escaped</i> & more", uuid::Uuid::new_v4().simple());
    let accepted =
        stack.send_text("project_123", &integration, "user:42", &text, "project_123:user_42:hello_001").await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let send_id = accepted.body["send_id"].as_str().expect("send_id").to_string();

    let sent = stack.wait_send(&send_id, "sent").await;
    let statuses: Vec<&str> =
        sent["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["accepted", "queued", "sent"]);
    let message_id = sent["telegram_message_id"].as_i64().expect("telegram_message_id");

    // Exactly one sendMessage carried the text, to the right chat; the only
    // other message is the connect welcome.
    let messages = stack.sent("canary_shop_bot").await;
    let ours: Vec<_> = messages.iter().filter(|m| m["text"].as_str() == Some(text.as_str())).collect();
    assert_eq!(ours.len(), 1, "messages: {messages:?}");
    assert_eq!(ours[0]["chat_id"], chat_id);
    assert_eq!(ours[0]["message_id"], message_id);
    assert_eq!(ours[0]["parse_mode"], "HTML");
    assert_eq!(messages.len(), 2, "expected the welcome and the message: {messages:?}");
    // A 429 (welcome and message within Telegram's one-per-second chat limit)
    // is retried after retry_after; only accepted calls deliver.
    let calls = stack.sandbox_get("/sandbox/calls?bot_username=canary_shop_bot&method=sendMessage").await;
    let delivered = calls.as_array().unwrap().iter().filter(|c| c["status"] == 200).count();
    assert_eq!(delivered, 2, "sendMessage calls: {calls}");

    // An alert card and a reply under it: their words are message text too.
    let canary = |what: &str| format!("canary {what} {}", uuid::Uuid::new_v4().simple());
    let (title, summary, field, reply) = (canary("title"), canary("summary"), canary("field"), canary("reply"));
    let upsert = stack
        .post(
            "/api/v1/alerts/upsert",
            json!({"project_id": "project_123", "integration_id": integration, "recipient_ref": "user:42",
                   "external_id": "incident-1", "title": title, "severity": "critical", "status": "firing",
                   "summary": summary, "fields": [{"name": "Host", "value": field}],
                   "actions": [{"id": "ack", "label": "Ack"}]}),
        )
        .await;
    assert_eq!(upsert.status, 201, "{}", upsert.body);
    let alert_id = upsert.body["alert_id"].as_str().expect("alert_id").to_string();
    let shown = novij_testkit::eventually(support::WAIT, || async {
        let messages = stack.sent("canary_shop_bot").await;
        messages.iter().any(|m| m["text"].as_str().is_some_and(|t| t.contains(&title))).then_some(())
    });
    assert!(shown.await.is_ok(), "the card never came");
    let replied = stack.post(&format!("/api/v1/alerts/{alert_id}/reply"), json!({"text": reply})).await;
    assert_eq!(replied.status, 202, "{}", replied.body);
    let reply_id = replied.body["send_ids"][0].as_str().expect("a reply send").to_string();
    stack.wait_send(&reply_id, "sent").await;

    // A command: its arguments and its result are personal data too.
    let (args, result) = (canary("args"), canary("result"));
    let manifest = json!({"commands": [{"name": "deploy", "description": "Deploy", "executor_key": "ci"}]});
    let set = stack.post(&format!("/api/v1/integrations/{integration}/commands/manifest"), manifest).await;
    assert_eq!(set.status, 200, "{}", set.body);
    stack
        .sandbox_post(
            &format!("/sandbox/users/{chat_id}/messages"),
            json!({"bot_username": "canary_shop_bot", "text": format!("/deploy {args}")}),
        )
        .await;
    let poll = format!(
        "/api/v1/commands/poll?project_id=project_123&integration_id={integration}&executor_key=ci&wait_seconds=10"
    );
    let polled = stack.get(&poll).await;
    assert_eq!(polled.body["commands"][0]["args_text"], args.as_str(), "{}", polled.body);
    let command_id = polled.body["commands"][0]["command_id"].as_str().expect("command_id").to_string();
    let answered = stack.post(&format!("/api/v1/commands/{command_id}/reply"), json!({"text": result})).await;
    assert_eq!(answered.status, 202, "{}", answered.body);
    stack.wait_send(answered.body["send_id"].as_str().expect("send_id"), "sent").await;

    // A file: its bytes, its name, its caption, a URL and the file_id Telegram gives it.
    let (contents, caption, url) = (canary("file contents"), canary("caption"), canary("url").replace(' ', "-"));
    let file_name = format!("{}.pdf", canary("file-name").replace(' ', "-"));
    let uploaded = stack.upload("project_123", contents.repeat(100).into_bytes(), &file_name, "application/pdf").await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let document = json!({"project_id": "project_123", "integration_id": integration, "recipient_ref": "user:42",
        "template": "text_message", "template_vars": {"text": caption}, "idempotency_key": "file-1",
        "media_group": [{"type": "document", "upload_id": uploaded.body["upload_id"]},
                        {"type": "document", "url": format!("https://files.example.org/{url}.pdf")}]});
    let accepted = stack.post("/api/v1/send", document).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    stack.wait_send(accepted.body["send_id"].as_str().expect("send_id"), "sent").await;
    let messages = stack.sent("canary_shop_bot").await;
    let file_id = messages.iter().find(|m| m["source"] == "upload").and_then(|m| m["file_id"].as_str());
    let file_id = file_id.expect("the uploaded document was sent").to_string();
    stack.wait_idle().await;

    for process in stack.services.values_mut() {
        process.kill().await;
    }
    let logs = stack.output();
    assert!(logs.contains("message sent"), "logs are empty or unexpected:\n{logs}");
    let store = raw_bytes(stack.nats.server().store_dir());
    assert!(contains(&store, &integration), "the store dump does not hold the log");
    let canaries = [
        ("bot token", token.clone()),
        ("chat id", chat_id.to_string()),
        ("message text", text.clone()),
        ("card title", title),
        ("card summary", summary),
        ("card field", field),
        ("card reply", reply),
        ("command arguments", args),
        ("command result", result),
        ("file contents", contents),
        ("file name", file_name),
        ("caption", caption),
        ("media URL", url),
        ("file_id", file_id),
    ];
    for (what, canary) in &canaries {
        assert!(!logs.contains(canary.as_str()), "{what} leaked into the logs");
        assert!(!contains(&store, canary), "{what} is in plaintext in the JetStream store");
    }
    let escaped_text = text.replace('<', "&lt;").replace('>', "&gt;").replace('&', "&amp;");
    assert!(!contains(&store, &escaped_text) && !logs.contains(&escaped_text), "rendered text leaked");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callers_traceparent_is_carried_through_every_event_of_the_send() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p1", None).await;
    stack.connect_user("p1", &integration, "user:1").await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/send", stack.api))
        .bearer_auth(&stack.admin_key)
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({
            "project_id": "p1", "integration_id": integration, "recipient_ref": "user:1",
            "template": "text_message", "template_vars": {"text": "traced"}, "idempotency_key": "t-1"
        }))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 202);
    let send_id = resp.json::<serde_json::Value>().await.unwrap()["send_id"].as_str().unwrap().to_string();
    stack.wait_send(&send_id, "sent").await;

    let events = stack.jetstream().await.get_stream("EVENTS").await.expect("EVENTS");
    for event in ["accepted", "queued", "sent"] {
        let msg = events.direct_get_last_for_subject(format!("nt.ev.send.{send_id}.{event}")).await.expect(event);
        let envelope: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
        let traceparent = envelope["trace"]["traceparent"].as_str().unwrap_or_default();
        assert!(traceparent.starts_with(&format!("00-{trace_id}-")), "send.{event} carries {traceparent:?}");
    }
}
