//! Users sending a photo or a document (with a caption) to a bot.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::support::{plain_user, start, without_dates, Env};

/// A started bot and user with no pending updates: (token, user id).
async fn started(env: &Env, bot: &str) -> (String, i64) {
    let (token, _) = env.create_bot(bot).await;
    let user = env.create_user("Olga").await;
    env.press_start(user, bot, None).await;
    env.drain_updates(&token).await;
    (token, user)
}

/// The only pending update, checked to be the one the control API announced.
async fn single_update(env: &Env, token: &str, sent: &Value) -> Value {
    let updates = env.updates(token).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["update_id"], sent["update_id"]);
    assert_eq!(updates[0]["message"]["message_id"], sent["message_id"]);
    updates[0]["message"].clone()
}

fn assert_telegram_ids(file: &Value) {
    let file_id = file["file_id"].as_str().expect("file_id");
    let unique_id = file["file_unique_id"].as_str().expect("file_unique_id");
    for id in [file_id, unique_id] {
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "not base64url: {id}");
    }
    assert!(unique_id.len() < file_id.len(), "{unique_id} / {file_id}");
}

#[tokio::test]
async fn a_photo_with_a_caption_arrives_in_three_sizes_smallest_first() {
    let env = start().await;
    let (token, user) = started(&env, "photo_bot").await;
    let (status, sent) = env
        .post(
            &format!("/sandbox/users/{user}/messages"),
            json!({"bot_username": "photo_bot", "photo": {}, "caption": "Our new office 🏢"}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent.as_object().map(|m| m.len()), Some(2), "only update_id and message_id: {sent}");
    let message = single_update(&env, &token, &sent).await;

    let sizes = message["photo"].as_array().expect("photo sizes");
    let shapes: Vec<(i64, i64)> =
        sizes.iter().map(|s| (s["width"].as_i64().unwrap_or(0), s["height"].as_i64().unwrap_or(0))).collect();
    assert_eq!(shapes, vec![(90, 67), (320, 240), (1280, 960)]);
    let bytes: Vec<u64> = sizes.iter().map(|s| s["file_size"].as_u64().unwrap_or(0)).collect();
    assert!(bytes[0] > 0 && bytes[0] < bytes[1] && bytes[1] < bytes[2], "{bytes:?}");
    for size in sizes {
        let mut keys: Vec<&str> = size.as_object().expect("PhotoSize").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["file_id", "file_size", "file_unique_id", "height", "width"]);
        assert!(size["file_id"].as_str().is_some_and(|id| id.starts_with("AgAC")), "{size}");
        assert_telegram_ids(size);
    }
    let ids: HashSet<&str> = sizes.iter().filter_map(|s| s["file_id"].as_str()).collect();
    let unique_ids: HashSet<&str> = sizes.iter().filter_map(|s| s["file_unique_id"].as_str()).collect();
    assert_eq!((ids.len(), unique_ids.len()), (3, 3));

    let mut rest = without_dates(&message);
    rest.as_object_mut().map(|m| m.remove("photo"));
    assert_eq!(
        rest,
        json!({
            "message_id": sent["message_id"],
            "from": plain_user(user, "Olga"),
            "chat": {"id": user, "first_name": "Olga", "type": "private"},
            "date": 0,
            "caption": "Our new office 🏢",
        })
    );

    // Given sides and size are kept for the full size; another photo gets other ids.
    env.drain_updates(&token).await;
    let (status, sent) = env
        .post(
            &format!("/sandbox/users/{user}/messages"),
            json!({"bot_username": "photo_bot", "photo": {"width": 960, "height": 1280, "file_size": 250000}}),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let message = single_update(&env, &token, &sent).await;
    let full = &message["photo"][2];
    assert_eq!((&full["width"], &full["height"], &full["file_size"]), (&json!(960), &json!(1280), &json!(250000)));
    assert_eq!(message["photo"][0]["height"], 90);
    assert!(message.get("caption").is_none() && message.get("text").is_none(), "{message}");
    assert!(full["file_id"].as_str().is_some_and(|id| !ids.contains(id)), "{full}");
}

#[tokio::test]
async fn a_document_arrives_with_its_name_type_and_size() {
    let env = start().await;
    let (token, user) = started(&env, "docs_bot").await;
    let (status, sent) = env
        .post(
            &format!("/sandbox/users/{user}/messages"),
            json!({
                "bot_username": "docs_bot",
                "document": {"file_name": "report-2024.pdf", "mime_type": "application/pdf", "file_size": 48213},
                "caption": "/report weekly",
            }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let message = single_update(&env, &token, &sent).await;
    let document = &message["document"];
    assert_telegram_ids(document);
    assert!(document["file_id"].as_str().is_some_and(|id| id.starts_with("BQAC")), "{document}");
    assert_eq!(
        without_dates(&message),
        json!({
            "message_id": sent["message_id"],
            "from": plain_user(user, "Olga"),
            "chat": {"id": user, "first_name": "Olga", "type": "private"},
            "date": 0,
            "document": {
                "file_id": document["file_id"],
                "file_unique_id": document["file_unique_id"],
                "file_name": "report-2024.pdf",
                "mime_type": "application/pdf",
                "file_size": 48213,
            },
            "caption": "/report weekly",
            "caption_entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        })
    );

    // A file can answer an earlier message, like text.
    let (status, reply) = env
        .post(
            &format!("/sandbox/users/{user}/messages"),
            json!({
                "bot_username": "docs_bot",
                "document": {"file_name": "data.csv"},
                "reply_to_message_id": sent["message_id"],
            }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let (_, updates) = env.get("/sandbox/bots/docs_bot/updates").await;
    let answer = &updates[1]["message"];
    assert_eq!(answer["document"]["mime_type"], "text/csv");
    assert_eq!(answer["reply_to_message"]["document"], message["document"]);
}

#[tokio::test]
async fn text_with_a_file_no_content_and_long_captions_are_refused() {
    let env = start().await;
    let (token, user) = started(&env, "strict_media_bot").await;
    let path = format!("/sandbox/users/{user}/messages");
    let refusals = [
        (json!({"text": "hi", "photo": {}}), "give either \"text\" or a file (\"photo\" or \"document\"), not both"),
        (
            json!({"text": "hi", "document": {"file_name": "a.txt"}}),
            "give either \"text\" or a file (\"photo\" or \"document\"), not both",
        ),
        (json!({}), "\"text\" is required, or else a \"photo\" or a \"document\""),
        (json!({"photo": {}, "document": {}}), "give either \"photo\" or \"document\", not both"),
        (
            json!({"text": "hi", "caption": "no file"}),
            "\"caption\" goes with a \"photo\" or a \"document\"; a text message has none",
        ),
        // 1024 is the limit, counted in UTF-16 code units: each emoji counts two.
        (
            json!({"photo": {}, "caption": format!("{}a", "😀".repeat(512))}),
            "caption is longer than 1024 UTF-16 code units",
        ),
        (json!({"photo": {"width": 0}}), "\"photo.width\" must be an integer from 1 to 10000"),
        (json!({"photo": {"size": 5}}), "\"photo\" has no field \"size\" (known: width, height, file_size)"),
        (json!({"document": "a.pdf"}), "\"document\" must be an object"),
    ];
    for (mut body, error) in refusals {
        body["bot_username"] = json!("strict_media_bot");
        let (status, answer) = env.post(&path, body.clone()).await;
        assert_eq!((status, answer), (400, json!({ "error": error })), "{body}");
    }
    assert_eq!(env.updates(&token).await, Vec::<Value>::new());

    let (status, body) =
        env.post(&path, json!({"bot_username": "strict_media_bot", "photo": {}, "caption": "😀".repeat(512)})).await;
    assert_eq!(status, 200, "{body}");
}
