//! Bots sending photos, videos, documents, audio, animations and voice notes
//! (uploaded, by URL or by file_id) and albums with sendMediaGroup.

use serde_json::{json, Value};
use telegram_sandbox::{Limits, SandboxConfig};

use crate::support::{api_error, start, start_with, started_unlimited, Env};

/// Method, parameter and a file name of each single-media method.
const KINDS: [(&str, &str, &str); 6] = [
    ("sendPhoto", "photo", "cat.jpg"),
    ("sendVideo", "video", "clip.mp4"),
    ("sendDocument", "document", "report.pdf"),
    ("sendAudio", "audio", "song.mp3"),
    ("sendAnimation", "animation", "dance.gif"),
    ("sendVoice", "voice", "note.ogg"),
];

const TEN_MB: usize = 10 * 1024 * 1024;

/// The file of a message's media field: the largest size of a photo.
fn file_of(message: &Value, field: &str) -> Value {
    match &message[field] {
        Value::Array(sizes) => sizes.last().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// Uploads a photo; answers the file_id of its largest size.
async fn uploaded_photo(env: &Env, token: &str, chat: i64) -> String {
    let (status, body) =
        env.upload(token, "sendPhoto", json!({"chat_id": chat}), &[("photo", "p.jpg", &[1_u8; 2048][..])]).await;
    assert_eq!(status, 200, "{body}");
    file_of(&body["result"], "photo")["file_id"].as_str().expect("file_id").to_string()
}

/// Uploads 1000 bytes as `file_name` with `method`; answers the message's `field`.
async fn send_upload(
    env: &Env,
    token: &str,
    user: i64,
    method: &str,
    field: &str,
    file_name: &str,
    extra: Value,
) -> Value {
    let mut fields = json!({"chat_id": user});
    if let (Some(fields), Some(extra)) = (fields.as_object_mut(), extra.as_object()) {
        fields.extend(extra.clone());
    }
    let (status, body) = env.upload(token, method, fields, &[(field, file_name, &[5_u8; 1000][..])]).await;
    assert_eq!(status, 200, "{body}");
    body["result"][field].clone()
}

async fn stats(env: &Env, bot: &str) -> Value {
    let (status, stats) = env.get(&format!("/sandbox/stats?bot_username={bot}")).await;
    assert_eq!(status, 200, "{stats}");
    stats
}

#[tokio::test]
async fn every_media_kind_is_sent_by_upload_by_url_and_by_file_id() {
    let (env, token, user) = started_unlimited("media_kinds_bot").await;
    let bytes = vec![7_u8; 4321];
    for (method, field, file_name) in KINDS {
        let (status, uploaded) = env
            .upload(
                &token,
                method,
                json!({"chat_id": user, "caption": format!("{field} up")}),
                &[(field, file_name, &bytes)],
            )
            .await;
        assert_eq!(status, 200, "{method}: {uploaded}");
        let message = &uploaded["result"];
        let file = file_of(message, field);
        assert_eq!(file["file_size"], 4321, "{method}: {message}");
        assert_eq!(message["caption"], format!("{field} up"));
        assert_eq!(message["chat"]["id"], user);
        assert_eq!(message["from"]["username"], "media_kinds_bot");
        for (_, other, _) in KINDS.iter().filter(|(_, other, _)| *other != field) {
            assert!(message.get(*other).is_none(), "{method}: {message}");
        }
        assert!(message.get("text").is_none());

        // By URL: taken as fetched, with a plausible size of its own.
        let url = format!("https://files.example.com/media/{file_name}");
        let (status, by_url) = env.call(&token, method, json!({"chat_id": user, field: url})).await;
        assert_eq!(status, 200, "{method}: {by_url}");
        let url_file = file_of(&by_url["result"], field);
        assert!(url_file["file_size"].as_u64().is_some_and(|n| n > 0), "{url_file}");
        assert_ne!(url_file["file_unique_id"], file["file_unique_id"]);

        // By file_id: the same file, shown as it was.
        let (status, again) = env.call(&token, method, json!({"chat_id": user, field: file["file_id"]})).await;
        assert_eq!(status, 200, "{method}: {again}");
        assert_eq!(again["result"][field], message[field], "{method}");
    }

    // Each kind has the fields of its Bot API object.
    let (_, sent) = env.get("/sandbox/bots/media_kinds_bot/sent").await;
    let sent = sent.as_array().cloned().expect("records");
    assert_eq!(sent.len(), 18);
    let kinds: Vec<&str> = sent.iter().step_by(3).filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["photo", "video", "document", "audio", "animation", "voice"]);
    let sources: Vec<&str> = sent.iter().take(3).filter_map(|r| r["source"].as_str()).collect();
    assert_eq!(sources, ["upload", "url", "file_id"]);
    assert_eq!(sent[1]["url"], "https://files.example.com/media/cat.jpg");
    assert!(sent[0].get("text").is_none() && sent[0].get("media_group_id").is_none(), "{}", sent[0]);
    assert_eq!((&sent[0]["caption"], &sent[0]["raw_caption"]), (&json!("photo up"), &json!("photo up")));

    let (_, calls) = env.get("/sandbox/calls?bot_username=media_kinds_bot&method=sendDocument").await;
    assert_eq!(calls[0]["params"]["document"], json!({"file_name": "report.pdf", "file_size": 4321}));
    assert_eq!(calls[1]["params"]["document"], "https://files.example.com/media/report.pdf");

    let stats = stats(&env, "media_kinds_bot").await;
    assert_eq!(
        (
            &stats["uploads"],
            &stats["upload_bytes"],
            &stats["media_by_upload"],
            &stats["media_by_url"],
            &stats["media_by_file_id"],
            &stats["delivered"],
        ),
        (&json!(6), &json!(6 * 4321), &json!(6), &json!(6), &json!(6), &json!(18))
    );
}

#[tokio::test]
async fn each_kind_comes_back_as_its_bot_api_object() {
    let (env, token, user) = started_unlimited("media_shapes_bot").await;
    let without_ids = |mut file: Value| {
        let ids = (file["file_id"].as_str().map(String::from), file["file_unique_id"].as_str().map(String::from));
        assert!(ids.0.is_some() && ids.1.is_some(), "{file}");
        if let Some(fields) = file.as_object_mut() {
            fields.remove("file_id");
            fields.remove("file_unique_id");
        }
        file
    };

    // A photo is kept in sizes, smallest first, the largest last.
    let photo = send_upload(&env, &token, user, "sendPhoto", "photo", "cat.jpg", json!({})).await;
    let sides: Vec<(i64, i64)> = photo
        .as_array()
        .expect("sizes")
        .iter()
        .map(|s| (s["width"].as_i64().unwrap_or(0), s["height"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(sides, [(90, 67), (320, 240), (1280, 960)]);
    assert!(photo[0]["file_id"].as_str().is_some_and(|id| id.starts_with("AgAC")), "{photo}");

    let video = send_upload(
        &env,
        &token,
        user,
        "sendVideo",
        "video",
        "clip.mov",
        json!({"width": 640, "height": 360, "duration": 12}),
    )
    .await;
    assert!(video["file_id"].as_str().is_some_and(|id| id.starts_with("BAAC")), "{video}");
    assert_eq!(
        without_ids(video),
        json!({"width": 640, "height": 360, "duration": 12, "file_name": "clip.mov", "mime_type": "video/quicktime", "file_size": 1000})
    );
    let document = send_upload(&env, &token, user, "sendDocument", "document", "report.pdf", json!({})).await;
    assert_eq!(
        without_ids(document),
        json!({"file_name": "report.pdf", "mime_type": "application/pdf", "file_size": 1000})
    );
    let audio = send_upload(
        &env,
        &token,
        user,
        "sendAudio",
        "audio",
        "song.mp3",
        json!({"performer": "Band", "title": "Song", "duration": 200}),
    )
    .await;
    assert_eq!(
        without_ids(audio),
        json!({"duration": 200, "performer": "Band", "title": "Song", "file_name": "song.mp3", "mime_type": "audio/mpeg", "file_size": 1000})
    );
    let animation = send_upload(&env, &token, user, "sendAnimation", "animation", "dance.gif", json!({})).await;
    assert_eq!(
        without_ids(animation),
        json!({"width": 0, "height": 0, "duration": 0, "file_name": "dance.gif", "mime_type": "video/mp4", "file_size": 1000})
    );
    let voice = send_upload(&env, &token, user, "sendVoice", "voice", "note.ogg", json!({"duration": 3})).await;
    assert_eq!(without_ids(voice), json!({"duration": 3, "mime_type": "audio/ogg", "file_size": 1000}));

    // A document fetched from a URL is named after it.
    let (status, body) = env
        .call(&token, "sendDocument", json!({"chat_id": user, "document": "https://example.com/files/terms.pdf?v=2"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["document"]["file_name"], "terms.pdf");
    assert_eq!(body["result"]["document"]["mime_type"], "application/pdf");
}

#[tokio::test]
async fn file_ids_serve_only_the_bot_that_received_them_and_only_as_their_kind() {
    let (env, token, user) = started_unlimited("owner_media_bot").await;
    let (other_token, _) = env.create_bot("other_media_bot").await;
    env.press_start(user, "other_media_bot", None).await;
    let photo_id = uploaded_photo(&env, &token, user).await;

    let (status, body) = env.call(&other_token, "sendPhoto", json!({"chat_id": user, "photo": photo_id})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: wrong file identifier/HTTP URL specified")));
    // In an album, Telegram's servers refuse the whole album as its first message's failure.
    let album = json!([
        {"type": "photo", "media": "https://example.com/a.jpg"},
        {"type": "photo", "media": photo_id},
    ]);
    let (status, body) = env.call(&other_token, "sendMediaGroup", json!({"chat_id": user, "media": album})).await;
    assert_eq!(
        (status, body),
        (
            400,
            api_error(
                400,
                "Bad Request: failed to send message #1 with the error message \"Wrong file identifier/HTTP URL specified\""
            )
        )
    );

    // TDLib knows a file's type from its id: a photo is no document, but
    // document-like files stand for each other.
    let (status, body) = env.call(&token, "sendDocument", json!({"chat_id": user, "document": photo_id})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: can't use file of type Photo as Document")));
    let (status, video) =
        env.upload(&token, "sendVideo", json!({"chat_id": user}), &[("video", "v.mp4", &[3_u8; 300][..])]).await;
    assert_eq!(status, 200, "{video}");
    let video_id = video["result"]["video"]["file_id"].clone();
    let (status, body) = env.call(&token, "sendPhoto", json!({"chat_id": user, "photo": video_id})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: can't use file of type Video as Photo")));
    let (status, body) = env.call(&token, "sendDocument", json!({"chat_id": user, "document": video_id})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["video"], video["result"]["video"]);

    // A file a user sent the bot is the bot's to send on.
    let (status, _) = env
        .post(
            &format!("/sandbox/users/{user}/messages"),
            json!({"bot_username": "owner_media_bot", "document": {"file_name": "scan.pdf"}}),
        )
        .await;
    assert_eq!(status, 200);
    let updates = env.updates(&token).await;
    let received = updates.last().map(|u| u["message"]["document"].clone()).expect("the user's document");
    let (status, body) =
        env.call(&token, "sendDocument", json!({"chat_id": user, "document": received["file_id"]})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["document"], received);
    let (status, body) =
        env.call(&other_token, "sendDocument", json!({"chat_id": user, "document": received["file_id"]})).await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Bad Request: wrong file identifier/HTTP URL specified"))
    );

    // What is neither a file_id nor a URL, and a missing file.
    let refusals = [
        (
            json!({"photo": "my cat photo"}),
            "Bad Request: wrong remote file identifier specified: Wrong character in the string",
        ),
        (json!({"photo": "AgACAAAAAAAAAAAAAAAAAAAA"}), "Bad Request: wrong file identifier/HTTP URL specified"),
        (json!({"photo": "/tmp/cat.jpg"}), "Bad Request: invalid file HTTP URL specified: URL host is empty"),
        (
            json!({"photo": "ftp://example.com/cat.jpg"}),
            "Bad Request: invalid file HTTP URL specified: Unsupported URL protocol",
        ),
        (json!({}), "Bad Request: there is no photo in the request"),
        (json!({"photo": "attach://missing"}), "Bad Request: there is no photo in the request"),
    ];
    for (mut params, description) in refusals {
        params["chat_id"] = json!(user);
        let (status, body) = env.call(&token, "sendPhoto", params.clone()).await;
        assert_eq!((status, body), (400, api_error(400, description)), "{params}");
    }
    let (status, body) = env.call(&token, "sendVoice", json!({"chat_id": user})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: there is no voice in the request")));
}

#[tokio::test]
async fn uploads_are_held_to_telegrams_size_limits() {
    let (env, token, user) = started_unlimited("heavy_media_bot").await;
    let just_over = vec![0_u8; TEN_MB + 1];
    let (status, body) =
        env.upload(&token, "sendPhoto", json!({"chat_id": user}), &[("photo", "huge.jpg", &just_over)]).await;
    assert_eq!(
        (status, body),
        (
            400,
            api_error(
                400,
                "Bad Request: file of size 10485761 bytes is too big for a photo; the maximum size is 10485760 bytes"
            )
        )
    );
    let (status, body) =
        env.upload(&token, "sendPhoto", json!({"chat_id": user}), &[("photo", "big.jpg", &just_over[1..])]).await;
    assert_eq!(status, 200, "10 MB is still a photo: {body}");
    let (status, body) =
        env.upload(&token, "sendDocument", json!({"chat_id": user}), &[("document", "huge.jpg", &just_over)]).await;
    assert_eq!(status, 200, "a document may be bigger: {body}");
    assert_eq!(body["result"]["document"]["file_size"], TEN_MB + 1);
    let (status, body) =
        env.upload(&token, "sendDocument", json!({"chat_id": user}), &[("document", "empty.txt", &[][..])]).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: file must be non-empty")));

    // Over 50 MB, Telegram's front refuses the request before the Bot API reads it.
    let too_big = vec![0_u8; 50 * 1024 * 1024];
    let (status, body) =
        env.upload(&token, "sendDocument", json!({"chat_id": user}), &[("document", "movie.mkv", &too_big)]).await;
    assert_eq!((status, body), (413, api_error(413, "Request Entity Too Large")));

    let stats = stats(&env, "heavy_media_bot").await;
    assert_eq!((&stats["uploads"], &stats["media_by_upload"], &stats["delivered"]), (&json!(4), &json!(2), &json!(2)));
}

#[tokio::test]
async fn the_upload_counter_counts_every_file_part_received() {
    let (env, token, user) = started_unlimited("counting_media_bot").await;
    assert_eq!(stats(&env, "counting_media_bot").await["uploads"], 0);
    // A call that fails still received its file; so did a part nobody asked for.
    let (status, _) =
        env.upload(&token, "sendPhoto", json!({"chat_id": 42}), &[("photo", "a.jpg", &[1_u8; 10][..])]).await;
    assert_eq!(status, 400);
    let (status, body) = env
        .upload(
            &token,
            "sendPhoto",
            json!({"chat_id": user, "photo": "attach://second"}),
            &[("first", "a.jpg", &[1_u8; 10][..]), ("second", "b.jpg", &[2_u8; 20][..])],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(file_of(&body["result"], "photo")["file_size"], 20);
    // Parameters alone upload nothing, in a multipart body or not.
    let photo_id = file_of(&body["result"], "photo")["file_id"].clone();
    let (status, _) = env.upload(&token, "sendPhoto", json!({"chat_id": user, "photo": photo_id}), &[]).await;
    assert_eq!(status, 200);
    let (status, _) =
        env.call(&token, "sendPhoto", json!({"chat_id": user, "photo": "https://example.com/c.jpg"})).await;
    assert_eq!(status, 200);

    let stats = stats(&env, "counting_media_bot").await;
    assert_eq!(
        (
            &stats["uploads"],
            &stats["upload_bytes"],
            &stats["media_by_upload"],
            &stats["media_by_file_id"],
            &stats["media_by_url"]
        ),
        (&json!(3), &json!(40), &json!(1), &json!(1), &json!(1))
    );

    // A malformed body gets the Bot API's reader errors and uploads nothing.
    let response = env
        .http
        .post(format!("{}/bot{token}/sendPhoto", env.base))
        .header("content-type", "multipart/form-data")
        .body("--x\r\n")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, api_error(400, "Bad Request: boundary not found"));
}

#[tokio::test]
async fn captions_are_formatted_and_limited_like_text() {
    let (env, token, user) = started_unlimited("caption_media_bot").await;
    let photo = "https://example.com/photo.jpg";
    let markup = json!({"inline_keyboard": [[{"text": "Like", "callback_data": "like"}]]});
    let (status, first) = env
        .call(
            &token,
            "sendPhoto",
            json!({"chat_id": user, "photo": photo, "caption": "<b>Big</b> news", "parse_mode": "HTML", "reply_markup": markup}),
        )
        .await;
    assert_eq!(status, 200, "{first}");
    let message = &first["result"];
    assert_eq!(message["caption"], "Big news");
    assert_eq!(message["caption_entities"], json!([{"type": "bold", "offset": 0, "length": 3}]));
    assert_eq!(message["reply_markup"], markup);

    // Replies work as for text.
    let reply = json!({"message_id": message["message_id"]});
    let (status, body) = env
        .call(
            &token,
            "sendVideo",
            json!({"chat_id": user, "video": "https://example.com/v.mp4", "reply_parameters": reply}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["reply_to_message"]["photo"], message["photo"]);
    let (status, body) = env
        .call(&token, "sendPhoto", json!({"chat_id": user, "photo": photo, "reply_parameters": {"message_id": 999}}))
        .await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: message to be replied not found")));

    // 1024 characters after entity parsing; markup does not count.
    let longest = "a".repeat(1024);
    for (caption, mode, status) in [
        (longest.clone(), None, 200),
        (format!("{longest}b"), None, 400),
        (format!("<i>{longest}</i>"), Some("HTML"), 200),
    ] {
        let (got, body) = env
            .call(&token, "sendDocument", json!({"chat_id": user, "document": "https://example.com/d.pdf", "caption": caption, "parse_mode": mode}))
            .await;
        assert_eq!(got, status, "{body}");
        if status == 400 {
            assert_eq!(body, api_error(400, "Bad Request: message caption is too long"));
        }
    }
    let (status, body) = env
        .call(&token, "sendPhoto", json!({"chat_id": user, "photo": photo, "caption": "<b>open", "parse_mode": "HTML"}))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["description"].as_str().is_some_and(|d| d.starts_with("Bad Request: can't parse entities: ")),
        "{body}"
    );
    // No caption, nothing to parse: a parse_mode alone is fine.
    let (status, body) =
        env.call(&token, "sendPhoto", json!({"chat_id": user, "photo": photo, "parse_mode": "HTML"})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"].get("caption").is_none());

    // A media message has no text to edit; its keyboard can be changed.
    let id = message["message_id"].clone();
    let (status, body) =
        env.call(&token, "editMessageText", json!({"chat_id": user, "message_id": id, "text": "x"})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: there is no text in the message to edit")));
    let (status, body) = env.call(&token, "editMessageReplyMarkup", json!({"chat_id": user, "message_id": id})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["result"].get("reply_markup").is_none() && body["result"]["photo"] == message["photo"], "{body}");
    let (_, sent) = env.get("/sandbox/bots/caption_media_bot/sent").await;
    let last = sent.as_array().and_then(|s| s.last()).cloned().expect("a record");
    assert_eq!(
        (&last["kind"], &last["method"], &last["caption"]),
        (&json!("photo"), &json!("editMessageReplyMarkup"), &json!("Big news"))
    );
}

#[tokio::test]
async fn an_album_shares_a_media_group_id_and_lands_in_the_chat() {
    let (env, token, user) = started_unlimited("album_bot").await;
    let photo_id = uploaded_photo(&env, &token, user).await;
    let media = json!([
        {"type": "photo", "media": "attach://first", "caption": "<i>one</i>", "parse_mode": "HTML"},
        {"type": "video", "media": "attach://clip", "width": 1920, "height": 1080, "duration": 5},
        {"type": "photo", "media": "https://example.com/third.jpg"},
        {"type": "photo", "media": photo_id},
    ]);
    let markup = json!({"inline_keyboard": [[{"text": "x", "callback_data": "x"}]]});
    let (status, body) = env
        .upload(
            &token,
            "sendMediaGroup",
            json!({"chat_id": user, "media": media, "reply_markup": markup}),
            &[("first", "1.jpg", &[1_u8; 100][..]), ("clip", "2.mp4", &[2_u8; 200][..])],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let messages = body["result"].as_array().cloned().expect("messages");
    assert_eq!(messages.len(), 4);
    let group_id = messages[0]["media_group_id"].as_str().expect("media_group_id").to_string();
    assert!(group_id.bytes().all(|b| b.is_ascii_digit()), "{group_id}");
    let first_id = messages[0]["message_id"].as_i64().expect("message_id");
    for (i, message) in messages.iter().enumerate() {
        assert_eq!(message["media_group_id"], group_id);
        assert_eq!(message["message_id"], first_id + i as i64);
        assert!(message.get("reply_markup").is_none(), "albums take no keyboard: {message}");
    }
    assert_eq!(messages[0]["caption"], "one");
    assert_eq!(messages[0]["caption_entities"], json!([{"type": "italic", "offset": 0, "length": 3}]));
    assert_eq!(file_of(&messages[0], "photo")["file_size"], 100);
    assert_eq!(
        (&messages[1]["video"]["width"], &messages[1]["video"]["duration"], &messages[1]["video"]["file_size"]),
        (&json!(1920), &json!(5), &json!(200))
    );
    assert!(messages[2]["photo"].is_array() && messages[1].get("caption").is_none());
    assert_eq!(file_of(&messages[3], "photo")["file_id"], photo_id);

    let (_, sent) = env.get("/sandbox/bots/album_bot/sent").await;
    let album: Vec<Value> = sent.as_array().cloned().expect("records").into_iter().skip(1).collect();
    let shape: Vec<(&str, &str, &str)> = album
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or(""),
                r["source"].as_str().unwrap_or(""),
                r["media_group_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("photo", "upload", &*group_id),
            ("video", "upload", &*group_id),
            ("photo", "url", &*group_id),
            ("photo", "file_id", &*group_id)
        ]
    );
    assert_eq!((&album[0]["caption"], &album[0]["raw_caption"]), (&json!("one"), &json!("<i>one</i>")));
    assert!(album.iter().all(|r| r["method"] == "sendMediaGroup"));

    // The messages are in the chat: they can be replied to.
    let (status, body) = env
        .call(
            &token,
            "sendMessage",
            json!({"chat_id": user, "text": "nice", "reply_parameters": {"message_id": first_id + 1}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["reply_to_message"]["video"], messages[1]["video"]);
    assert_eq!(body["result"]["reply_to_message"]["media_group_id"], group_id);

    let stats = stats(&env, "album_bot").await;
    assert_eq!(
        (
            &stats["uploads"],
            &stats["media_by_upload"],
            &stats["media_by_url"],
            &stats["media_by_file_id"],
            &stats["delivered"]
        ),
        (&json!(3), &json!(3), &json!(1), &json!(1), &json!(6))
    );
}

#[tokio::test]
async fn albums_follow_telegrams_rules() {
    let (env, token, user) = started_unlimited("album_rules_bot").await;
    let item = |kind: &str| json!({"type": kind, "media": format!("https://example.com/f.{kind}")});
    let album = |items: Vec<Value>| json!({"chat_id": user, "media": items});
    let refusals = [
        (vec![item("photo"), item("document")], "Bad Request: document can't be mixed with other media types"),
        (vec![item("audio"), item("video")], "Bad Request: audio can't be mixed with other media types"),
        (vec![item("photo"); 11], "Bad Request: too many messages to send as an album"),
        (vec![], "Bad Request: there are no messages to send"),
        (
            vec![item("photo"), item("animation")],
            "Bad Request: can't parse InputMedia: type \"animation\" can't be used in sendMediaGroup",
        ),
        (
            vec![item("photo"), json!({"type": "photo", "media": "attach://nothing"})],
            "Bad Request: can't parse InputMedia: media not found",
        ),
        (
            vec![item("photo"), json!({"type": "photo", "media": "x.jpg", "caption": "a".repeat(1025)})],
            "Bad Request: message caption is too long",
        ),
    ];
    for (items, description) in refusals {
        let (status, body) = env.call(&token, "sendMediaGroup", album(items.clone())).await;
        assert_eq!((status, body), (400, api_error(400, description)), "{items:?}");
    }
    let (status, body) = env.call(&token, "sendMediaGroup", json!({"chat_id": user})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: parameter \"media\" is required")));
    let (status, body) = env.call(&token, "sendMediaGroup", json!({"chat_id": user, "media": "{not json"})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: can't parse media JSON object")));
    let (_, sent) = env.get("/sandbox/bots/album_rules_bot/sent").await;
    assert_eq!(sent, json!([]), "refused albums send nothing");

    // Documents go with documents, audio with audio, up to 10.
    for items in
        [vec![item("document"); 2], vec![item("audio"); 3], vec![item("photo"), item("video")], vec![item("photo"); 10]]
    {
        let count = items.len();
        let (status, body) = env.call(&token, "sendMediaGroup", album(items)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"].as_array().map(Vec::len), Some(count));
    }
    // A single item is sent as a plain message (TDLib makes no album of one).
    let (status, body) = env.call(&token, "sendMediaGroup", album(vec![item("photo")])).await;
    assert_eq!(status, 200, "{body}");
    let single = body["result"].as_array().cloned().expect("an array");
    assert_eq!(single.len(), 1);
    assert!(single[0]["photo"].is_array() && single[0].get("media_group_id").is_none(), "{}", single[0]);
}

#[tokio::test]
async fn every_item_of_an_album_counts_against_the_flood_limits() {
    let env = start().await;
    let (token, _) = env.create_bot("busy_album_bot").await;
    let user = env.create_user("Noor").await;
    env.press_start(user, "busy_album_bot", None).await;
    let group = env.create_group("Album fans", "supergroup", &[user]).await;
    env.add_bot_to_group(group, "busy_album_bot", None).await;
    let photos = |n: usize, chat: i64| {
        let items: Vec<Value> =
            (0..n).map(|i| json!({"type": "photo", "media": format!("https://example.com/{i}.jpg")})).collect();
        json!({"chat_id": chat, "media": items})
    };

    // A group takes 20 messages a minute: two albums of 10, then nothing more.
    for _ in 0..2 {
        let (status, body) = env.call(&token, "sendMediaGroup", photos(10, group)).await;
        assert_eq!(status, 200, "{body}");
    }
    let response = env.call_raw(&token, "sendMediaGroup", photos(2, group)).await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["description"], format!("Too Many Requests: retry after {retry_after}"));
    assert_eq!(body["parameters"]["retry_after"], retry_after);

    // A private chat lets an album through at once, then waits a second.
    let (status, body) = env.call(&token, "sendMediaGroup", photos(3, user)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        env.call(&token, "sendPhoto", json!({"chat_id": user, "photo": "https://example.com/x.jpg"})).await;
    assert_eq!((status, &body["description"]), (429, &json!("Too Many Requests: retry after 1")));

    let (_, violations) = env.get("/sandbox/violations").await;
    let seen: Vec<(&str, &str)> = violations
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| (v["method"].as_str().unwrap_or(""), v["scope"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(seen, [("sendMediaGroup", "group"), ("sendPhoto", "chat")]);
    let stats = stats(&env, "busy_album_bot").await;
    assert_eq!((&stats["delivered"], &stats["message_calls"]), (&json!(23), &json!(5)));

    // The bot's limit counts every message too: 10 and 3 are more than 12 a second.
    let env = start_with(SandboxConfig {
        limits: Limits { per_bot_per_second: 12, ..Limits::telegram() },
        ..SandboxConfig::default()
    })
    .await;
    let (token, _) = env.create_bot("bursty_album_bot").await;
    let member = env.create_user("Omar").await;
    let mut groups = Vec::new();
    for title in ["One", "Two"] {
        let group = env.create_group(title, "supergroup", &[member]).await;
        env.add_bot_to_group(group, "bursty_album_bot", None).await;
        groups.push(group);
    }
    let (status, body) = env.call(&token, "sendMediaGroup", photos(10, groups[0])).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = env.call(&token, "sendMediaGroup", photos(3, groups[1])).await;
    assert_eq!(status, 429);
    let (_, violations) = env.get("/sandbox/violations").await;
    assert_eq!(violations[0]["scope"], "bot");
}

#[tokio::test]
async fn media_go_only_where_text_may_go() {
    let (env, token, user) = started_unlimited("guarded_media_bot").await;
    let stranger = env.create_user("Stranger").await;
    let lonely_group = env.create_group("No bots", "supergroup", &[user]).await;
    let photo = "https://example.com/p.jpg";
    let album = json!([{"type": "photo", "media": photo}, {"type": "photo", "media": photo}]);
    let cases = [
        (987_654_321, 400, "Bad Request: chat not found"),
        (stranger, 403, "Forbidden: bot can't initiate conversation with a user"),
        (lonely_group, 403, "Forbidden: bot is not a member of the supergroup chat"),
    ];
    for (chat, status, description) in cases {
        let (got, body) = env.call(&token, "sendPhoto", json!({"chat_id": chat, "photo": photo})).await;
        assert_eq!((got, body), (status, api_error(status, description)), "sendPhoto to {chat}");
        let (got, body) = env.call(&token, "sendMediaGroup", json!({"chat_id": chat, "media": album})).await;
        assert_eq!((got, body), (status, api_error(status, description)), "sendMediaGroup to {chat}");
    }
    let (status, body) =
        env.post(&format!("/sandbox/users/{user}/block"), json!({"bot_username": "guarded_media_bot"})).await;
    assert_eq!(status, 200, "{body}");
    let blocked = api_error(403, "Forbidden: bot was blocked by the user");
    let (status, body) =
        env.upload(&token, "sendDocument", json!({"chat_id": user}), &[("document", "a.txt", &b"hello"[..])]).await;
    assert_eq!((status, body), (403, blocked.clone()));
    let (status, body) = env.call(&token, "sendMediaGroup", json!({"chat_id": user, "media": album})).await;
    assert_eq!((status, body), (403, blocked));
    let (status, body) = env.call(&token, "sendVoice", json!({"voice": "https://example.com/v.ogg"})).await;
    assert_eq!((status, body), (400, api_error(400, "Bad Request: chat_id is empty")));

    let (_, sent) = env.get("/sandbox/bots/guarded_media_bot/sent").await;
    assert_eq!(sent, json!([]));
    let stats = stats(&env, "guarded_media_bot").await;
    assert_eq!((&stats["uploads"], &stats["media_by_upload"]), (&json!(1), &json!(0)));
}
