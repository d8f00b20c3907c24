//! The API over NATS: the micro service `novij-telegram` serves every REST
//! operation, and a project follows its feed, without HTTP on its side.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures::StreamExt;
use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, WAIT};

const PROJECT: &str = "p.nats";

/// A stack where `PROJECT` has an API key, and so a NATS user of its own.
async fn project_stack() -> TestStack {
    TestStack::start_with(Layout::Separate, &[("PROJECT_API_KEYS", "p.nats:nats-project-key-0123456789")]).await
}

/// A NATS API answer: `Novij-Status`, the error headers, the JSON body.
struct Answer {
    status: u16,
    error: Option<(String, String)>,
    body: Value,
}

async fn call(nats: &async_nats::Client, key: Option<&str>, subject: &str, body: Option<Value>) -> Answer {
    let mut headers = async_nats::HeaderMap::new();
    if let Some(key) = key {
        headers.insert("Authorization", format!("Bearer {key}").as_str());
    }
    let payload = body.map(|b| serde_json::to_vec(&b).expect("json")).unwrap_or_default();
    let reply = tokio::time::timeout(WAIT, nats.request_with_headers(subject.to_string(), headers, payload.into()))
        .await
        .expect("answered in time")
        .expect("request");
    let header = |name: &str| reply.headers.as_ref().and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
    Answer {
        status: header("Novij-Status").and_then(|s| s.parse().ok()).expect("Novij-Status"),
        error: header("Nats-Service-Error").zip(header("Nats-Service-Error-Code")),
        body: serde_json::from_slice(&reply.payload).expect("JSON body"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn srv_info_lists_an_endpoint_for_every_rest_operation() {
    let stack = project_stack().await;
    let nats = stack.nats_as(&novij_bus::auth::project_user(PROJECT)).await;

    let openapi = reqwest::get(format!("{}/openapi.json", stack.api)).await.expect("get").json::<Value>().await;
    let openapi = openapi.expect("openapi json");
    let mut rest = BTreeSet::new();
    for (path, item) in openapi["paths"].as_object().expect("paths") {
        // Telegram's webhook intake is not a project operation, an upload
        // is a streamed file no NATS message could carry, and the
        // well-known URLs are read by the registry: HTTP only.
        if path.starts_with("/api/v1/telegram/webhook/")
            || path == "/api/v1/uploads"
            || path.starts_with("/.well-known/")
        {
            continue;
        }
        for method in item.as_object().expect("path item").keys() {
            // OpenAPI names the parameter; the NATS metadata says `{id}`.
            let path = path.split('/').map(|s| if s.starts_with('{') { "{id}" } else { s }).collect::<Vec<_>>();
            rest.insert((method.to_uppercase(), path.join("/")));
        }
    }
    assert!(rest.len() >= 16, "{rest:?}");

    let info = nats.request("$SRV.INFO.novij-telegram", "".into()).await.expect("$SRV.INFO");
    let info: Value = serde_json::from_slice(&info.payload).expect("info json");
    assert_eq!(info["name"], "novij-telegram", "{info}");
    let endpoints = info["endpoints"].as_array().expect("endpoints");
    let served: BTreeSet<(String, String)> = endpoints
        .iter()
        .map(|e| {
            let meta = &e["metadata"];
            assert!(e["subject"].as_str().is_some_and(|s| s.starts_with("nt.api.v1.")), "{e}");
            (meta["method"].as_str().expect("method").to_string(), meta["path"].as_str().expect("path").to_string())
        })
        .collect();
    assert_eq!(served, rest, "NATS endpoints and REST operations differ");

    let ping = nats.request("$SRV.PING.novij-telegram", "".into()).await.expect("$SRV.PING");
    let ping: Value = serde_json::from_slice(&ping.payload).expect("ping json");
    assert_eq!(ping["name"], "novij-telegram");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_walkthrough_over_nats_with_the_feed() {
    let stack = project_stack().await;
    let nats = stack.nats_as(&novij_bus::auth::project_user(PROJECT)).await;
    let key = Some(stack.admin_key.as_str());

    // The project follows its feed from the start.
    let js = async_nats::jetstream::new(nats.clone());
    let feed_config = pull::Config {
        durable_name: Some(novij_bus::auth::project_feed_consumer(PROJECT)),
        filter_subject: novij_events::feed::project_subjects(PROJECT),
        deliver_policy: DeliverPolicy::All,
        ..Default::default()
    };
    let mut feed =
        js.create_consumer_on_stream(feed_config, "FEED").await.expect("consumer").messages().await.expect("messages");

    // Refusals carry the REST error body and the service error headers.
    let r = call(&nats, None, "nt.api.v1.integrations.create", Some(json!({}))).await;
    assert_eq!((r.status, r.error.clone().map(|e| e.1)), (401, Some("401".to_string())), "{}", r.body);
    let r = call(&nats, key, "nt.api.v1.integrations.create", Some(json!({"project_id": PROJECT}))).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error.as_ref().map(|e| e.0.as_str()), Some(r.body["error"]["code"].as_str().expect("code")));
    assert!(r.body["error"]["field"].is_string(), "{}", r.body);

    // 1. The integration.
    let body = json!({
        "project_id": PROJECT, "owner_wallet_id": "W1", "bot_mode": "common", "payment_mode": "none",
        "default_reminder_minutes": 30,
    });
    let r = call(&nats, key, "nt.api.v1.integrations.create", Some(body)).await;
    assert_eq!((r.status, r.error.is_none()), (201, true), "{}", r.body);
    let integration = r.body["integration_id"].as_str().expect("integration_id").to_string();
    let r = call(&nats, key, &format!("nt.api.v1.integrations.get.{integration}"), None).await;
    assert_eq!((r.status, r.body["project_id"].as_str()), (200, Some(PROJECT)), "{}", r.body);

    // 2. A connect code; 3. the user presses Start (Telegram's webhook, as in life).
    let body = json!({"project_id": PROJECT, "integration_id": integration, "public_user_ref": "user:42"});
    let r = call(&nats, key, "nt.api.v1.connect_codes.create", Some(body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let code = r.body["code"].as_str().expect("code").to_string();
    let user = stack.sandbox_post("/sandbox/users", json!({"first_name": "Ann"})).await;
    let user_id = user["user_id"].as_i64().expect("user_id");
    stack
        .sandbox_post(&format!("/sandbox/users/{user_id}/start"), json!({"bot_username": COMMON_BOT, "payload": code}))
        .await;
    let recipients = format!("nt.api.v1.integrations.recipients.{integration}");
    eventually(WAIT, || async {
        let r = call(&nats, key, &recipients, None).await;
        r.body.as_array()?.iter().any(|x| x["public_user_ref"] == "user:42" && x["status"] == "active").then_some(())
    })
    .await
    .expect("the user is bound");

    // 4. The send; 5. its status.
    let body = json!({
        "project_id": PROJECT, "integration_id": integration, "recipient_ref": "user:42",
        "template": "text_message", "template_vars": {"text": "Hello over NATS"}, "idempotency_key": "nats-1",
    });
    let r = call(&nats, key, "nt.api.v1.sends.create", Some(body.clone())).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let send_id = r.body["send_id"].as_str().expect("send_id").to_string();
    let again = call(&nats, key, "nt.api.v1.sends.create", Some(body)).await;
    assert_eq!((again.status, again.body["send_id"].as_str()), (202, Some(send_id.as_str())), "idempotent");
    let get = format!("nt.api.v1.sends.get.{send_id}");
    let sent = eventually(WAIT, || async {
        let r = call(&nats, key, &get, None).await;
        (r.body["status"] == "sent").then_some(r.body)
    })
    .await
    .expect("sent");
    assert!(sent["telegram_message_id"].is_i64(), "{sent}");
    let delivered = stack.sent(COMMON_BOT).await;
    assert_eq!(delivered.iter().filter(|m| m["text"] == "Hello over NATS").count(), 1, "{delivered:?}");

    // The feed told the same story, in order, with no sealed field in it.
    let mut seen = Vec::new();
    while !seen.iter().any(|(t, id): &(String, String)| t == "send.sent" && id == &send_id) {
        let next = tokio::time::timeout(Duration::from_secs(10), feed.next()).await;
        let msg = next.expect("the feed went quiet").expect("feed ended").expect("feed message");
        let text = String::from_utf8_lossy(&msg.payload).to_string();
        for secret in ["Hello over NATS", &user_id.to_string(), &stack.common_token] {
            assert!(!text.contains(secret), "the feed leaks {secret}: {text}");
        }
        let event: Value = serde_json::from_str(&text).expect("feed json");
        assert_eq!(event["project_id"], PROJECT, "{event}");
        assert!(msg.subject.starts_with("nt.feed.p%2Enats."), "{}", msg.subject);
        let id = event["send_id"].as_str().or(event["recipient_id"].as_str()).unwrap_or_default().to_string();
        seen.push((event["event_type"].as_str().expect("event_type").to_string(), id));
        msg.ack().await.expect("ack");
    }
    let types: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
    let of_send: Vec<&str> = seen.iter().filter(|(_, id)| id == &send_id).map(|(t, _)| t.as_str()).collect();
    assert!(types.contains(&"recipient.bound"), "{types:?}");
    assert_eq!(of_send, ["send.accepted", "send.queued", "send.sent"], "{seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_executor_takes_and_answers_commands_over_nats_only() {
    let stack = project_stack().await;
    let nats = stack.nats_as(&novij_bus::auth::project_user(PROJECT)).await;
    let key = Some(stack.admin_key.as_str());
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "nats_exec_bot"})).await;
    let integration = stack.create_integration(PROJECT, bot["token"].as_str()).await;
    let manifest = json!({"commands": [{"name": "uptime", "description": "Uptime", "executor_key": "sre"}]});
    let set = call(&nats, key, &format!("nt.api.v1.commands.manifest.set.{integration}"), Some(manifest)).await;
    assert_eq!((set.status, &set.body["version"]), (200, &json!(1)), "{}", set.body);
    let chat = stack.connect_user(PROJECT, &integration, "user:9").await;
    // The executor takes its requests from its work-queue subject, in a queue group.
    let queue = novij_events::subjects::command_queue(PROJECT, &integration, "sre");
    let mut requests = nats.queue_subscribe(queue, "sre".into()).await.expect("subscribe");
    nats.flush().await.expect("flush");
    let written = stack
        .sandbox_post(
            &format!("/sandbox/users/{chat}/messages"),
            json!({"bot_username": "nats_exec_bot", "text": "/uptime api"}),
        )
        .await;
    let message_id = written["message_id"].as_i64().expect("message_id");
    let request = tokio::time::timeout(WAIT, requests.next()).await.expect("a request in time").expect("subscribed");
    let command: Value = serde_json::from_slice(&request.payload).expect("json");
    assert_eq!(
        (&command["name"], &command["args"], &command["from"]),
        (&json!("uptime"), &json!(["api"]), &json!("user:9")),
        "{command}"
    );
    let command_id = command["command_id"].as_str().expect("command_id").to_string();
    // The same request is in the poll until taken (a long poll over NATS: the query as a JSON object).
    let query =
        json!({"project_id": PROJECT, "integration_id": integration, "executor_key": "sre", "wait_seconds": 10});
    let polled = call(&nats, key, "nt.api.v1.commands.poll", Some(query)).await;
    assert_eq!(polled.body["commands"][0]["command_id"], command_id.as_str(), "{}", polled.body);
    let ack = json!({"project_id": PROJECT, "integration_id": integration, "executor_key": "sre", "command_ids": [command_id]});
    let acked = call(&nats, key, "nt.api.v1.commands.ack", Some(ack)).await;
    assert_eq!(acked.body["acked"], json!([command_id]), "{}", acked.body);
    let at_once = json!({"project_id": PROJECT, "integration_id": integration, "executor_key": "sre"});
    let polled = call(&nats, key, "nt.api.v1.commands.poll", Some(at_once)).await;
    assert_eq!(polled.body["commands"], json!([]), "taken: {}", polled.body);
    let reply =
        call(&nats, key, &format!("nt.api.v1.commands.reply.{command_id}"), Some(json!({"text": "up 41 days"}))).await;
    assert_eq!((reply.status, &reply.body["final"]), (202, &json!(true)), "{}", reply.body);

    let answered = eventually(WAIT, || async {
        let calls = stack.sandbox_get("/sandbox/calls?bot_username=nats_exec_bot&method=sendMessage").await;
        calls.as_array()?.iter().find(|c| c["params"]["text"] == "up 41 days" && c["status"] == 200).cloned()
    })
    .await
    .expect("the result reached the chat");
    assert_eq!(answered["params"]["reply_parameters"]["message_id"], message_id, "{answered}");
}
