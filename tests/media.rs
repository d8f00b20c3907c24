//! Media on sends and broadcasts: a file uploaded once reaches Telegram once
//! per bot and is removed once its sends have ended; every kind by URL,
//! `file_id` and upload, and albums; Telegram's rules refused up front with
//! a 422 naming the field, and nothing stored.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use novij_testkit::eventually;
use serde_json::{json, Value};
use support::{Layout, TestStack, COMMON_BOT, WAIT};
use telegram_sandbox::Limits;

const PROJECT: &str = "p_media";
const MB: usize = 1024 * 1024;

/// Bytes that are no real image: the sandbox, as Telegram for our purpose, checks sizes.
fn file_of(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn send(user: &str, key: &str, text: &str, media: Value) -> Value {
    let mut body = json!({"project_id": PROJECT, "integration_id": "", "recipient_ref": user,
        "template": "text_message", "template_vars": {"text": text}, "idempotency_key": key});
    if let (Some(b), Some(m)) = (body.as_object_mut(), media.as_object()) {
        b.extend(m.clone());
    }
    body
}

fn with_integration(mut body: Value, integration: &str) -> Value {
    body["integration_id"] = json!(integration);
    body
}

async fn upload_exists(stack: &TestStack, upload_id: &str) -> bool {
    let store = stack.jetstream().await.get_object_store("uploads").await.expect("the uploads bucket");
    store.info(upload_id).await.is_ok_and(|info| !info.deleted)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_uploaded_once_reaches_200_recipients_with_one_upload_and_is_removed_after() {
    let limits = Limits { scale: 10.0, ..Limits::telegram() };
    let env = [
        ("TELEGRAM_LIMIT_PER_BOT_PER_SECOND", "300"),
        ("TELEGRAM_LIMIT_PER_CHAT_PER_SECOND", "10"),
        ("TELEGRAM_LIMIT_PER_GROUP_PER_MINUTE", "200"),
    ];
    let stack = TestStack::start_custom(Layout::Separate, 1, limits, &env).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let users: Vec<String> = (0..200).map(|i| format!("user:{i}")).collect();
    let chats = stack.connect_users(PROJECT, &integration, &users).await;
    stack.wait_delivered(200, Duration::from_secs(60)).await;

    let uploaded = stack.upload(PROJECT, file_of(3 * MB), "chart.jpg", "image/jpeg").await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    assert_eq!((&uploaded.body["size"], &uploaded.body["content_type"]), (&json!(3 * MB), &json!("image/jpeg")));
    let upload_id = uploaded.body["upload_id"].as_str().expect("upload_id").to_string();
    assert!(upload_exists(&stack, &upload_id).await);

    let body = json!({"project_id": PROJECT, "integration_id": integration, "all_connected": true,
        "template": "text_message", "template_vars": {"text": "Weekly chart"},
        "media": {"type": "photo", "upload_id": upload_id}, "idempotency_key": "chart-1"});
    let created = stack.post("/api/v1/broadcasts", body).await;
    assert_eq!((created.status, &created.body["total"]), (202, &json!(200)), "{}", created.body);

    let all_there = eventually(Duration::from_secs(90), || async {
        let stats = stack.stats().await;
        let media = stats["media_by_upload"].as_u64()? + stats["media_by_file_id"].as_u64()?;
        (media >= 200).then_some(stats)
    })
    .await;
    let Ok(_) = all_there else { panic!("not every photo went out: {}\n{}", stack.stats().await, stack.output_tail()) };
    stack.wait_idle().await;
    let stats = stack.stats().await;
    assert_eq!(
        (&stats["uploads"], &stats["media_by_upload"], &stats["media_by_file_id"]),
        (&json!(1), &json!(1), &json!(199)),
        "one upload, then its file_id: {stats}"
    );
    let sent = stack.sent(COMMON_BOT).await;
    let mut photos: HashMap<i64, usize> = HashMap::new();
    for m in sent.iter().filter(|m| m["kind"] == "photo") {
        assert_eq!(m["caption"], "Weekly chart", "{m}");
        *photos.entry(m["chat_id"].as_i64().unwrap_or_default()).or_default() += 1;
    }
    assert!(chats.iter().all(|c| photos.get(c) == Some(&1)), "each recipient got the photo once: {photos:?}");
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]));

    // Every send has ended: the file is removed, and no later send may name it.
    let removed = eventually(WAIT, || async { (!upload_exists(&stack, &upload_id).await).then_some(()) }).await;
    assert!(removed.is_ok(), "the upload is still stored:\n{}", stack.output_tail());
    let again = stack
        .post(
            "/api/v1/send",
            with_integration(
                send("user:1", "late", "again", json!({"media": {"type": "photo", "upload_id": upload_id}})),
                &integration,
            ),
        )
        .await;
    assert_eq!((again.status, &again.body["error"]["field"]), (422, &json!("media.upload_id")), "{}", again.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_goes_by_url_upload_and_file_id_and_albums_go_whole() {
    let stack = TestStack::start(Layout::Single).await;
    let integration = stack.create_integration(PROJECT, None).await;
    let chat = stack.connect_user(PROJECT, &integration, "ann").await;
    let kinds = [
        ("photo", "image/png", "a.png"),
        ("video", "video/mp4", "a.mp4"),
        ("document", "application/pdf", "report.pdf"),
        ("audio", "audio/mpeg", "song.mp3"),
        ("animation", "video/mp4", "loop.mp4"),
        ("voice", "audio/ogg", "note.ogg"),
    ];
    let mut expected = 1; // the welcome
    for (kind, content_type, name) in kinds {
        let url = format!("https://files.example.org/{name}");
        let by_url = json!({"media": {"type": kind, "url": url}});
        let uploaded = stack.upload(PROJECT, file_of(2048), name, content_type).await;
        assert_eq!(uploaded.status, 201, "{}", uploaded.body);
        let by_upload = json!({"media": {"type": kind, "upload_id": uploaded.body["upload_id"]}});
        for (how, media) in [("url", by_url), ("upload", by_upload)] {
            let key = format!("{kind}-{how}");
            let r = stack.post("/api/v1/send", with_integration(send("ann", &key, &key, media), &integration)).await;
            assert_eq!(r.status, 202, "{key}: {}", r.body);
            stack.wait_send(r.body["send_id"].as_str().expect("send_id"), "sent").await;
            expected += 1;
        }
        let messages = stack.sent_to(chat).await;
        assert_eq!(messages.len(), expected);
        let by_upload = &messages[expected - 1];
        let by_url = &messages[expected - 2];
        assert_eq!(
            (&by_url["kind"], &by_url["source"], &by_url["url"]),
            (&json!(kind), &json!("url"), &json!(format!("https://files.example.org/{name}")))
        );
        assert_eq!((&by_upload["kind"], &by_upload["source"]), (&json!(kind), &json!("upload")), "{by_upload}");
        assert_eq!(by_upload["caption"], format!("{kind}-upload"));

        // A file_id Telegram gave the bot is sent as it is.
        let file_id = by_upload["file_id"].as_str().expect("file_id");
        let media = json!({"media": {"type": kind, "file_id": file_id}});
        let key = format!("{kind}-file_id");
        let r = stack.post("/api/v1/send", with_integration(send("ann", &key, &key, media), &integration)).await;
        assert_eq!(r.status, 202, "{key}: {}", r.body);
        stack.wait_send(r.body["send_id"].as_str().expect("send_id"), "sent").await;
        expected += 1;
        let last = stack.sent_to(chat).await.pop().expect("a message");
        assert_eq!(
            (&last["kind"], &last["source"], &last["file_id"]),
            (&json!(kind), &json!("file_id"), &json!(file_id))
        );
    }

    // An album: a photo uploaded and a video by URL, the template as its caption, a plain caption on the second.
    let photo = stack.upload(PROJECT, file_of(4096), "p.jpg", "image/jpeg").await;
    let album = json!({"media_group": [
        {"type": "photo", "upload_id": photo.body["upload_id"]},
        {"type": "video", "url": "https://files.example.org/v.mp4", "caption": "and <b>this</b>"},
    ]});
    let r = stack.post("/api/v1/send", with_integration(send("ann", "album", "Our <trip>", album), &integration)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    stack.wait_send(r.body["send_id"].as_str().expect("send_id"), "sent").await;
    let messages = stack.sent_to(chat).await;
    let items = &messages[expected..];
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!((&items[0]["kind"], &items[0]["caption"]), (&json!("photo"), &json!("Our <trip>")));
    assert_eq!(
        (&items[1]["kind"], &items[1]["caption"]),
        (&json!("video"), &json!("and <b>this</b>")),
        "plain text, not HTML"
    );
    assert!(items[0]["media_group_id"].is_string() && items[0]["media_group_id"] == items[1]["media_group_id"]);

    // Documents go together, uploaded in one call.
    let (a, b) = (
        stack.upload(PROJECT, file_of(1000), "a.pdf", "application/pdf").await,
        stack.upload(PROJECT, file_of(1000), "b.pdf", "application/pdf").await,
    );
    let docs = json!({"media_group": [
        {"type": "document", "upload_id": a.body["upload_id"], "filename": "Invoice.pdf"},
        {"type": "document", "upload_id": b.body["upload_id"]},
    ]});
    let r = stack.post("/api/v1/send", with_integration(send("ann", "docs", "Invoices", docs), &integration)).await;
    assert_eq!(r.status, 202, "{}", r.body);
    stack.wait_send(r.body["send_id"].as_str().expect("send_id"), "sent").await;
    let calls = stack.sandbox_get(&format!("/sandbox/calls?bot_username={COMMON_BOT}&method=sendMediaGroup")).await;
    let last = calls.as_array().and_then(|c| c.last()).cloned().unwrap_or_default();
    assert_eq!(last["status"], 200, "{last}");
    let names: Vec<&Value> = ["file0", "file1"].iter().map(|part| &last["params"][*part]["file_name"]).collect();
    assert_eq!(names, [&json!("Invoice.pdf"), &json!("b.pdf")], "{last}");
    assert_eq!(stack.sandbox_get("/sandbox/violations").await, json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn rule_breaking_media_are_refused_naming_the_field_and_nothing_is_stored() {
    let stack = TestStack::start_with(Layout::Single, &[("UPLOAD_MAX_BYTES", "12582912")]).await;
    let integration = stack.create_integration(PROJECT, None).await;
    stack.create_integration("p_other", None).await;
    stack.connect_user(PROJECT, &integration, "ann").await;
    let big = stack.upload(PROJECT, file_of(10 * MB + 1), "big.jpg", "image/jpeg").await;
    assert_eq!(big.status, 201, "{}", big.body);
    let theirs = stack.upload("p_other", file_of(10), "x.png", "image/png").await;
    let pdf = stack.upload(PROJECT, file_of(10), "x.pdf", "application/pdf").await;
    let (big, theirs, pdf) = (&big.body["upload_id"], &theirs.body["upload_id"], &pdf.body["upload_id"]);
    stack.wait_idle().await;
    let before = stack.stream_last_sequence("EVENTS").await;

    let photo = |extra: Value| {
        let mut item = json!({"type": "photo", "url": "https://files.example.org/a.jpg"});
        if let (Some(i), Some(e)) = (item.as_object_mut(), extra.as_object()) {
            i.extend(e.clone());
        }
        item
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"media": photo(json!({}))}), "x".repeat(1025).leak(), "template_vars.text"),
        (json!({"media": {"type": "photo", "upload_id": big}}), "big", "media.upload_id"),
        (json!({"media": {"type": "photo", "upload_id": pdf}}), "not an image", "media.upload_id"),
        (json!({"media": {"type": "photo", "upload_id": theirs}}), "another project's", "media.upload_id"),
        (json!({"media": {"type": "photo", "upload_id": "upl_0000"}}), "unknown", "media.upload_id"),
        (json!({"media": {"type": "photo", "url": "ftp://files.example.org/a.jpg"}}), "ftp", "media.url"),
        (json!({"media": photo(json!({"file_id": "AgAD"}))}), "two sources", "media"),
        (json!({"media": photo(json!({"caption": "mine"}))}), "caption", "media.caption"),
        (json!({"media": photo(json!({"filename": "a.jpg"}))}), "filename", "media.filename"),
        (json!({"media": {"type": "sticker", "url": "https://files.example.org/a.webp"}}), "sticker", "media.type"),
        (json!({"media_group": [photo(json!({}))]}), "one item", "media_group"),
        (json!({"media_group": vec![photo(json!({})); 11]}), "eleven", "media_group"),
        (
            json!({"media_group": [photo(json!({})), {"type": "document", "url": "https://files.example.org/a.pdf"}]}),
            "mixed",
            "media_group[1].type",
        ),
        (
            json!({"media_group": [{"type": "animation", "url": "https://files.example.org/a.gif"}, photo(json!({}))]}),
            "animation",
            "media_group[0].type",
        ),
        (
            json!({"media_group": [photo(json!({})), photo(json!({"caption": "y".repeat(1025)}))]}),
            "long caption",
            "media_group[1].caption",
        ),
        (
            json!({"media": photo(json!({})), "media_group": [photo(json!({})), photo(json!({}))]}),
            "both",
            "media_group",
        ),
    ];
    for (i, (media, text, field)) in cases.into_iter().enumerate() {
        let body = with_integration(send("ann", &format!("bad-{i}"), text, media), &integration);
        let r = stack.post("/api/v1/send", body).await;
        assert_eq!((r.status, &r.body["error"]["field"]), (422, &json!(field)), "case {i} ({text}): {}", r.body);
    }
    // A broadcast follows the same rules.
    let body = json!({"project_id": PROJECT, "integration_id": integration, "all_connected": true,
        "template": "text_message", "template_vars": {"text": "x"}, "idempotency_key": "bad-broadcast",
        "media_group": [photo(json!({}))]});
    let r = stack.post("/api/v1/broadcasts", body).await;
    assert_eq!((r.status, &r.body["error"]["field"]), (422, &json!("media_group")), "{}", r.body);

    // Uploads: over UPLOAD_MAX_BYTES, empty, without a project, not multipart.
    let too_big = stack.upload(PROJECT, file_of(12 * MB + 1), "huge.bin", "application/octet-stream").await;
    assert_eq!((too_big.status, &too_big.body["error"]["field"]), (413, &json!("file")), "{}", too_big.body);
    let empty = stack.upload(PROJECT, Vec::new(), "empty.bin", "application/octet-stream").await;
    assert_eq!((empty.status, &empty.body["error"]["field"]), (422, &json!("file")), "{}", empty.body);
    let not_multipart = stack.post_raw("/api/v1/uploads", b"{}".to_vec()).await;
    assert_eq!(not_multipart.status, 415, "{}", not_multipart.body);
    let foreign = stack.request(reqwest::Method::POST, "/api/v1/uploads", None, Some("wrong-key")).await;
    assert_eq!(foreign.status, 401, "{}", foreign.body);

    stack.wait_idle().await;
    assert_eq!(stack.stream_last_sequence("EVENTS").await, before, "a refused request wrote an event");
    let store = stack.jetstream().await.get_object_store("uploads").await.expect("bucket");
    let mut listed = store.list().await.expect("list");
    let mut objects = 0;
    while let Some(info) = futures::StreamExt::next(&mut listed).await {
        objects += usize::from(!info.expect("object").deleted);
    }
    assert_eq!(objects, 3, "only the three accepted uploads are stored");
}
