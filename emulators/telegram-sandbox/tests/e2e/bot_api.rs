//! Bot API behaviour: auth, getMe, sendMessage validation, parse modes,
//! editing and callback queries.

use std::time::Duration;

use serde_json::{json, Value};
use telegram_sandbox::{BotSeed, Limits, SandboxConfig};

use crate::support::{api_error, start, start_with, Env};

const SEED_TOKEN: &str = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1";

#[tokio::test]
async fn unknown_or_malformed_tokens_are_unauthorized_and_unknown_paths_not_found() {
    let env = start().await;
    let (token, _) = env.create_bot("auth_test_bot").await;
    let unauthorized = api_error(401, "Unauthorized");

    let (status, body) = env.call("987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1", "getMe", json!({})).await;
    assert_eq!((status, body), (401, unauthorized.clone()));
    let (status, body) = env.call("not-a-token", "getMe", json!({})).await;
    assert_eq!((status, body), (401, unauthorized.clone()));
    // Right id, wrong secret.
    let wrong_secret = format!("{}x", &token[..token.len() - 1]);
    let wrong_secret = if wrong_secret == token { format!("{}y", &token[..token.len() - 1]) } else { wrong_secret };
    let (status, body) = env.call(&wrong_secret, "getMe", json!({})).await;
    assert_eq!((status, body), (401, unauthorized));

    let (status, body) = env.call(&token, "noSuchMethod", json!({})).await;
    assert_eq!((status, body), (404, api_error(404, "Not Found")));
    let (status, body) = env.get("/definitely/not/telegram").await;
    assert_eq!((status, body), (404, api_error(404, "Not Found")));
}

#[tokio::test]
async fn get_me_returns_the_bot_user_and_method_names_are_case_insensitive() {
    let env = start_with(SandboxConfig {
        bots: vec![BotSeed { token: SEED_TOKEN.into(), username: "seeded_bot".into(), first_name: "Seeded".into() }],
        ..SandboxConfig::default()
    })
    .await;
    let expected = json!({
        "ok": true,
        "result": {
            "id": 123456789,
            "is_bot": true,
            "first_name": "Seeded",
            "username": "seeded_bot",
            "can_join_groups": true,
            "can_read_all_group_messages": false,
            "supports_inline_queries": false,
            "can_connect_to_business": false,
            "has_main_web_app": false
        }
    });
    let (status, body) = env.call(SEED_TOKEN, "getMe", json!({})).await;
    assert_eq!((status, body), (200, expected.clone()));
    let (status, body) = env.get(&format!("/bot{SEED_TOKEN}/GETME")).await;
    assert_eq!((status, body), (200, expected));
}

#[tokio::test]
async fn send_message_happy_path_is_recorded() {
    let env = start().await;
    let (token, bot_id) = env.create_bot("happy_path_bot").await;
    let user = env.create_user("Alice").await;
    env.press_start(user, "happy_path_bot", Some("ref-42")).await;

    let markup = json!({"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]});
    let (status, body) = env
        .call(
            &token,
            "sendMessage",
            json!({
                "chat_id": user,
                "text": "<b>Hello</b> &amp; welcome",
                "parse_mode": "HTML",
                "reply_markup": markup.to_string(),
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let result = &body["result"];
    let date = result["date"].as_i64().expect("date");
    assert_eq!(
        body,
        json!({
            "ok": true,
            "result": {
                "message_id": 2,
                "from": {"id": bot_id, "is_bot": true, "first_name": "Test Bot", "username": "happy_path_bot"},
                "chat": {"id": user, "first_name": "Alice", "type": "private"},
                "date": date,
                "text": "Hello & welcome",
                "entities": [{"type": "bold", "offset": 0, "length": 5}],
                "reply_markup": markup,
            }
        })
    );

    let (status, sent) = env.get(&format!("/sandbox/bots/happy_path_bot/sent?chat_id={user}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        sent,
        json!([{
            "message_id": 2,
            "chat_id": user,
            "kind": "text",
            "text": "Hello & welcome",
            "raw_text": "<b>Hello</b> &amp; welcome",
            "parse_mode": "HTML",
            "entities": [{"type": "bold", "offset": 0, "length": 5}],
            "reply_markup": markup,
            "date": date,
            "method": "sendMessage",
        }])
    );

    // The /start message came first, as a bot_command.
    let updates = env.updates(&token).await;
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["message"]["text"], "/start ref-42");
    assert_eq!(updates[0]["message"]["entities"], json!([{"type": "bot_command", "offset": 0, "length": 6}]));

    // Form-encoded bodies are parsed too (a parse failure would be a 400);
    // this one is refused only by the per-chat limit.
    let response = env
        .http
        .post(format!("{}/bot{token}/sendMessage", env.base))
        .form(&[
            ("chat_id", user.to_string()),
            ("text", "plain reply".to_string()),
            ("reply_parameters", json!({"message_id": 1}).to_string()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 429, "one message per chat per second");
}

#[tokio::test]
async fn send_message_validation_uses_telegram_descriptions() {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, _) = env.create_bot("validation_bot").await;
    let stranger = env.create_user("Stranger").await;
    let friend = env.create_user("Friend").await;
    env.press_start(friend, "validation_bot", None).await;

    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"text": "hi"}), 400, "Bad Request: chat_id is empty"),
        (json!({"chat_id": friend}), 400, "Bad Request: message text is empty"),
        (json!({"chat_id": friend, "text": ""}), 400, "Bad Request: message text is empty"),
        (json!({"chat_id": 42, "text": "hi"}), 400, "Bad Request: chat not found"),
        (json!({"chat_id": "@nobody", "text": "hi"}), 400, "Bad Request: chat not found"),
        (json!({"chat_id": stranger, "text": "hi"}), 403, "Forbidden: bot can't initiate conversation with a user"),
        (json!({"chat_id": friend, "text": "hi", "parse_mode": "BBCode"}), 400, "Bad Request: unsupported parse_mode"),
        (
            json!({"chat_id": friend, "text": "<foo>x</foo>", "parse_mode": "HTML"}),
            400,
            "Bad Request: can't parse entities: Unsupported start tag \"foo\" at byte offset 0",
        ),
        (
            json!({"chat_id": friend, "text": "<b>bold", "parse_mode": "HTML"}),
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
        ),
        (
            json!({"chat_id": friend, "text": "1 < 2", "parse_mode": "HTML"}),
            400,
            "Bad Request: can't parse entities: Unsupported start tag \"\" at byte offset 2",
        ),
        (
            json!({"chat_id": friend, "text": "Done.", "parse_mode": "MarkdownV2"}),
            400,
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
        ),
        (
            json!({"chat_id": friend, "text": "<b></b>", "parse_mode": "HTML"}),
            400,
            "Bad Request: message text is empty",
        ),
        (json!({"chat_id": friend, "text": "x".repeat(4097)}), 400, "Bad Request: message is too long"),
        (
            json!({"chat_id": friend, "text": "hi", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "x".repeat(65)}]]}}),
            400,
            "Bad Request: BUTTON_DATA_INVALID",
        ),
        (
            json!({"chat_id": friend, "text": "hi", "reply_markup": "{not json"}),
            400,
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            json!({"chat_id": friend, "text": "hi", "reply_parameters": {"message_id": 999}}),
            400,
            "Bad Request: message to be replied not found",
        ),
    ];
    for (params, code, description) in cases {
        let (status, body) = env.call(&token, "sendMessage", params.clone()).await;
        assert_eq!((status, body), (code, api_error(code, description)), "params: {params}");
    }

    // Exactly 4096 UTF-16 units after entity parsing is fine, even if the raw text is longer.
    let (status, body) = env
        .call(
            &token,
            "sendMessage",
            json!({"chat_id": friend, "text": format!("<i>{}</i>", "&lt;".repeat(4096)), "parse_mode": "html"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"].as_str().map(|t| t.len()), Some(4096));
    // Emoji count as two UTF-16 units.
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": friend, "text": "😀".repeat(2049)})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: message is too long")));

    // Nothing that failed was recorded as sent.
    let (_, sent) = env.get("/sandbox/bots/validation_bot/sent").await;
    assert_eq!(sent.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn blocked_bot_gets_403_and_my_chat_member_updates() {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, bot_id) = env.create_bot("blocked_bot").await;
    let user = env.create_user("Bob").await;
    env.press_start(user, "blocked_bot", None).await;
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "hi"})).await;
    assert_eq!(status, 200);

    let (status, body) =
        env.post(&format!("/sandbox/users/{user}/block"), json!({"bot_username": "blocked_bot"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "are you there?"})).await;
    assert_eq!((status, body), (403, api_error(403, "Forbidden: bot was blocked by the user")));

    let updates = env.updates(&token).await;
    let member = updates.iter().find_map(|u| u.get("my_chat_member")).expect("my_chat_member update");
    assert_eq!(member["chat"], json!({"id": user, "first_name": "Bob", "type": "private"}));
    assert_eq!(member["from"], json!({"id": user, "is_bot": false, "first_name": "Bob"}));
    assert_eq!(
        member["old_chat_member"],
        json!({"status": "member", "user": {"id": bot_id, "is_bot": true, "first_name": "Test Bot", "username": "blocked_bot"}})
    );
    assert_eq!(
        member["new_chat_member"],
        json!({"status": "kicked", "until_date": 0, "user": {"id": bot_id, "is_bot": true, "first_name": "Test Bot", "username": "blocked_bot"}})
    );

    // Pressing Start again unblocks: my_chat_member back to member, then /start.
    let started = env.press_start(user, "blocked_bot", None).await;
    assert!(started["my_chat_member_update_id"].is_i64());
    let updates = env.updates(&token).await;
    let tail: Vec<&Value> = updates.iter().rev().take(2).collect();
    assert_eq!(tail[0]["message"]["text"], "/start");
    assert_eq!(tail[1]["my_chat_member"]["new_chat_member"]["status"], "member");
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "welcome back"})).await;
    assert_eq!(status, 200);

    // A block whose update the bot never gets: it finds out from the next call.
    let silent = json!({"bot_username": "blocked_bot", "notify_bot": false});
    let (status, body) = env.post(&format!("/sandbox/users/{user}/block"), silent).await;
    assert_eq!((status, &body["update_id"]), (200, &Value::Null), "{body}");
    let count = env.updates(&token).await.len();
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": user, "text": "still there?"})).await;
    assert_eq!((status, env.updates(&token).await.len()), (403, count), "no my_chat_member update");
}

#[tokio::test]
async fn edit_message_text_and_callback_queries() {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, _) = env.create_bot("buttons_bot").await;
    let user = env.create_user("Carol").await;
    env.press_start(user, "buttons_bot", None).await;
    let keyboard = json!({"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]});
    let (_, sent) =
        env.call(&token, "sendMessage", json!({"chat_id": user, "text": "Confirm?", "reply_markup": keyboard})).await;
    let message_id = sent["result"]["message_id"].as_i64().expect("message_id");

    let (status, pressed) = env
        .post(
            &format!("/sandbox/users/{user}/callbacks"),
            json!({"bot_username": "buttons_bot", "message_id": message_id, "callback_data": "ok"}),
        )
        .await;
    assert_eq!(status, 200, "{pressed}");
    let query_id = pressed["callback_query_id"].as_str().expect("id").to_string();
    let updates = env.updates(&token).await;
    let query = updates.iter().find_map(|u| u.get("callback_query")).expect("callback_query");
    assert_eq!(query["data"], "ok");
    assert_eq!(query["message"]["message_id"], message_id);

    let (status, body) =
        env.call(&token, "answerCallbackQuery", json!({"callback_query_id": query_id, "text": "Done"})).await;
    assert_eq!((status, body), (200, json!({"ok": true, "result": true})));
    let (status, body) = env.call(&token, "answerCallbackQuery", json!({"callback_query_id": query_id})).await;
    assert_eq!(
        (status, body),
        (400, api_error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"))
    );

    let (status, body) = env
        .call(&token, "editMessageText", json!({"chat_id": user, "message_id": message_id, "text": "Confirmed"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"], "Confirmed");
    assert!(body["result"]["edit_date"].is_i64());
    assert!(body["result"].get("reply_markup").is_none());
    let (status, body) = env
        .call(&token, "editMessageText", json!({"chat_id": user, "message_id": message_id, "text": "Confirmed"}))
        .await;
    assert_eq!(
        (status, body),
        (400, api_error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"))
    );
    let (status, body) =
        env.call(&token, "editMessageText", json!({"chat_id": user, "message_id": 1, "text": "hijack"})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: message can't be edited")));
    let (status, body) =
        env.call(&token, "editMessageText", json!({"chat_id": user, "message_id": 77, "text": "x"})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: message to edit not found")));
}

/// A bot, a user who started it, and a message with one button to that user.
async fn a_message_with_a_button(env: &Env, bot: &str) -> (String, i64, i64) {
    let (token, _) = env.create_bot(bot).await;
    let user = env.create_user("Dave").await;
    env.press_start(user, bot, None).await;
    let keyboard = json!({"inline_keyboard": [[{"text": "Ack", "callback_data": "ack"}]]});
    let (_, sent) =
        env.call(&token, "sendMessage", json!({"chat_id": user, "text": "Disk full", "reply_markup": keyboard})).await;
    (token, user, sent["result"]["message_id"].as_i64().expect("message_id"))
}

#[tokio::test]
async fn edit_message_reply_markup_replaces_or_removes_the_keyboard() {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, user, message_id) = a_message_with_a_button(&env, "markup_bot").await;
    let other = json!({"inline_keyboard": [[{"text": "Resolve", "callback_data": "resolve"}]]});

    let edit = |markup: Option<&Value>| {
        let mut params = json!({"chat_id": user, "message_id": message_id});
        if let Some(markup) = markup {
            params["reply_markup"] = markup.clone();
        }
        env.call(&token, "editMessageReplyMarkup", params)
    };
    let (status, body) = edit(Some(&other)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["reply_markup"], other);
    assert_eq!(body["result"]["text"], "Disk full");
    assert!(body["result"]["edit_date"].is_i64());
    let (status, body) = edit(Some(&other)).await;
    assert_eq!(
        (status, body),
        (400, api_error(400, "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"))
    );
    let (status, body) = edit(None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"].get("reply_markup").is_none());
    let (_, sent) = env.get("/sandbox/bots/markup_bot/sent").await;
    let methods: Vec<&str> = sent.as_array().expect("records").iter().filter_map(|r| r["method"].as_str()).collect();
    assert_eq!(methods, ["sendMessage", "editMessageReplyMarkup", "editMessageReplyMarkup"]);

    let (status, body) = env
        .call(&token, "editMessageReplyMarkup", json!({"chat_id": user, "message_id": 77, "reply_markup": other}))
        .await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: message to edit not found")));
}

#[tokio::test]
async fn a_message_the_user_deleted_cannot_be_edited() {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, user, message_id) = a_message_with_a_button(&env, "deleted_bot").await;
    let deleting = json!({"bot_username": "deleted_bot", "message_id": message_id});
    let (status, body) = env.post(&format!("/sandbox/users/{user}/delete_message"), deleting.clone()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = env
        .call(&token, "editMessageText", json!({"chat_id": user, "message_id": message_id, "text": "Resolved"}))
        .await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: message to edit not found")));
    let (status, _) = env.post(&format!("/sandbox/users/{user}/delete_message"), deleting).await;
    assert_eq!(status, 404, "deleted twice");
    let (status, body) = env
        .post(
            &format!("/sandbox/users/{user}/callbacks"),
            json!({"bot_username": "deleted_bot", "message_id": message_id, "callback_data": "ack"}),
        )
        .await;
    assert_eq!(status, 404, "a deleted message's button was pressed: {body}");
}

#[tokio::test]
async fn a_callback_query_is_answered_in_time_or_never_and_the_answer_records_its_latency() {
    let ttl = Duration::from_millis(300);
    let env =
        start_with(SandboxConfig { limits: Limits::unlimited(), callback_query_ttl: ttl, ..SandboxConfig::default() })
            .await;
    let (token, user, message_id) = a_message_with_a_button(&env, "ttl_bot").await;
    let callbacks = format!("/sandbox/users/{user}/callbacks");
    let press =
        || env.post(&callbacks, json!({"bot_username": "ttl_bot", "message_id": message_id, "callback_data": "ack"}));
    let answer = |id: Value| env.call(&token, "answerCallbackQuery", json!({"callback_query_id": id, "text": "Acked"}));

    let (_, pressed) = press().await;
    let (status, body) = answer(pressed["callback_query_id"].clone()).await;
    assert_eq!((status, body), (200, json!({"ok": true, "result": true})));
    let (_, answers) = env.get("/sandbox/bots/ttl_bot/callback_answers").await;
    let record = &answers[0];
    let latency = record["latency_ms"].as_u64().expect("latency_ms");
    let (pressed_at, at) =
        (record["pressed_at_ms"].as_i64().expect("pressed_at_ms"), record["at_ms"].as_i64().expect("at_ms"));
    assert!(pressed_at <= at && latency < ttl.as_millis() as u64, "{record}");

    // Telegram refuses an answer once the query's time is up.
    let (_, pressed) = press().await;
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    let (status, body) = answer(pressed["callback_query_id"].clone()).await;
    assert_eq!(
        (status, body),
        (400, api_error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"))
    );
}
