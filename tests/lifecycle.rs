//! The end of an integration and of a recipient: `DELETE /integrations/{id}`
//! withdraws its pending sends, removes a custom bot's webhook and shreds its
//! token's keys; `DELETE /recipients/{id}` unlinks a user until they connect
//! again. Both are idempotent.

mod support;

use chrono::{SecondsFormat, Utc};
use novij_events::integration::IntegrationCreated;
use novij_runtime::{PayloadError, Payloads};
use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, WAIT};

const PROJECT: &str = "p_life";

async fn delete(stack: &TestStack, path: &str) -> support::Response {
    stack.request(reqwest::Method::DELETE, path, None, Some(&stack.admin_key)).await
}

async fn webhook_url(stack: &TestStack, bot: &str) -> String {
    stack.sandbox_get(&format!("/sandbox/bots/{bot}")).await["webhook"]["url"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_an_integration_withdraws_its_sends_removes_the_webhook_and_shreds_the_token() {
    let stack = TestStack::start(Layout::Separate).await;
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "leaving_bot"})).await;
    let integration = stack.create_integration(PROJECT, bot["token"].as_str()).await;
    stack.connect_user(PROJECT, &integration, "user:1").await;
    eventually(WAIT, || async { (!webhook_url(&stack, "leaving_bot").await.is_empty()).then_some(()) })
        .await
        .expect("the webhook was set");
    let send_at = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let reminder = stack
        .post(
            "/api/v1/reminders",
            json!({
                "project_id": PROJECT, "integration_id": integration, "recipient_ref": "user:1",
                "template": "text_message", "template_vars": {"text": "never"}, "send_at": send_at,
                "idempotency_key": "life-1",
            }),
        )
        .await;
    assert_eq!(reminder.status, 202, "{}", reminder.body);
    let reminder = reminder.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_send(&reminder, "scheduled").await;

    // The token is readable while the integration lives.
    let log = novij_bus::EventLog::new(stack.jetstream().await);
    let (created, _) = log.last::<IntegrationCreated>(&integration).await.unwrap().expect("created");
    let token = created.payload.bot_token.expect("a sealed token");
    let keyring = std::sync::Arc::new(stack.keyring());
    let payloads =
        Payloads::connect(&stack.jetstream().await, stack.db.connect().await.unwrap(), keyring, 3600).await.unwrap();
    let purpose = novij_runtime::derive::purpose::BOT_TOKEN;
    let opened = payloads.open(purpose, &token).await.expect("readable while the integration lives");
    assert_eq!(Some(String::from_utf8(opened).unwrap().as_str()), bot["token"].as_str());

    let path = format!("/api/v1/integrations/{integration}");
    let r = delete(&stack, &path).await;
    assert_eq!((r.status, &r.body["deleted"]), (200, &json!(true)), "{}", r.body);
    let again = delete(&stack, &path).await;
    assert_eq!(again.status, 200, "deleting twice is fine: {}", again.body);

    // Gone from the API: no reads, no new codes, no new sends.
    assert_eq!(stack.get(&path).await.status, 404);
    assert_eq!(stack.get(&format!("{path}/recipients")).await.status, 404);
    let code = json!({"project_id": PROJECT, "integration_id": integration, "public_user_ref": "user:2"});
    assert_eq!(stack.post("/api/v1/telegram/connect-codes", code).await.status, 404);
    let send = stack.send_text(PROJECT, &integration, "user:1", "after delete", "life-2").await;
    assert_eq!((send.status, send.body["error"]["field"].as_str()), (404, Some("integration_id")), "{}", send.body);

    // The waiting reminder is withdrawn, the webhook removed, the token unreadable.
    let view = stack.wait_send(&reminder, "cancelled").await;
    let last = view["history"].as_array().and_then(|h| h.last()).cloned().unwrap_or(Value::Null);
    assert_eq!(last["detail"]["reason"], "integration_deleted", "{view}");
    eventually(WAIT, || async { webhook_url(&stack, "leaving_bot").await.is_empty().then_some(()) })
        .await
        .expect("the webhook was removed");
    eventually(WAIT, || async {
        matches!(payloads.open(purpose, &token).await, Err(PayloadError::Shredded)).then_some(())
    })
    .await
    .expect("the token's key was shredded");
    stack.wait_idle().await;
    let sent = stack.sent("leaving_bot").await;
    assert!(!sent.iter().any(|m| m["text"] == "never" || m["text"] == "after delete"), "{sent:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unlinked_recipient_gets_nothing_until_they_connect_again() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    stack.connect_user(PROJECT, &integration, "user:1").await;
    let recipients = format!("/api/v1/integrations/{integration}/recipients");
    let listed = stack.get(&recipients).await;
    let recipient = listed.body[0]["recipient_id"].as_str().expect("recipient_id").to_string();

    let path = format!("/api/v1/recipients/{recipient}");
    let r = delete(&stack, &path).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("unlinked")), "{}", r.body);
    assert_eq!(delete(&stack, &path).await.status, 200, "unlinking twice is fine");
    assert_eq!(delete(&stack, "/api/v1/recipients/rcp_0000").await.status, 404);
    assert_eq!(stack.get(&recipients).await.body[0]["status"], "unlinked");
    let refused = stack.send_text(PROJECT, &integration, "user:1", "while unlinked", "u-1").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "recipient_unreachable");

    // Connecting again binds the same recipient anew.
    stack.connect_user(PROJECT, &integration, "user:1").await;
    let sent = stack.send_text(PROJECT, &integration, "user:1", "welcome back", "u-2").await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    stack.wait_send(sent.body["send_id"].as_str().unwrap(), "sent").await;
    assert_eq!(stack.get(&recipients).await.body[0]["recipient_id"], recipient.as_str());
}

async fn new_code(stack: &TestStack, integration: &str, user: &str) -> String {
    let body = json!({"project_id": PROJECT, "integration_id": integration, "public_user_ref": user});
    let r = stack.post("/api/v1/telegram/connect-codes", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["code"].as_str().expect("code").to_string()
}

/// A user opens a connect link: `/start <code>` on the bot.
async fn start(stack: &TestStack, bot: &str, code: &str) -> i64 {
    let user = stack.sandbox_post("/sandbox/users", json!({"first_name": "Bo"})).await;
    let user_id = user["user_id"].as_i64().expect("user_id");
    stack.sandbox_post(&format!("/sandbox/users/{user_id}/start"), json!({"bot_username": bot, "payload": code})).await;
    user_id
}

/// The texts the bot sent to one chat, once `n` of them arrived.
async fn replies_to(stack: &TestStack, bot: &str, chat: i64, n: usize) -> Vec<String> {
    eventually(WAIT, || async {
        let texts: Vec<String> = stack
            .sent(bot)
            .await
            .iter()
            .filter(|m| m["chat_id"] == chat)
            .filter_map(|m| m["text"].as_str().map(str::to_string))
            .collect();
        (texts.len() >= n).then_some(texts)
    })
    .await
    .unwrap_or_else(|_| panic!("chat {chat} got fewer than {n} replies"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connect_code_binds_one_chat_once_never_again_and_not_after_it_expires() {
    let stack = TestStack::start_with(Layout::Single, &[("CONNECT_CODE_TTL_SECONDS", "2")]).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let bot = support::COMMON_BOT;

    let first = new_code(&stack, &integration, "user:1").await;
    let owner = start(&stack, bot, &first).await;
    assert!(replies_to(&stack, bot, owner, 1).await[0].starts_with("✅ Connected"));
    let intruder = start(&stack, bot, &first).await;
    assert_eq!(replies_to(&stack, bot, intruder, 1).await, ["This link has already been used."]);
    // The owner stops; the same link, opened again from the chat's history, binds nothing.
    let say = |text: &str| json!({"bot_username": bot, "text": text});
    stack.sandbox_post(&format!("/sandbox/users/{owner}/messages"), say("/stop")).await;
    assert!(replies_to(&stack, bot, owner, 2).await[1].starts_with("Disconnected"));
    stack.sandbox_post(&format!("/sandbox/users/{owner}/messages"), say(&format!("/start {first}"))).await;
    assert_eq!(replies_to(&stack, bot, owner, 3).await[2], "This link has already been used.");
    wait_recipient(&stack, &integration, "user:1", "disabled").await;
    let nobody = start(&stack, bot, "not-a-code").await;
    assert_eq!(replies_to(&stack, bot, nobody, 1).await, ["This link is not valid. Ask for a new one."]);

    let late = new_code(&stack, &integration, "user:2").await;
    // Kept: the code must really outlive its 2 s.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let too_late = start(&stack, bot, &late).await;
    assert_eq!(replies_to(&stack, bot, too_late, 1).await, ["This link has expired. Ask for a new one."]);

    stack.wait_idle().await;
    let listed = stack.get(&format!("/api/v1/integrations/{integration}/recipients")).await;
    let refs: Vec<&str> =
        listed.body.as_array().unwrap().iter().filter_map(|r| r["public_user_ref"].as_str()).collect();
    assert_eq!(refs, ["user:1"], "only the first chat is bound: {}", listed.body);
    assert_eq!(listed.body[0]["status"], "disabled", "and stays stopped: {}", listed.body);
}

/// The status `GET /integrations/{id}/recipients` shows for `user_ref`, once it is `status`.
async fn wait_recipient(stack: &TestStack, integration: &str, user_ref: &str, status: &str) -> Value {
    let path = format!("/api/v1/integrations/{integration}/recipients");
    let found = eventually(WAIT, || async {
        let listed = stack.get(&path).await.body;
        listed.as_array()?.iter().find(|r| r["public_user_ref"] == user_ref && r["status"] == status).cloned()
    })
    .await;
    match found {
        Ok(recipient) => recipient,
        Err(_) => panic!("{user_ref} never {status}: {}\n{}", stack.get(&path).await.body, stack.output_tail()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_blocking_the_bot_or_a_group_removing_it_makes_the_recipient_unreachable_at_once() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let user = stack.connect_user(PROJECT, &integration, "user:1").await;
    let admin =
        stack.sandbox_post("/sandbox/users", json!({"first_name": "Admin"})).await["user_id"].as_i64().expect("id");
    let group = stack.connect_group(PROJECT, &integration, "team:ops", &[admin]).await;
    let calls_before = stack.sandbox_get("/sandbox/calls?method=sendMessage").await.as_array().map_or(0, Vec::len);

    // Telegram tells the bot (my_chat_member); no send has to fail first.
    stack.sandbox_post(&format!("/sandbox/users/{user}/block"), json!({"bot_username": support::COMMON_BOT})).await;
    let blocked = wait_recipient(&stack, &integration, "user:1", "unreachable").await;
    assert_eq!(blocked["disabled_reason"], "recipient_blocked", "{blocked}");
    stack
        .sandbox_post(
            &format!("/sandbox/groups/{group}/bots/{}/remove", support::COMMON_BOT),
            json!({"from_user_id": admin}),
        )
        .await;
    let removed = wait_recipient(&stack, &integration, "team:ops", "unreachable").await;
    assert_eq!(removed["disabled_reason"], "bot_kicked", "{removed}");

    // Sends to them fail at once, and reach no Telegram call.
    for recipient in ["user:1", "team:ops"] {
        let r = stack.send_text(PROJECT, &integration, recipient, "after", &format!("after-{recipient}")).await;
        assert_eq!((r.status, &r.body["error"]["code"]), (422, &json!("recipient_unreachable")), "{}", r.body);
    }
    stack.wait_idle().await;
    let calls_after = stack.sandbox_get("/sandbox/calls?method=sendMessage").await.as_array().map_or(0, Vec::len);
    assert_eq!(calls_after, calls_before, "no sendMessage after the bot was cut off");
}

#[tokio::test(flavor = "multi_thread")]
async fn recipients_come_a_page_at_a_time_in_the_order_they_connected() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration("p_pages", None).await;
    let users: Vec<String> = (0..5).map(|i| format!("user:{i}")).collect();
    for user in &users {
        stack.connect_user("p_pages", &integration, user).await;
    }
    stack.wait_settled().await;
    let page = |query: String| {
        let path = format!("/api/v1/integrations/{integration}/recipients{query}");
        let stack = &stack;
        async move { stack.get(&path).await }
    };
    let mut seen = Vec::new();
    let mut after = String::new();
    loop {
        let r = page(format!("?limit=2{after}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let rows = r.body.as_array().cloned().unwrap_or_default();
        assert!(rows.len() <= 2, "{}", r.body);
        seen.extend(rows.iter().map(|row| row["public_user_ref"].as_str().unwrap_or_default().to_string()));
        match rows.last() {
            Some(last) if rows.len() == 2 => {
                after = format!("&after={}", last["recipient_id"].as_str().unwrap_or_default())
            }
            _ => break,
        }
    }
    assert_eq!(seen, users, "every recipient once, in the order they connected");
    let whole = page(String::new()).await;
    assert_eq!(whole.body.as_array().map(Vec::len), Some(5), "{}", whole.body);
    let one = page("?public_user_ref=user:3".into()).await;
    let one = one.body.as_array().cloned().unwrap_or_default();
    assert!(one.len() == 1 && one[0]["public_user_ref"] == "user:3", "{one:?}");
    let bad = page("?limit=0".into()).await;
    assert_eq!((bad.status, &bad.body["error"]["field"]), (422, &json!("limit")), "{}", bad.body);
    let bad = page("?after=rcp_unknown".into()).await;
    assert_eq!((bad.status, &bad.body["error"]["field"]), (422, &json!("after")), "{}", bad.body);
}
