//! setMyCommands, getMyCommands and deleteMyCommands: one list per scope and
//! language, Telegram's validation texts, and the control view of the lists.

use serde_json::{json, Value};

use crate::support::{api_error, start, Env};

fn commands(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|name| json!({"command": name, "description": format!("Does {name}")})).collect())
}

async fn get_commands(env: &Env, token: &str, params: Value) -> Value {
    let (status, body) = env.call(token, "getMyCommands", params).await;
    assert_eq!(status, 200, "{body}");
    body["result"].clone()
}

async fn set_commands(env: &Env, token: &str, params: Value) {
    let (status, body) = env.call(token, "setMyCommands", params).await;
    assert_eq!((status, body), (200, json!({"ok": true, "result": true})));
}

#[tokio::test]
async fn each_scope_and_language_keeps_its_own_list() {
    let env = start().await;
    let (token, _) = env.create_bot("menu_bot").await;

    set_commands(&env, &token, json!({"commands": commands(&["start", "help"])})).await;
    set_commands(&env, &token, json!({"commands": commands(&["ack"]), "scope": {"type": "all_group_chats"}})).await;
    set_commands(&env, &token, json!({"commands": commands(&["start_ru"]), "language_code": "ru"})).await;

    assert_eq!(get_commands(&env, &token, json!({})).await, commands(&["start", "help"]));
    assert_eq!(get_commands(&env, &token, json!({"scope": {"type": "default"}})).await, commands(&["start", "help"]));
    assert_eq!(get_commands(&env, &token, json!({"scope": {"type": "all_group_chats"}})).await, commands(&["ack"]));
    assert_eq!(get_commands(&env, &token, json!({"language_code": "ru"})).await, commands(&["start_ru"]));
    // No fallback: a scope or language never set has no commands.
    let unset = json!({"scope": {"type": "all_group_chats"}, "language_code": "ru"});
    assert_eq!(get_commands(&env, &token, unset).await, json!([]));
    assert_eq!(get_commands(&env, &token, json!({"scope": {"type": "all_private_chats"}})).await, json!([]));

    // Form-encoded, as many clients send it: nested values are JSON strings.
    let response = env
        .http
        .post(format!("{}/bot{token}/setMyCommands", env.base))
        .form(&[
            ("commands", json!([{"command": " /start ", "description": " Begin "}]).to_string()),
            ("scope", json!({"type": "all_private_chats"}).to_string()),
            ("language_code", "de".to_string()),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    // Stored as Telegram stores it: trimmed, without the slash.
    let private_de = json!({"scope": {"type": "all_private_chats"}, "language_code": "de"});
    assert_eq!(get_commands(&env, &token, private_de).await, json!([{"command": "start", "description": "Begin"}]));

    let (status, lists) = env.get("/sandbox/bots/menu_bot/commands").await;
    assert_eq!(status, 200);
    assert_eq!(
        lists,
        json!([
            {"scope": {"type": "default"}, "language_code": "", "commands": commands(&["start", "help"])},
            {"scope": {"type": "default"}, "language_code": "ru", "commands": commands(&["start_ru"])},
            {"scope": {"type": "all_private_chats"}, "language_code": "de",
             "commands": [{"command": "start", "description": "Begin"}]},
            {"scope": {"type": "all_group_chats"}, "language_code": "", "commands": commands(&["ack"])},
        ])
    );

    // Recorded like every call, and not counted as message sends.
    let (_, calls) = env.get("/sandbox/calls?bot_username=menu_bot&method=setMyCommands").await;
    assert_eq!(calls.as_array().map(Vec::len), Some(4));
    assert_eq!(calls[2]["params"]["language_code"], "ru");
    let (_, stats) = env.get("/sandbox/stats?bot_username=menu_bot").await;
    assert_eq!((stats["calls"].as_u64(), stats["message_calls"].as_u64()), (Some(11), Some(0)));
}

#[tokio::test]
async fn delete_and_an_empty_list_both_clear_only_their_list() {
    let env = start().await;
    let (token, _) = env.create_bot("clear_bot").await;
    let groups = json!({"type": "all_group_chats"});
    set_commands(&env, &token, json!({"commands": commands(&["start"])})).await;
    set_commands(&env, &token, json!({"commands": commands(&["ack"]), "scope": groups})).await;
    set_commands(&env, &token, json!({"commands": commands(&["start"]), "language_code": "ru"})).await;

    let (status, body) = env.call(&token, "deleteMyCommands", json!({"scope": groups})).await;
    assert_eq!((status, body), (200, json!({"ok": true, "result": true})));
    assert_eq!(get_commands(&env, &token, json!({"scope": groups})).await, json!([]));
    set_commands(&env, &token, json!({"commands": [], "language_code": "ru"})).await;
    assert_eq!(get_commands(&env, &token, json!({"language_code": "ru"})).await, json!([]));
    // Deleting what is not there succeeds, as in Telegram.
    let (status, _) = env.call(&token, "deleteMyCommands", json!({"language_code": "ru"})).await;
    assert_eq!(status, 200);

    let (_, lists) = env.get("/sandbox/bots/clear_bot/commands").await;
    assert_eq!(lists, json!([{"scope": {"type": "default"}, "language_code": "", "commands": commands(&["start"])}]));
}

#[tokio::test]
async fn invalid_commands_and_parameters_get_telegrams_errors() {
    let env = start().await;
    let (token, _) = env.create_bot("strict_menu_bot").await;
    let user = env.create_user("Olga").await;
    let one = commands(&["start"]);
    let named = |name: &str| json!([{"command": name, "description": "x"}]);
    let described = |description: String| json!([{"command": "start", "description": description}]);
    let too_many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
    let too_many = commands(&too_many.iter().map(String::as_str).collect::<Vec<_>>());

    let cases: Vec<(&str, Value, &str)> = vec![
        ("setMyCommands", json!({"commands": named("Start")}), "BOT_COMMAND_INVALID"),
        ("setMyCommands", json!({"commands": named("my-command")}), "BOT_COMMAND_INVALID"),
        ("setMyCommands", json!({"commands": named(&"a".repeat(33))}), "command length must not exceed 32"),
        ("setMyCommands", json!({"commands": named("")}), "command must be non-empty"),
        ("setMyCommands", json!({"commands": described(String::new())}), "command description must be non-empty"),
        ("setMyCommands", json!({"commands": described("  ".into())}), "command description must be non-empty"),
        (
            "setMyCommands",
            json!({"commands": described("d".repeat(257))}),
            "command description length must not exceed 256",
        ),
        ("setMyCommands", json!({"commands": too_many}), "BOT_COMMANDS_TOO_MUCH"),
        ("setMyCommands", json!({}), "parameter \"commands\" is required"),
        ("setMyCommands", json!({"commands": "[not json"}), "can't parse commands JSON object"),
        ("setMyCommands", json!({"commands": {"command": "start"}}), "expected an Array of BotCommand"),
        ("setMyCommands", json!({"commands": ["start"]}), "can't parse BotCommand: expected an Object"),
        (
            "setMyCommands",
            json!({"commands": [{"command": "start"}]}),
            "can't parse BotCommand: Can't find field \"description\"",
        ),
        (
            "setMyCommands",
            json!({"commands": [{"command": ["start"], "description": "x"}]}),
            "can't parse BotCommand: Field \"command\" must be of type String",
        ),
        ("setMyCommands", json!({"commands": one, "language_code": "RU"}), "invalid language code specified"),
        ("setMyCommands", json!({"commands": one, "language_code": "rus"}), "invalid language code specified"),
        (
            "setMyCommands",
            json!({"commands": one, "scope": {"type": "everyone"}}),
            "can't parse BotCommandScope: Unsupported type specified",
        ),
        ("setMyCommands", json!({"commands": one, "scope": {"type": "chat", "chat_id": 42}}), "chat not found"),
        ("setMyCommands", json!({"commands": one, "scope": {"type": "chat", "chat_id": "@nowhere"}}), "chat not found"),
        ("setMyCommands", json!({"commands": one, "scope": "{"}), "can't parse BotCommandScope JSON object"),
        (
            "setMyCommands",
            json!({"commands": one, "scope": []}),
            "can't parse BotCommandScope: BotCommandScope must be an Object",
        ),
        (
            "setMyCommands",
            json!({"commands": one, "scope": {}}),
            "can't parse BotCommandScope: Can't find field \"type\"",
        ),
        (
            "setMyCommands",
            json!({"commands": one, "scope": {"type": "chat"}}),
            "can't parse BotCommandScope: Can't find field \"chat_id\"",
        ),
        (
            "setMyCommands",
            json!({"commands": one, "scope": {"type": "chat", "chat_id": ""}}),
            "can't parse BotCommandScope: Empty chat_id specified",
        ),
        (
            "setMyCommands",
            json!({"commands": one, "scope": {"type": "chat_member", "chat_id": user}}),
            "can't parse BotCommandScope: Can't find field \"user_id\"",
        ),
        (
            "setMyCommands",
            json!({"commands": one, "scope": {"type": "chat_member", "chat_id": user, "user_id": 0}}),
            "can't parse BotCommandScope: Invalid user_id specified",
        ),
        (
            "setMyCommands",
            json!({"commands": one, "scope": {"type": "chat_administrators", "chat_id": user}}),
            "can't use specified scope in private chats",
        ),
        // Telegram's order: the commands are parsed before the scope, the
        // scope's chat is checked before the language and the commands' content.
        ("setMyCommands", json!({"commands": "x", "scope": "{"}), "can't parse commands JSON object"),
        (
            "setMyCommands",
            json!({"commands": named("Bad"), "scope": {"type": "chat", "chat_id": 42}, "language_code": "RU"}),
            "chat not found",
        ),
        ("setMyCommands", json!({"commands": named("Bad"), "language_code": "RU"}), "invalid language code specified"),
        ("getMyCommands", json!({"language_code": "english"}), "invalid language code specified"),
        ("getMyCommands", json!({"scope": {"type": "chat", "chat_id": 42}}), "chat not found"),
        (
            "deleteMyCommands",
            json!({"scope": {"type": "all_users"}}),
            "can't parse BotCommandScope: Unsupported type specified",
        ),
        ("deleteMyCommands", json!({"language_code": "r1"}), "invalid language code specified"),
    ];
    for (method, params, detail) in cases {
        let (status, body) = env.call(&token, method, params.clone()).await;
        let expected = api_error(400, &format!("Bad Request: {detail}"));
        assert_eq!((status, body), (400, expected), "{method} {params}");
    }
    let (_, lists) = env.get("/sandbox/bots/strict_menu_bot/commands").await;
    assert_eq!(lists, json!([]), "nothing refused was stored");

    // The limits themselves are allowed.
    let hundred: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
    let hundred = commands(&hundred.iter().map(String::as_str).collect::<Vec<_>>());
    set_commands(&env, &token, json!({"commands": hundred})).await;
    let longest = json!([{"command": "a_1".repeat(10) + "ab", "description": "d".repeat(256)}]);
    set_commands(&env, &token, json!({"commands": longest, "language_code": "en"})).await;
    assert_eq!(get_commands(&env, &token, json!({"language_code": "en"})).await, longest);
}

#[tokio::test]
async fn chat_scopes_need_a_chat_the_bot_knows_and_are_keyed_by_its_id() {
    let env = start().await;
    let (token, _) = env.create_bot("scoped_bot").await;
    let alice = env.create_user("Alice").await;
    let bob = env.create_user("Bob").await;
    let group = env.create_group("Ops", "supergroup", &[alice, bob]).await;
    let other = env.create_group("Elsewhere", "group", &[alice]).await;
    env.add_bot_to_group(group, "scoped_bot", None).await;

    // The chat id may come as a string; it names the same list. Lists are
    // listed by scope type, then chat id.
    let chat = json!({"type": "chat", "chat_id": group.to_string()});
    set_commands(&env, &token, json!({"commands": commands(&["ack"]), "scope": chat})).await;
    let admins = json!({"type": "chat_administrators", "chat_id": group});
    set_commands(&env, &token, json!({"commands": commands(&["mute"]), "scope": admins})).await;
    let member = json!({"type": "chat_member", "chat_id": group, "user_id": bob});
    set_commands(&env, &token, json!({"commands": commands(&["resolve"]), "scope": member})).await;
    let private = json!({"type": "chat", "chat_id": alice});
    set_commands(&env, &token, json!({"commands": commands(&["status"]), "scope": private})).await;

    let chat_by_number = json!({"scope": {"type": "chat", "chat_id": group}});
    assert_eq!(get_commands(&env, &token, chat_by_number.clone()).await, commands(&["ack"]));
    assert_eq!(get_commands(&env, &token, json!({"scope": member})).await, commands(&["resolve"]));

    let (status, body) =
        env.call(&token, "setMyCommands", json!({"commands": [], "scope": {"type": "chat", "chat_id": other}})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: chat not found")), "a group the bot never joined");

    let (_, lists) = env.get("/sandbox/bots/scoped_bot/commands").await;
    assert_eq!(
        lists,
        json!([
            {"scope": {"type": "chat", "chat_id": group}, "language_code": "", "commands": commands(&["ack"])},
            {"scope": {"type": "chat", "chat_id": alice}, "language_code": "", "commands": commands(&["status"])},
            {"scope": {"type": "chat_administrators", "chat_id": group}, "language_code": "",
             "commands": commands(&["mute"])},
            {"scope": {"type": "chat_member", "chat_id": group, "user_id": bob}, "language_code": "",
             "commands": commands(&["resolve"])},
        ])
    );

    // Removed from the group, the bot can no longer touch its lists there.
    let (status, _) = env.post(&format!("/sandbox/groups/{group}/bots/scoped_bot/remove"), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = env.call(&token, "getMyCommands", chat_by_number).await;
    assert_eq!((status, body), (403, api_error(403, "Forbidden: bot was kicked from the supergroup chat")));

    let (status, body) = env.get("/sandbox/bots/ghost_bot/commands").await;
    assert_eq!((status, body), (404, json!({"error": "bot @ghost_bot not found"})));
}
