//! Interactive commands, end to end: a project's command manifest is checked
//! whole, versioned, and pushed to its bot's Telegram menus per scope and
//! language; a user's `/command` reaches its executor's poll, the ack and
//! the result come back as replies to the user's message.

mod support;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, WAIT};

const PROJECT: &str = "p_commands";

/// What `getMyCommands` answers the bot for a scope and language: `(command, description)`.
async fn menu(stack: &TestStack, token: &str, scope: &str, language: &str) -> Vec<(String, String)> {
    let url = format!("{}/bot{token}/getMyCommands", stack.sandbox.base_url());
    let body = json!({"scope": {"type": scope}, "language_code": language});
    let answer: Value =
        reqwest::Client::new().post(url).json(&body).send().await.expect("sandbox").json().await.expect("json");
    let entries = answer["result"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .map(|c| {
            (c["command"].as_str().unwrap_or_default().into(), c["description"].as_str().unwrap_or_default().into())
        })
        .collect()
}

fn pairs(entries: &[(&str, &str)]) -> Vec<(String, String)> {
    entries.iter().map(|(c, d)| (c.to_string(), d.to_string())).collect()
}

/// Every menu call the sandbox received.
async fn menu_calls(stack: &TestStack) -> usize {
    let mut n = 0;
    for method in ["setMyCommands", "deleteMyCommands"] {
        n += stack.sandbox_get(&format!("/sandbox/calls?method={method}")).await.as_array().map_or(0, Vec::len);
    }
    n
}

async fn wait_menu_pushed(stack: &TestStack, path: &str, version: u64) {
    let pushed = eventually(WAIT, || async {
        let r = stack.get(path).await;
        (r.body["menu"] == "pushed" && r.body["version"] == version).then_some(())
    })
    .await;
    assert!(pushed.is_ok(), "version {version} never pushed: {}\n{}", stack.get(path).await.body, stack.output_tail());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_reaches_the_menus_per_scope_and_language_and_a_bad_one_is_refused_before_any_call() {
    let stack = TestStack::start(Layout::Single).await;
    let bot = stack.sandbox_post("/sandbox/bots", json!({"username": "ops_commands_bot"})).await;
    let token = bot["token"].as_str().expect("token").to_string();
    let integration = stack.create_integration(PROJECT, Some(&token)).await;
    let path = format!("/api/v1/integrations/{integration}/commands/manifest");
    let manifest = json!({"commands": [
        {"name": "deploy", "description": "Deploy a service", "executor_key": "ci", "args_hint": "<service> <color>",
         "scope": "private", "descriptions": {"ru": "Выкатить сервис"}, "timeout_seconds": 300},
        {"name": "status", "description": "Service status", "executor_key": "ops"},
        {"name": "oncall", "description": "Who is on call", "executor_key": "ops", "scope": "groups",
         "allowed_refs": ["user:1"]}
    ]});
    let set = stack.post(&path, manifest.clone()).await;
    assert_eq!((set.status, &set.body["version"]), (200, &json!(1)), "{}", set.body);
    assert_eq!(set.body["commands"][1]["timeout_seconds"], 60, "the default timeout");
    assert_eq!(set.body["commands"][1]["scope"], "all", "the default scope");
    wait_menu_pushed(&stack, &path, 1).await;

    let status = ("status", "Service status");
    assert_eq!(menu(&stack, &token, "default", "").await, pairs(&[status]));
    let private = menu(&stack, &token, "all_private_chats", "").await;
    assert_eq!(private, pairs(&[("deploy", "Deploy a service"), status]));
    let private_ru = menu(&stack, &token, "all_private_chats", "ru").await;
    assert_eq!(private_ru, pairs(&[("deploy", "Выкатить сервис"), status]));
    assert_eq!(menu(&stack, &token, "all_group_chats", "").await, pairs(&[status, ("oncall", "Who is on call")]));
    assert_eq!(menu(&stack, &token, "all_group_chats", "ru").await, vec![], "nothing there is described in Russian");

    // The same manifest again writes nothing and calls nobody.
    let common = stack.create_integration(PROJECT, None).await;
    stack.wait_idle().await;
    let (calls, events) = (menu_calls(&stack).await, stack.stream_last_sequence("EVENTS").await);
    let again = stack.post(&path, manifest).await;
    assert_eq!((again.status, &again.body["version"], &again.body["menu"]), (200, &json!(1), &json!("pushed")));
    let got = stack.get(&path).await;
    assert_eq!(got.body["commands"].as_array().map(Vec::len), Some(3), "{}", got.body);

    // Bad manifests: a 422 naming the entry and the field, nothing written, no call.
    let one = |command: Value| json!({"commands": [command]});
    let ok = json!({"name": "x", "description": "d", "executor_key": "ops"});
    let with = |key: &str, value: Value| {
        let mut c = ok.clone();
        c[key] = value;
        one(c)
    };
    let many: Vec<Value> =
        (0..101).map(|i| json!({"name": format!("c{i}"), "description": "d", "executor_key": "ops"})).collect();
    let cases = [
        (with("name", json!("Deploy")), "commands[0].name"),
        (with("name", json!("help")), "commands[0].name"),
        (with("name", json!("a".repeat(33))), "commands[0].name"),
        (with("description", json!("d".repeat(257))), "commands[0].description"),
        (with("description", json!("")), "commands[0].description"),
        (with("timeout_seconds", json!(3)), "commands[0].timeout_seconds"),
        (with("scope", json!("channels")), "commands[0].scope"),
        (with("descriptions", json!({"de": "x"})), "commands[0].descriptions"),
        (with("allowed_refs", json!(["user 1"])), "commands[0].allowed_refs[0]"),
        (with("executor_key", json!("ops.eu")), "commands[0].executor_key"),
        (json!({"commands": [ok.clone(), ok.clone()]}), "commands[1].name"),
        (json!({"commands": many}), "commands"),
    ];
    for (body, field) in cases {
        let r = stack.post(&path, body).await;
        assert!(r.status == 422 || r.status == 400, "{field}: {} {}", r.status, r.body);
        assert_eq!(r.body["error"]["field"], field, "{}", r.body);
    }
    let r = stack.post(&format!("/api/v1/integrations/{common}/commands/manifest"), one(ok)).await;
    assert_eq!((r.status, &r.body["error"]["code"]), (422, &json!("commands_need_custom_bot")), "{}", r.body);
    stack.wait_idle().await;
    assert_eq!(menu_calls(&stack).await, calls, "no call reached Telegram");
    assert_eq!(stack.stream_last_sequence("EVENTS").await, events, "nothing written");

    // An empty manifest clears every menu.
    let cleared = stack.post(&path, json!({"commands": []})).await;
    assert_eq!((cleared.status, &cleared.body["version"]), (200, &json!(2)), "{}", cleared.body);
    wait_menu_pushed(&stack, &path, 2).await;
    for (scope, language) in
        [("default", ""), ("all_private_chats", ""), ("all_private_chats", "ru"), ("all_group_chats", "")]
    {
        assert_eq!(menu(&stack, &token, scope, language).await, vec![], "{scope} {language}");
    }
}

/// The bot's successful sendMessage calls to `chat`.
async fn sent_to(stack: &TestStack, bot: &str, chat: i64) -> Vec<Value> {
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={bot}&method=sendMessage")).await;
    let calls = calls.as_array().cloned().unwrap_or_default();
    calls.into_iter().filter(|c| c["params"]["chat_id"] == chat && c["status"] == 200).collect()
}

/// Waits for the bot's reply to `message_id` in `chat` whose text holds `text`; its params.
async fn wait_reply(stack: &TestStack, bot: &str, chat: i64, message_id: i64, text: &str) -> Value {
    let found = eventually(WAIT, || async {
        sent_to(stack, bot, chat).await.into_iter().map(|c| c["params"].clone()).find(|p| {
            p["reply_parameters"]["message_id"] == message_id && p["text"].as_str().is_some_and(|t| t.contains(text))
        })
    })
    .await;
    found.unwrap_or_else(|_| panic!("no reply {text:?} to message {message_id}\n{}", stack.output_tail()))
}

/// A custom bot's integration with a manifest, and a connected user: (integration, token-less bot name, chat).
async fn commands_stack(stack: &TestStack, bot: &str, manifest: Value) -> (String, i64) {
    let created = stack.sandbox_post("/sandbox/bots", json!({"username": bot})).await;
    let integration = stack.create_integration(PROJECT, created["token"].as_str()).await;
    let path = format!("/api/v1/integrations/{integration}/commands/manifest");
    let set = stack.post(&path, manifest).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let chat = stack.connect_user(PROJECT, &integration, "user:1").await;
    (integration, chat)
}

/// The user writes `text` to the bot; the message id.
async fn write(stack: &TestStack, bot: &str, user: i64, text: &str) -> i64 {
    let written = stack
        .sandbox_post(&format!("/sandbox/users/{user}/messages"), json!({"bot_username": bot, "text": text}))
        .await;
    written["message_id"].as_i64().expect("message_id")
}

async fn poll(stack: &TestStack, integration: &str, executor: &str, wait: u32) -> Vec<Value> {
    let path = format!(
        "/api/v1/commands/poll?project_id={PROJECT}&integration_id={integration}&executor_key={executor}&wait_seconds={wait}"
    );
    let polled = stack.get(&path).await;
    assert_eq!(polled.status, 200, "{}", polled.body);
    polled.body["commands"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_users_command_reaches_its_executor_and_the_ack_and_the_result_answer_the_users_message() {
    let stack = TestStack::start(Layout::Separate).await;
    let bot = "deploy_commands_bot";
    let manifest = json!({"commands": [
        {"name": "deploy", "description": "Deploy", "executor_key": "ci", "args_hint": "<service> <color>"},
        {"name": "status", "description": "Status", "executor_key": "ops"}
    ]});
    let (integration, chat) = commands_stack(&stack, bot, manifest).await;
    assert_eq!(poll(&stack, &integration, "ci", 0).await, Vec::<Value>::new());

    let message_id = write(&stack, bot, chat, r#"/deploy web "blue green""#).await;
    let commands = poll(&stack, &integration, "ci", 10).await;
    assert_eq!(commands.len(), 1, "{commands:?}");
    let command = &commands[0];
    assert_eq!(
        (
            &command["kind"],
            &command["name"],
            &command["args_text"],
            &command["args"],
            &command["from"],
            &command["chat_kind"]
        ),
        (
            &json!("command"),
            &json!("deploy"),
            &json!(r#"web "blue green""#),
            &json!(["web", "blue green"]),
            &json!("user:1"),
            &json!("private")
        ),
        "{command}"
    );
    assert!(poll(&stack, &integration, "ops", 0).await.is_empty(), "another executor's poll has nothing");
    let command_id = command["command_id"].as_str().expect("command_id").to_string();

    let ack = json!({"project_id": PROJECT, "integration_id": integration, "executor_key": "ci",
                     "command_ids": [command_id], "ack_text": "⏳ running…"});
    // Two executors ack it at once: exactly one takes it.
    let (first, second) =
        tokio::join!(stack.post("/api/v1/commands/ack", ack.clone()), stack.post("/api/v1/commands/ack", ack.clone()));
    let outcomes: Vec<(u16, &Value, &Value)> =
        [&first, &second].iter().map(|r| (r.status, &r.body["acked"], &r.body["taken"])).collect();
    let (took, lost) = (json!([command_id]), json!([]));
    assert!(
        outcomes == vec![(200, &took, &lost), (200, &lost, &took)]
            || outcomes == vec![(200, &lost, &took), (200, &took, &lost)],
        "one acked, one taken: {outcomes:?}"
    );
    wait_reply(&stack, bot, chat, message_id, "⏳ running…").await;
    assert!(poll(&stack, &integration, "ci", 0).await.is_empty(), "taken: no longer offered");
    let again = stack.post("/api/v1/commands/ack", ack).await;
    assert_eq!((&again.body["acked"], &again.body["taken"]), (&json!([]), &json!([command_id])), "{}", again.body);

    let path = format!("/api/v1/commands/{command_id}/reply");
    let progress = stack.post(&path, json!({"text": "building web…", "final": false})).await;
    assert_eq!((progress.status, &progress.body["final"]), (202, &json!(false)), "{}", progress.body);
    let result = json!({"text": "<b>web</b> is blue green", "parse_mode": "HTML", "idempotency_key": "r1",
                        "buttons": [{"id": "rollback", "label": "Roll back"}]});
    let done = stack.post(&path, result.clone()).await;
    assert_eq!((done.status, &done.body["final"]), (202, &json!(true)), "{}", done.body);
    let retried = stack.post(&path, result).await;
    assert_eq!((retried.status, &retried.body["send_id"]), (202, &done.body["send_id"]), "a retry: {}", retried.body);
    wait_reply(&stack, bot, chat, message_id, "building web…").await;
    let result = wait_reply(&stack, bot, chat, message_id, "web</b> is blue green").await;
    assert_eq!(result["parse_mode"], "HTML", "{result}");
    let data = format!("{command_id}:rollback");
    assert_eq!(result["reply_markup"]["inline_keyboard"][0][0]["callback_data"], data.as_str(), "{result}");

    // The result's button, pressed: answered at once, and offered to the executor.
    let records = stack.sandbox_get(&format!("/sandbox/bots/{bot}/sent?chat_id={chat}")).await;
    let result_message = records
        .as_array()
        .and_then(|r| r.iter().find(|m| m["raw_text"].as_str().is_some_and(|t| t.contains("is blue green"))))
        .and_then(|m| m["message_id"].as_i64())
        .expect("the result's message");
    let pressed = stack
        .sandbox_post(
            &format!("/sandbox/users/{chat}/callbacks"),
            json!({"bot_username": bot, "callback_data": data, "message_id": result_message}),
        )
        .await;
    let query = pressed["callback_query_id"].clone();
    let answered = eventually(WAIT, || async {
        let answers = stack.sandbox_get(&format!("/sandbox/bots/{bot}/callback_answers")).await;
        answers.as_array()?.iter().find(|a| a["callback_query_id"] == query).cloned()
    })
    .await
    .expect("the press was answered");
    assert_eq!(answered["text"], "✓ Roll back: sent", "{answered}");
    let presses = poll(&stack, &integration, "ci", 10).await;
    assert_eq!(presses.len(), 1, "{presses:?}");
    assert_eq!(
        (&presses[0]["kind"], &presses[0]["command_id"], &presses[0]["action"], &presses[0]["from"]),
        (&json!("press"), &json!(command_id), &json!("rollback"), &json!("user:1")),
        "{presses:?}"
    );
    let press_ack = json!({"project_id": PROJECT, "integration_id": integration, "executor_key": "ci",
                           "command_ids": [presses[0]["press_id"]]});
    let acked = stack.post("/api/v1/commands/ack", press_ack).await;
    assert_eq!(acked.body["acked"], json!([presses[0]["press_id"]]), "{}", acked.body);
    assert!(poll(&stack, &integration, "ci", 0).await.is_empty(), "an acked press leaves the poll");
    let late = stack.post(&path, json!({"text": "one more"})).await;
    assert_eq!((late.status, &late.body["error"]["code"]), (409, &json!("command_over")), "{}", late.body);
    stack.wait_idle().await;
    let replies = sent_to(&stack, bot, chat)
        .await
        .into_iter()
        .filter(|c| c["params"]["reply_parameters"]["message_id"] == message_id)
        .count();
    assert_eq!(replies, 3, "the ack, the progress and the result, once each");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_command_nobody_answers_expires_and_its_user_is_told_once_with_two_schedulers() {
    let mut stack = TestStack::start(Layout::Separate).await;
    stack.spawn("scheduler-2", &["serve", "scheduler"]);
    let bot = "slow_commands_bot";
    let manifest = json!({"commands": [
        {"name": "backup", "description": "Back up", "executor_key": "ops", "timeout_seconds": 5},
        {"name": "restore", "description": "Restore", "executor_key": "ops", "timeout_seconds": 5}
    ]});
    let (integration, chat) = commands_stack(&stack, bot, manifest).await;
    // Nobody acks one; the other is acked and never answered.
    let unacked = write(&stack, bot, chat, "/backup db").await;
    let unanswered = write(&stack, bot, chat, "/restore db").await;
    let commands = eventually(WAIT, || async {
        let commands = poll(&stack, &integration, "ops", 1).await;
        (commands.len() == 2).then_some(commands)
    })
    .await
    .expect("both requested");
    let restore = commands.iter().find(|c| c["name"] == "restore").expect("restore");
    let ack = json!({"project_id": PROJECT, "integration_id": integration, "executor_key": "ops",
                     "command_ids": [restore["command_id"]]});
    assert_eq!(stack.post("/api/v1/commands/ack", ack).await.body["acked"], json!([restore["command_id"]]));

    wait_reply(&stack, bot, chat, unacked, "/backup: nobody took it in time").await;
    wait_reply(&stack, bot, chat, unanswered, "/restore: no result in time").await;
    assert!(poll(&stack, &integration, "ops", 0).await.is_empty(), "expired requests are not offered");
    let late = stack
        .post(
            &format!("/api/v1/commands/{}/reply", restore["command_id"].as_str().unwrap_or_default()),
            json!({"text": "done"}),
        )
        .await;
    assert_eq!((late.status, &late.body["error"]["code"]), (409, &json!("command_over")), "{}", late.body);
    stack.wait_idle().await;
    for message_id in [unacked, unanswered] {
        let told = sent_to(&stack, bot, chat)
            .await
            .into_iter()
            .filter(|c| c["params"]["reply_parameters"]["message_id"] == message_id)
            .count();
        assert_eq!(told, 1, "told once about message {message_id}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn in_a_group_a_command_for_this_bot_is_run_one_for_another_bot_ignored_and_allowed_refs_hold() {
    let stack = TestStack::start(Layout::Single).await;
    let bot = "group_commands_bot";
    let manifest = json!({"commands": [
        {"name": "status", "description": "Status", "executor_key": "ops"},
        {"name": "oncall", "description": "Page the on-call", "executor_key": "ops", "scope": "groups",
         "allowed_refs": ["user:1"]},
        {"name": "deploy", "description": "Deploy", "executor_key": "ops", "scope": "private"}
    ]});
    // user:1 is connected in private; Bob is only a member of the group.
    let (integration, ann) = commands_stack(&stack, bot, manifest).await;
    let bob = stack.sandbox_post("/sandbox/users", json!({"first_name": "Bob"})).await["user_id"].as_i64().expect("id");
    let group = stack.connect_group(PROJECT, &integration, "team:ops", &[ann, bob]).await;
    let messages = format!("/sandbox/groups/{group}/messages");
    let say = |from: i64, text: &str| stack.sandbox_post(&messages, json!({"from_user_id": from, "text": text}));

    // Updates are handled in order: once the second is requested, the first was seen and ignored.
    say(ann, "/status@other_bot first").await;
    say(ann, &format!("/status@{bot} second")).await;
    let commands = eventually(WAIT, || async {
        let commands = poll(&stack, &integration, "ops", 1).await;
        (!commands.is_empty()).then_some(commands)
    })
    .await
    .expect("a request");
    let names: Vec<(&Value, &Value, &Value, &Value)> =
        commands.iter().map(|c| (&c["name"], &c["args_text"], &c["from"], &c["chat_kind"])).collect();
    assert_eq!(names, vec![(&json!("status"), &json!("second"), &json!("user:1"), &json!("group"))]);

    // Bob is not in the on-call's allowed_refs, and is nobody's connected chat here.
    say(bob, &format!("/oncall@{bot}")).await;
    say(ann, "/deploy web").await;
    say(ann, "/oncall now").await;
    let commands = eventually(WAIT, || async {
        let commands = poll(&stack, &integration, "ops", 1).await;
        (commands.len() == 2).then_some(commands)
    })
    .await
    .expect("the on-call requested");
    assert_eq!((&commands[1]["name"], &commands[1]["from"]), (&json!("oncall"), &json!("user:1")), "{commands:?}");
    let texts = eventually(WAIT, || async {
        let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={bot}&method=sendMessage")).await;
        let texts: Vec<String> = calls
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["params"]["chat_id"] == group)
            .filter_map(|c| c["params"]["text"].as_str().map(str::to_string))
            .collect();
        let told = texts.iter().any(|t| t.contains("not allowed to run /oncall"))
            && texts.iter().any(|t| t.contains("Unknown command /deploy"));
        told.then_some(texts)
    })
    .await;
    assert!(texts.is_ok(), "Bob is refused, and /deploy is not offered in a group\n{}", stack.output_tail());
}

/// Every text the bot was asked to send.
async fn said(stack: &TestStack, bot: &str) -> Vec<String> {
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={bot}&method=sendMessage")).await;
    let calls = calls.as_array().cloned().unwrap_or_default();
    calls.iter().filter_map(|c| c["params"]["text"].as_str().map(str::to_string)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn help_lists_the_commands_an_unknown_one_gets_help_a_stranger_is_told_to_connect_and_a_flood_is_refused_once() {
    let stack = TestStack::start_with(Layout::Single, &[("COMMANDS_PER_USER_PER_MINUTE", "4")]).await;
    let bot = "help_commands_bot";
    let manifest = json!({"commands": [
        {"name": "deploy", "description": "Deploy", "executor_key": "ci", "args_hint": "<service>",
         "descriptions": {"ru": "Выкатить"}},
        {"name": "oncall", "description": "On-call", "executor_key": "ops", "scope": "groups"}
    ]});
    let (_, chat) = commands_stack(&stack, bot, manifest).await;
    let texts = || said(&stack, bot);
    let wait_text = |expected: &'static str| async move {
        let found = eventually(WAIT, || async { texts().await.into_iter().find(|t| t.contains(expected)) }).await;
        found.unwrap_or_else(|_| panic!("never said {expected:?}"))
    };

    write(&stack, bot, chat, "/help").await;
    let help = wait_text("Commands:").await;
    assert!(help.contains("/deploy <service> — Deploy") && !help.contains("/oncall"), "private chat help: {help}");
    write(&stack, bot, chat, "/nope").await;
    wait_text("Unknown command /nope").await;

    // A user who never connected: told to connect first.
    let stranger =
        stack.sandbox_post("/sandbox/users", json!({"first_name": "Eve"})).await["user_id"].as_i64().expect("id");
    stack.sandbox_post(&format!("/sandbox/users/{stranger}/start"), json!({"bot_username": bot})).await;
    write(&stack, bot, stranger, "/deploy web").await;
    wait_text("not connected").await;

    // The limit is 4 a minute: /help, /nope and two more run; the fifth is refused once, the sixth is not answered.
    for text in ["/help", "/help", "/help", "/help"] {
        write(&stack, bot, chat, text).await;
    }
    wait_text("Too many commands").await;
    stack.wait_idle().await;
    let said = texts().await;
    let helps = said.iter().filter(|t| t.starts_with("Commands:")).count();
    let refusals = said.iter().filter(|t| t.contains("Too many commands")).count();
    assert_eq!((helps, refusals), (3, 1), "{said:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_common_bot_a_start_addressed_to_another_bot_is_ignored() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let code = stack
        .post(
            "/api/v1/telegram/connect-codes",
            json!({"project_id": PROJECT, "integration_id": integration, "public_user_ref": "user:7"}),
        )
        .await;
    let code = code.body["code"].as_str().expect("code").to_string();
    let user =
        stack.sandbox_post("/sandbox/users", json!({"first_name": "Ann"})).await["user_id"].as_i64().expect("id");
    stack.sandbox_post(&format!("/sandbox/users/{user}/start"), json!({"bot_username": COMMON_BOT})).await;
    write(&stack, COMMON_BOT, user, &format!("/start@other_bot {code}")).await;
    write(&stack, COMMON_BOT, user, &format!("/start@{COMMON_BOT} {code}")).await;
    let welcomed = eventually(WAIT, || async {
        said(&stack, COMMON_BOT).await.iter().any(|t| t.starts_with("✅ Connected")).then_some(())
    })
    .await;
    assert!(welcomed.is_ok(), "never connected\n{}", stack.output_tail());
    stack.wait_idle().await;
    let sent: Vec<Value> = sent_to(&stack, COMMON_BOT, user).await;
    let texts: Vec<&str> = sent.iter().filter_map(|c| c["params"]["text"].as_str()).collect();
    // Two sends of two lanes (the bare /start names no integration yet): in either order.
    assert_eq!(texts.len(), 2, "the reply to the bare /start and one welcome: {texts:?}");
    assert_eq!(texts.iter().filter(|t| t.starts_with("✅ Connected")).count(), 1, "{texts:?}");
}
