//! Groups and supergroups: adding a bot with a `?startgroup=` payload, sending
//! to groups, removal, and the upgrade of a basic group to a supergroup.

use serde_json::{json, Value};

use crate::support::{api_error, bot_user, eventually, plain_user, spawn_receiver, start, without_dates};

fn basic_chat(id: i64, title: &str) -> Value {
    json!({"id": id, "title": title, "type": "group", "all_members_are_administrators": true})
}

fn super_chat(id: i64, title: &str) -> Value {
    json!({"id": id, "title": title, "type": "supergroup"})
}

#[tokio::test]
async fn bot_added_with_a_startgroup_payload_gets_telegrams_updates_by_webhook() {
    let env = start().await;
    let (token, bot_id) = env.create_bot("group_bot").await;
    let alice = env.create_user("Alice").await;
    let bob = env.create_user("Bob").await;
    let chat_id = env.create_group("Ops", "group", &[alice, bob]).await;
    assert_eq!(chat_id, -4_000_000_001);
    let receiver = spawn_receiver(vec![]);
    let (status, _) = env.call(&token, "setWebhook", json!({"url": receiver.url()})).await;
    assert_eq!(status, 200);

    let added = env.add_bot_to_group(chat_id, "group_bot", Some("inv_42")).await;
    let update_ids: Vec<i64> = added["update_ids"].as_array().expect("ids").iter().filter_map(Value::as_i64).collect();
    assert_eq!(update_ids.len(), 3, "{added}");
    assert_eq!(added["message_id"], 2);

    let received = eventually(|| {
        let got = receiver.received();
        async move { (got.len() >= 3).then_some(got) }
    })
    .await;
    let bodies: Vec<Value> = received.iter().map(|(_, body)| without_dates(body)).collect();
    let bot = bot_user(bot_id, "group_bot");
    let chat = basic_chat(chat_id, "Ops");
    let from = plain_user(alice, "Alice");
    assert_eq!(
        bodies,
        vec![
            json!({"update_id": update_ids[0], "my_chat_member": {
                "chat": chat, "from": from, "date": 0,
                "old_chat_member": {"user": bot, "status": "left"},
                "new_chat_member": {"user": bot, "status": "member"},
            }}),
            json!({"update_id": update_ids[1], "message": {
                "message_id": 1, "from": from, "chat": chat, "date": 0,
                "new_chat_participant": bot, "new_chat_member": bot, "new_chat_members": [bot],
            }}),
            json!({"update_id": update_ids[2], "message": {
                "message_id": 2, "from": from, "chat": chat, "date": 0,
                "text": "/start@group_bot inv_42",
                "entities": [{"type": "bot_command", "offset": 0, "length": 16}],
            }}),
        ]
    );

    // The bot answers in the group.
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": chat_id, "text": "hello group"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        without_dates(&body),
        json!({"ok": true, "result": {"message_id": 3, "from": bot, "chat": chat, "date": 0, "text": "hello group"}})
    );
    // A member writes; the bot sees it with the next id of the group.
    let (status, written) =
        env.post(&format!("/sandbox/groups/{chat_id}/messages"), json!({"from_user_id": bob, "text": "thanks"})).await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(written["message_id"], 4);
    let received = eventually(|| {
        let got = receiver.received();
        async move { (got.len() >= 4).then_some(got) }
    })
    .await;
    assert_eq!(
        without_dates(&received[3].1),
        json!({"update_id": written["update_ids"][0], "message": {
            "message_id": 4, "from": plain_user(bob, "Bob"), "chat": chat, "date": 0, "text": "thanks",
        }})
    );

    let (status, sent) = env.get(&format!("/sandbox/bots/group_bot/sent?chat_id={chat_id}")).await;
    assert_eq!(status, 200);
    let sent = sent.as_array().cloned().expect("array");
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0]["chat_id"].as_i64(), sent[0]["text"].as_str()), (Some(chat_id), Some("hello group")));
    let (_, none) = env.get(&format!("/sandbox/bots/group_bot/sent?chat_id={alice}")).await;
    assert_eq!(none, json!([]));

    let (status, view) = env.get(&format!("/sandbox/groups/{chat_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        view,
        json!({"chat": chat, "members": [alice, bob], "bots": {"group_bot": "member"}, "migrated_to_chat_id": null})
    );
}

#[tokio::test]
async fn group_sends_need_membership_and_a_removed_bot_is_refused() {
    let env = start().await;
    let (token, bot_id) = env.create_bot("member_bot").await;
    let (other_token, _) = env.create_bot("outsider_bot").await;
    let carol = env.create_user("Carol").await;
    let group = env.create_group("Team", "group", &[carol]).await;
    let supergroup = env.create_group("Big team", "supergroup", &[carol]).await;
    assert_eq!(supergroup, -1_002_000_000_001);

    let cases = [
        (group, 403, "Forbidden: bot is not a member of the group chat"),
        (supergroup, 403, "Forbidden: bot is not a member of the supergroup chat"),
        (-4_000_000_999, 400, "Bad Request: chat not found"),
    ];
    for (chat_id, code, description) in cases {
        let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": chat_id, "text": "hi"})).await;
        assert_eq!((status, body), (code, api_error(code, description)), "{chat_id}");
    }

    // Without a payload there is no /start message: my_chat_member and the service message.
    let added = env.add_bot_to_group(group, "member_bot", None).await;
    assert_eq!(added["update_ids"].as_array().map(Vec::len), Some(2), "{added}");
    assert_eq!(added["message_id"], Value::Null);
    env.add_bot_to_group(supergroup, "member_bot", None).await;
    let (status, again) =
        env.post(&format!("/sandbox/groups/{group}/bots"), json!({"bot_username": "member_bot"})).await;
    assert_eq!(
        (status, again),
        (409, json!({"error": format!("bot @member_bot is already a member of group {group}")}))
    );
    for chat_id in [group, supergroup] {
        let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": chat_id, "text": "hi"})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["chat"]["id"], chat_id);
    }
    // Group messages reach member bots only.
    let (status, body) =
        env.post(&format!("/sandbox/groups/{group}/messages"), json!({"from_user_id": carol, "text": "ping"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["update_ids"].as_array().map(Vec::len), Some(1));
    assert!(env.updates(&other_token).await.is_empty());
    let (status, body) = env
        .post(
            &format!("/sandbox/groups/{group}/messages"),
            json!({"from_user_id": carol, "bot_username": "outsider_bot", "text": "ping"}),
        )
        .await;
    assert_eq!((status, body), (409, json!({"error": format!("bot @outsider_bot is not a member of group {group}")})));
    env.drain_updates(&token).await;

    // Removed from a basic group: "left" plus the service message, then 403 "kicked".
    let (status, removed) = env.post(&format!("/sandbox/groups/{group}/bots/member_bot/remove"), json!({})).await;
    assert_eq!(status, 200, "{removed}");
    let bot = bot_user(bot_id, "member_bot");
    let carol_user = plain_user(carol, "Carol");
    let updates: Vec<Value> = env.updates(&token).await.iter().map(without_dates).collect();
    assert_eq!(
        updates,
        vec![
            json!({"update_id": removed["update_ids"][0], "my_chat_member": {
                "chat": basic_chat(group, "Team"), "from": carol_user, "date": 0,
                "old_chat_member": {"user": bot, "status": "member"},
                "new_chat_member": {"user": bot, "status": "left"},
            }}),
            json!({"update_id": removed["update_ids"][1], "message": {
                "message_id": 4, "from": carol_user, "chat": basic_chat(group, "Team"), "date": 0,
                "left_chat_participant": bot, "left_chat_member": bot,
            }}),
        ]
    );
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": group, "text": "still here?"})).await;
    assert_eq!((status, body), (403, api_error(403, "Forbidden: bot was kicked from the group chat")));
    env.drain_updates(&token).await;

    // Removed from a supergroup: banned ("kicked", until_date 0), no service message.
    let (status, removed) = env.post(&format!("/sandbox/groups/{supergroup}/bots/member_bot/remove"), json!({})).await;
    assert_eq!(status, 200, "{removed}");
    let updates: Vec<Value> = env.updates(&token).await.iter().map(without_dates).collect();
    assert_eq!(
        updates,
        vec![json!({"update_id": removed["update_ids"][0], "my_chat_member": {
            "chat": super_chat(supergroup, "Big team"), "from": carol_user, "date": 0,
            "old_chat_member": {"user": bot, "status": "member"},
            "new_chat_member": {"user": bot, "status": "kicked", "until_date": 0},
        }})]
    );
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": supergroup, "text": "?"})).await;
    assert_eq!((status, body), (403, api_error(403, "Forbidden: bot was kicked from the supergroup chat")));
    let (status, body) = env.post(&format!("/sandbox/groups/{supergroup}/bots/member_bot/remove"), json!({})).await;
    assert_eq!(
        (status, body),
        (409, json!({"error": format!("bot @member_bot is not a member of group {supergroup}")}))
    );

    // Re-added to the supergroup, the bot comes back from "kicked".
    let added = env.add_bot_to_group(supergroup, "member_bot", None).await;
    let updates = env.updates(&token).await;
    assert_eq!(updates[1]["update_id"], added["update_ids"][0]);
    assert_eq!(updates[1]["my_chat_member"]["old_chat_member"]["status"], "kicked");
    let (status, _) = env.call(&token, "sendMessage", json!({"chat_id": supergroup, "text": "back"})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn upgraded_group_answers_with_the_new_chat_id() {
    let env = start().await;
    let (token, bot_id) = env.create_bot("migrating_bot").await;
    let dan = env.create_user("Dan").await;
    let old = env.create_group("Night shift", "group", &[dan]).await;
    env.add_bot_to_group(old, "migrating_bot", Some("code7")).await;
    let (status, first) = env.call(&token, "sendMessage", json!({"chat_id": old, "text": "before"})).await;
    assert_eq!(status, 200, "{first}");
    env.drain_updates(&token).await;

    let (status, migrated) = env.post(&format!("/sandbox/groups/{old}/migrate"), json!({})).await;
    assert_eq!(status, 200, "{migrated}");
    let new = migrated["new_chat_id"].as_i64().expect("new_chat_id");
    assert_eq!(new, -1_002_000_000_001);
    assert!(new.to_string().starts_with("-100"));

    let updates: Vec<Value> = env.updates(&token).await.iter().map(without_dates).collect();
    assert_eq!(
        updates,
        vec![
            json!({"update_id": migrated["update_ids"][0], "message": {
                "message_id": 4, "from": plain_user(dan, "Dan"), "chat": basic_chat(old, "Night shift"), "date": 0,
                "migrate_to_chat_id": new,
            }}),
            json!({"update_id": migrated["update_ids"][1], "message": {
                "message_id": 1,
                "from": {"id": 1_087_968_824_i64, "is_bot": true, "first_name": "Group", "username": "GroupAnonymousBot"},
                "sender_chat": super_chat(new, "Night shift"),
                "chat": super_chat(new, "Night shift"),
                "date": 0,
                "migrate_from_chat_id": old,
            }}),
        ]
    );

    // Every message-producing call to the old id answers with the new one.
    let expected = json!({
        "ok": false,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": {"migrate_to_chat_id": new},
    });
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": old, "text": "after"})).await;
    assert_eq!((status, body), (400, expected.clone()));
    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": old.to_string(), "text": "after"})).await;
    assert_eq!((status, body), (400, expected.clone()));
    let (status, body) = env
        .call(
            &token,
            "editMessageText",
            json!({"chat_id": old, "message_id": first["result"]["message_id"], "text": "x"}),
        )
        .await;
    assert_eq!((status, body), (400, expected));

    let (status, body) = env.call(&token, "sendMessage", json!({"chat_id": new, "text": "after"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        without_dates(&body),
        json!({"ok": true, "result": {
            "message_id": 2, "from": bot_user(bot_id, "migrating_bot"), "chat": super_chat(new, "Night shift"),
            "date": 0, "text": "after",
        }})
    );

    let (status, body) = env.post(&format!("/sandbox/groups/{old}/migrate"), json!({})).await;
    assert_eq!((status, body), (409, json!({"error": format!("group {old} was upgraded to supergroup {new}")})));
    let (status, body) = env.post(&format!("/sandbox/groups/{new}/migrate"), json!({})).await;
    assert_eq!((status, body), (409, json!({"error": format!("group {new} is already a supergroup")})));
    let (_, view) = env.get(&format!("/sandbox/groups/{old}")).await;
    assert_eq!(view["migrated_to_chat_id"], new);
    let (_, sent) = env.get(&format!("/sandbox/bots/migrating_bot/sent?chat_id={new}")).await;
    assert_eq!(sent.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn any_member_of_a_group_may_press_a_button_of_the_bots_message_there_and_nobody_else() {
    let env = start().await;
    let (token, _) = env.create_bot("button_bot").await;
    let alice = env.create_user("Alice").await;
    let bob = env.create_user("Bob").await;
    let outsider = env.create_user("Eve").await;
    let chat_id = env.create_group("Ops", "group", &[alice, bob]).await;
    env.add_bot_to_group(chat_id, "button_bot", None).await;
    env.call(&token, "getUpdates", json!({})).await;
    let keyboard = json!({"inline_keyboard": [[{"text": "Ack", "callback_data": "ack"}]]});
    let (status, sent) =
        env.call(&token, "sendMessage", json!({"chat_id": chat_id, "text": "alert", "reply_markup": keyboard})).await;
    assert_eq!(status, 200, "{sent}");
    let message_id = sent["result"]["message_id"].as_i64().expect("message_id");
    let body =
        json!({"bot_username": "button_bot", "chat_id": chat_id, "message_id": message_id, "callback_data": "ack"});
    let (bob_path, outsider_path) =
        (format!("/sandbox/users/{bob}/callbacks"), format!("/sandbox/users/{outsider}/callbacks"));

    // Bob never started the bot privately: a member needs no more.
    let (status, pressed) = env.post(&bob_path, body.clone()).await;
    assert_eq!(status, 200, "{pressed}");
    let (_, updates) = env.call(&token, "getUpdates", json!({})).await;
    let query = updates["result"].as_array().and_then(|u| u.last()).map(|u| u["callback_query"].clone());
    let query = query.expect("a callback query");
    assert_eq!((&query["from"]["id"], &query["message"]["chat"]["id"]), (&json!(bob), &json!(chat_id)), "{query}");

    let (status, refused) = env.post(&outsider_path, body).await;
    assert_eq!((status, refused), (409, json!({"error": "user is not a member of this group"})));
}
