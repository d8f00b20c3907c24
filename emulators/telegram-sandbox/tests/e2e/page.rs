//! What the web page stands on: the page and its assets at `/` beside an
//! untouched Bot API, the overview with unread counts, a conversation with
//! the calls behind its messages, the delivery log, the rate windows, the
//! reset, and the live event stream.

use std::time::Duration;

use serde_json::{json, Value};
use telegram_sandbox::{Limits, SandboxConfig};

use crate::support::{api_error, eventually, spawn_receiver, start, start_with};

#[tokio::test]
async fn the_page_and_its_assets_are_served_beside_an_untouched_bot_api() {
    let env = start().await;
    let page = env.http.get(format!("{}/", env.base)).send().await.expect("page");
    assert_eq!(page.status(), 200);
    let csp = page.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(page.text().await.expect("html").contains(r#"<script type="module" src="/page/app.js">"#));
    for (asset, kind) in [("app.js", "text/javascript"), ("render.js", "text/javascript"), ("app.css", "text/css")] {
        let answer = env.http.get(format!("{}/page/{asset}", env.base)).send().await.expect("asset");
        assert_eq!(answer.status(), 200, "{asset}");
        let content_type = answer.headers()["content-type"].to_str().unwrap_or_default().to_string();
        assert!(content_type.starts_with(kind), "{asset}: {content_type}");
    }
    // Everything else is Telegram's as before.
    let missing = env.http.get(format!("{}/page/nope.js", env.base)).send().await.expect("missing");
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.json::<Value>().await.expect("json"), api_error(404, "Not Found"));
    let posted = env.http.post(format!("{}/", env.base)).send().await.expect("post");
    assert_eq!(posted.status(), 404);
    let (token, _) = env.create_bot("page_bot").await;
    let (status, body) = env.call(&token, "getMe", json!({})).await;
    assert_eq!((status, &body["result"]["username"]), (200, &json!("page_bot")));
}

fn chat_of(overview: &Value, bot: &str, chat_id: i64) -> Value {
    let bots = overview["bots"].as_array().cloned().unwrap_or_default();
    let bot = bots.iter().find(|b| b["username"] == bot).cloned().unwrap_or(Value::Null);
    bot["chats"].as_array().into_iter().flatten().find(|c| c["chat_id"] == chat_id).cloned().unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_overview_counts_unread_bot_messages_until_the_chat_is_read() {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, _) = env.create_bot("unread_bot").await;
    let user = env.create_user("Ann").await;
    env.press_start(user, "unread_bot", None).await;
    for text in ["one", "two"] {
        let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": text})).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, overview) = env.get("/sandbox/overview").await;
    let chat = chat_of(&overview, "unread_bot", user);
    assert_eq!(
        (&chat["title"], &chat["type"], &chat["unread"]),
        (&json!("Ann"), &json!("private"), &json!(2)),
        "{chat}"
    );
    assert_eq!((&chat["last_text"], &chat["started"], &chat["blocked"]), (&json!("two"), &json!(true), &json!(false)));
    assert_eq!(overview["users"][0]["first_name"], "Ann");

    let (status, read) = env.post(&format!("/sandbox/bots/unread_bot/chats/{user}/read"), json!({})).await;
    assert_eq!((status, &read["read_up_to"]), (200, &json!(3)), "the /start and both messages: {read}");
    let (_, overview) = env.get("/sandbox/overview").await;
    assert_eq!(chat_of(&overview, "unread_bot", user)["unread"], 0);
    env.call(&token, "sendMessage", json!({"chat_id": user, "text": "three"})).await;
    let (_, overview) = env.get("/sandbox/overview").await;
    assert_eq!(chat_of(&overview, "unread_bot", user)["unread"], 1);
}

#[tokio::test]
async fn a_conversation_holds_the_calls_behind_each_message_replies_answers_and_violations() {
    // Two messages a second to a chat: the card and its edit pass, a third call does not.
    let limits = Limits { per_chat_per_second: 2, ..Limits::telegram() };
    let env = start_with(SandboxConfig { limits, ..SandboxConfig::default() }).await;
    let (token, _) = env.create_bot("talk_bot").await;
    let user = env.create_user("Ann").await;
    env.press_start(user, "talk_bot", None).await;
    let markup = json!({"inline_keyboard": [[{"text": "Ack", "callback_data": "ack"}]]});
    let (_, sent) =
        env.call(&token, "sendMessage", json!({"chat_id": user, "text": "card", "reply_markup": markup})).await;
    let card = sent["result"]["message_id"].as_i64().expect("message_id");
    let path = format!("/sandbox/users/{user}/messages");
    let (status, _) =
        env.post(&path, json!({"bot_username": "talk_bot", "text": "on it", "reply_to_message_id": card})).await;
    assert_eq!(status, 200);
    let (_, pressed) = env
        .post(
            &format!("/sandbox/users/{user}/callbacks"),
            json!({"bot_username": "talk_bot", "message_id": card, "callback_data": "ack"}),
        )
        .await;
    let query = pressed["callback_query_id"].as_str().expect("query id").to_string();
    let (status, _) =
        env.call(&token, "answerCallbackQuery", json!({"callback_query_id": query, "text": "Done"})).await;
    assert_eq!(status, 200);
    let (status, _) =
        env.call(&token, "editMessageText", json!({"chat_id": user, "message_id": card, "text": "card, acked"})).await;
    assert_eq!(status, 200);
    let (status, refused) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "too soon"})).await;
    assert_eq!(status, 429, "{refused}");

    let (status, conv) = env.get(&format!("/sandbox/bots/talk_bot/chats/{user}")).await;
    assert_eq!(status, 200, "{conv}");
    assert_eq!(conv["chat"], json!({"id": user, "type": "private", "title": "Ann", "username": null}));
    assert_eq!(conv["membership"], json!({"started": true, "blocked": false}));
    let messages = conv["messages"].as_array().cloned().unwrap_or_default();
    let card_entry = messages.iter().find(|m| m["message_id"] == card).expect("the card");
    assert_eq!(card_entry["message"]["text"], "card, acked");
    assert!(card_entry["message"]["edit_date"].is_i64(), "{card_entry}");
    let methods: Vec<&Value> = card_entry["calls"].as_array().into_iter().flatten().map(|c| &c["method"]).collect();
    assert_eq!(methods, [&json!("sendMessage"), &json!("editMessageText")], "{card_entry}");
    assert_eq!(card_entry["calls"][0]["params"]["reply_markup"], markup);
    let reply = messages.iter().find(|m| m["message"]["text"] == "on it").expect("the reply");
    assert_eq!((&reply["from_bot"], &reply["reply_to"]["message_id"]), (&json!(false), &json!(card)), "{reply}");
    assert_eq!(conv["answers"][0]["text"], "Done");
    assert_eq!((&conv["answers"][0]["chat_id"], &conv["answers"][0]["message_id"]), (&json!(user), &json!(card)));
    assert_eq!(conv["failed_calls"].as_array().map(Vec::len), Some(1), "{conv}");
    assert_eq!((&conv["failed_calls"][0]["status"], &conv["violations"][0]["scope"]), (&json!(429), &json!("chat")));

    let (status, missing) = env.get("/sandbox/bots/talk_bot/chats/12345").await;
    assert_eq!(status, 404, "{missing}");
}

#[tokio::test]
async fn the_menu_of_a_chat_is_the_narrowest_command_list_set() {
    let env = start().await;
    let (token, _) = env.create_bot("menu_bot").await;
    let user = env.create_user("Ann").await;
    env.press_start(user, "menu_bot", None).await;
    let all = json!([{"command": "start", "description": "Start"}]);
    let private = json!([{"command": "status", "description": "Status"}]);
    env.call(&token, "setMyCommands", json!({"commands": all})).await;
    let (_, conv) = env.get(&format!("/sandbox/bots/menu_bot/chats/{user}")).await;
    assert_eq!(conv["commands"], all);
    env.call(&token, "setMyCommands", json!({"commands": private, "scope": {"type": "all_private_chats"}})).await;
    let (_, conv) = env.get(&format!("/sandbox/bots/menu_bot/chats/{user}")).await;
    assert_eq!(conv["commands"], private);
}

#[tokio::test]
async fn webhook_deliveries_are_logged_with_status_latency_and_retries() {
    let env = start().await;
    let (token, _) = env.create_bot("hook_log_bot").await;
    let receiver = spawn_receiver(vec![500]);
    let (status, _) = env.call(&token, "setWebhook", json!({"url": receiver.url()})).await;
    assert_eq!(status, 200);
    let user = env.create_user("Ann").await;
    let started = env.press_start(user, "hook_log_bot", None).await;
    let update_id = started["update_id"].as_i64().expect("update_id");
    let log = eventually(|| async {
        let (_, log) = env.get("/sandbox/bots/hook_log_bot/deliveries").await;
        (log.as_array().map(Vec::len) == Some(2)).then_some(log)
    })
    .await;
    assert_eq!(
        (&log[0]["update_id"], &log[0]["ok"], &log[0]["http_status"], &log[0]["attempt"]),
        (&json!(update_id), &json!(false), &json!(500), &json!(1)),
        "{log}"
    );
    assert_eq!(log[0]["error"], "Wrong response from the webhook: 500 Internal Server Error");
    assert_eq!(
        (&log[1]["update_id"], &log[1]["ok"], &log[1]["attempt"], &log[1]["via"], &log[1]["kind"]),
        (&json!(update_id), &json!(true), &json!(2), &json!("webhook"), &json!("message"))
    );
    assert!(log[1]["latency_ms"].is_u64());
    let (_, overview) = env.get("/sandbox/overview").await;
    assert_eq!(overview["bots"][0]["last_delivery_ok"], true);
}

#[tokio::test]
async fn polled_updates_are_logged_once() {
    let env = start().await;
    let (token, _) = env.create_bot("poll_log_bot").await;
    let user = env.create_user("Ann").await;
    env.press_start(user, "poll_log_bot", None).await;
    env.updates(&token).await;
    env.updates(&token).await;
    let (_, log) = env.get("/sandbox/bots/poll_log_bot/deliveries").await;
    assert_eq!(log.as_array().map(Vec::len), Some(1), "handed over twice, logged once: {log}");
    assert_eq!((&log[0]["via"], &log[0]["ok"]), (&json!("getUpdates"), &json!(true)));
}

#[tokio::test]
async fn the_limits_show_the_windows_and_the_penalty_of_a_violation() {
    let env = start().await;
    let (token, _) = env.create_bot("window_bot").await;
    let user = env.create_user("Ann").await;
    env.press_start(user, "window_bot", None).await;
    env.call(&token, "sendMessage", json!({"chat_id": user, "text": "one"})).await;
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "two"})).await;
    assert_eq!(status, 429);
    let (_, limits) = env.get("/sandbox/bots/window_bot/limits").await;
    assert_eq!((&limits["per_chat_per_second"], &limits["unlimited"]), (&json!(1), &json!(false)), "{limits}");
    let windows = limits["windows"].as_array().cloned().unwrap_or_default();
    assert_eq!((&windows[0]["scope"], &windows[0]["used"], &windows[0]["cap"]), (&json!("bot"), &json!(1), &json!(30)));
    assert_eq!((&windows[1]["chat_id"], &windows[1]["used"], &windows[1]["cap"]), (&json!(user), &json!(1), &json!(1)));
    assert!(windows[1]["penalty_ms"].as_u64().is_some_and(|ms| ms > 0 && ms <= 1000), "{limits}");
    assert_eq!(limits["violations"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_reset_forgets_everything_but_the_bots() {
    let env = start().await;
    let (token, _) = env.create_bot("reset_bot").await;
    let receiver = spawn_receiver(vec![]);
    env.call(&token, "setWebhook", json!({"url": receiver.url()})).await;
    let user = env.create_user("Ann").await;
    env.press_start(user, "reset_bot", None).await;
    let group = env.create_group("Ops", "group", &[user]).await;
    env.add_bot_to_group(group, "reset_bot", None).await;
    env.call(&token, "sendMessage", json!({"chat_id": user, "text": "hi"})).await;

    let (status, _) = env.post("/sandbox/reset", json!({})).await;
    assert_eq!(status, 200);
    let (_, overview) = env.get("/sandbox/overview").await;
    assert_eq!((&overview["users"], &overview["groups"]), (&json!([]), &json!([])), "{overview}");
    assert_eq!(overview["bots"][0]["chats"], json!([]));
    assert_eq!(overview["bots"][0]["webhook"]["url"], receiver.url(), "the webhook stays");
    let (_, calls) = env.get("/sandbox/calls").await;
    assert_eq!(calls, json!([]));
    let (status, _) = env.call(&token, "getMe", json!({})).await;
    assert_eq!(status, 200, "the token still works");
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "hi"})).await;
    assert_eq!(status, 400, "the user is gone");
}

/// The next server-sent event of a stream: (event name, data).
async fn next_event(response: &mut reqwest::Response, buffer: &mut String) -> (String, Value) {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event:") {
                    name = value.trim().to_string();
                } else if let Some(value) = line.strip_prefix("data:") {
                    data.push_str(value.trim());
                }
            }
            if name.is_empty() {
                continue; // a keep-alive comment
            }
            return (name, serde_json::from_str(&data).unwrap_or(Value::Null));
        }
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("an event in time")
            .expect("stream")
            .expect("the stream ended");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn the_event_stream_announces_actions_bot_calls_and_deliveries() {
    let env =
        start_with(SandboxConfig { webhook_retry_base: Duration::from_millis(50), ..SandboxConfig::default() }).await;
    let (token, _) = env.create_bot("live_bot").await;
    let mut stream = env.http.get(format!("{}/sandbox/events", env.base)).send().await.expect("events");
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut buffer = String::new();
    assert_eq!(next_event(&mut stream, &mut buffer).await.0, "ready");

    let user = env.create_user("Ann").await;
    let (name, data) = next_event(&mut stream, &mut buffer).await;
    assert_eq!((name.as_str(), &data["type"], &data["path"]), ("change", &json!("control"), &json!("/sandbox/users")));
    env.press_start(user, "live_bot", None).await;
    next_event(&mut stream, &mut buffer).await;
    env.call(&token, "sendMessage", json!({"chat_id": user, "text": "hi"})).await;
    let (_, data) = next_event(&mut stream, &mut buffer).await;
    assert_eq!((&data["type"], &data["method"], &data["status"]), (&json!("call"), &json!("sendMessage"), &json!(200)));
    // Reads are not news.
    env.call(&token, "getMe", json!({})).await;
    let receiver = spawn_receiver(vec![]);
    env.call(&token, "setWebhook", json!({"url": receiver.url()})).await;
    // The call's notice and the delivery's race: either may come first.
    let mut notices = [next_event(&mut stream, &mut buffer).await.1, next_event(&mut stream, &mut buffer).await.1];
    notices.sort_by_key(|n| n["type"].as_str().map(String::from));
    assert_eq!(
        (&notices[0]["type"], &notices[0]["method"]),
        (&json!("call"), &json!("setWebhook")),
        "getMe told nobody"
    );
    assert_eq!((&notices[1]["type"], &notices[1]["bot"]), (&json!("delivery"), &json!("live_bot")));
}
