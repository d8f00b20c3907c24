//! Media sent through the real HTTP path (JSON and multipart) to the
//! project's Telegram emulator, checked through its control API.

use std::time::Duration;

use bytes::Bytes;
use novij_telegram_client::{
    BotApi, BotApiErrorKind, ForbiddenReason, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, InputMedia,
    MediaKind, ReplyParameters, SendMedia, SendMediaGroup,
};
use serde_json::{json, Value};
use telegram_sandbox::{Limits, RunningSandbox, SandboxConfig};

struct Env {
    _sandbox: RunningSandbox,
    http: reqwest::Client,
    base: String,
    api: BotApi,
}

impl Env {
    async fn start() -> Self {
        let config = SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() };
        let sandbox = telegram_sandbox::start(config).await.expect("sandbox starts");
        let base = sandbox.base_url();
        let api = BotApi::new(&base, Duration::from_secs(10)).expect("client");
        Self { _sandbox: sandbox, http: reqwest::Client::new(), base, api }
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}/sandbox{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("control request");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON body");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    async fn get(&self, path: &str) -> Value {
        self.control(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.control(reqwest::Method::POST, path, Some(body)).await
    }

    /// Creates a bot; answers its token.
    async fn bot(&self, username: &str) -> String {
        let created = self.post("/bots", json!({"username": username, "first_name": "Test Bot"})).await;
        created["token"].as_str().expect("token").to_string()
    }

    /// Creates a user; answers its id (also its private chat's).
    async fn user(&self, first_name: &str) -> i64 {
        self.post("/users", json!({"first_name": first_name})).await["user_id"].as_i64().expect("user_id")
    }

    /// The user presses Start, so the bot may write to them.
    async fn press_start(&self, user: i64, bot: &str) {
        self.post(&format!("/users/{user}/start"), json!({"bot_username": bot})).await;
    }

    /// A bot and a user who started it: (token, user id).
    async fn bot_and_user(&self, bot: &str) -> (String, i64) {
        let token = self.bot(bot).await;
        let user = self.user("Mia").await;
        self.press_start(user, bot).await;
        (token, user)
    }

    /// What the sandbox recorded as sent by `bot`: (kind, source) of each.
    async fn sent(&self, bot: &str) -> Vec<(String, String)> {
        let sent = self.get(&format!("/bots/{bot}/sent")).await;
        sent.as_array()
            .expect("records")
            .iter()
            .map(|r| (r["kind"].as_str().unwrap_or("").to_string(), r["source"].as_str().unwrap_or("").to_string()))
            .collect()
    }

    async fn stats(&self, bot: &str) -> Value {
        self.get(&format!("/stats?bot_username={bot}")).await
    }
}

fn upload(len: usize, filename: &str, content_type: &str) -> InputFile {
    InputFile::Upload {
        bytes: Bytes::from(vec![7_u8; len]),
        filename: filename.into(),
        content_type: content_type.into(),
    }
}

fn media(chat_id: i64, kind: MediaKind, file: InputFile) -> SendMedia {
    SendMedia::new(chat_id, kind, file)
}

fn item(kind: MediaKind, file: InputFile) -> InputMedia {
    InputMedia { kind, file, caption: None, parse_mode: None }
}

#[tokio::test]
async fn an_uploaded_photo_is_sent_again_by_its_file_id() {
    let env = Env::start().await;
    let (token, user) = env.bot_and_user("upload_photo_bot").await;
    let markup = InlineKeyboardMarkup {
        inline_keyboard: vec![vec![InlineKeyboardButton {
            text: "Like".into(),
            callback_data: Some("like".into()),
            url: None,
        }]],
    };
    let first = env
        .api
        .send_media(
            &token,
            &SendMedia {
                caption: Some("<b>Cat</b>".into()),
                parse_mode: Some("HTML".into()),
                reply_markup: Some(markup),
                ..media(user, MediaKind::Photo, upload(2048, "cat.jpg", "image/jpeg"))
            },
        )
        .await
        .expect("photo uploaded");
    let sizes = first.photo.as_ref().expect("photo sizes");
    assert_eq!(sizes.last().and_then(|s| s.file_size), Some(2048));
    let file_id = first.file_id(MediaKind::Photo).expect("file_id").to_string();
    assert_eq!(first.file_id(MediaKind::Document), None);

    let second = env
        .api
        .send_media(
            &token,
            &SendMedia {
                reply_parameters: Some(ReplyParameters {
                    message_id: first.message_id,
                    allow_sending_without_reply: false,
                }),
                ..media(user, MediaKind::Photo, InputFile::FileId(file_id.clone()))
            },
        )
        .await
        .expect("photo sent by file_id");
    assert_eq!(second.file_id(MediaKind::Photo), Some(&*file_id));
    assert_ne!(second.message_id, first.message_id);

    assert_eq!(
        env.sent("upload_photo_bot").await,
        [("photo".into(), "upload".into()), ("photo".into(), "file_id".into())]
    );
    let sent = env.get("/bots/upload_photo_bot/sent").await;
    // The caption and keyboard came as text parts of the multipart body.
    assert_eq!((&sent[0]["caption"], &sent[0]["raw_caption"]), (&json!("Cat"), &json!("<b>Cat</b>")));
    let calls = env.get("/calls?bot_username=upload_photo_bot&method=sendPhoto").await;
    assert_eq!(calls[0]["params"]["photo"], json!({"file_name": "cat.jpg", "file_size": 2048}));
    let stats = env.stats("upload_photo_bot").await;
    assert_eq!(
        (&stats["uploads"], &stats["upload_bytes"], &stats["media_by_upload"], &stats["media_by_file_id"]),
        (&json!(1), &json!(2048), &json!(1), &json!(1))
    );
}

#[tokio::test]
async fn a_document_is_sent_by_url_as_json() {
    let env = Env::start().await;
    let (token, user) = env.bot_and_user("url_document_bot").await;
    let url = "https://files.example.com/docs/terms.pdf";
    let message = env
        .api
        .send_media(
            &token,
            &SendMedia {
                caption: Some("Terms".into()),
                allow_paid_broadcast: true,
                ..media(user, MediaKind::Document, InputFile::Url(url.into()))
            },
        )
        .await
        .expect("document sent");
    let document = message.document.as_ref().expect("document");
    assert_eq!(message.file_id(MediaKind::Document), Some(document.file_id.as_str()));

    assert_eq!(env.sent("url_document_bot").await, [("document".into(), "url".into())]);
    let sent = env.get("/bots/url_document_bot/sent").await;
    assert_eq!((&sent[0]["url"], &sent[0]["caption"]), (&json!(url), &json!("Terms")));
    let calls = env.get("/calls?bot_username=url_document_bot&method=sendDocument").await;
    assert_eq!(calls[0]["params"]["allow_paid_broadcast"], true);
    let stats = env.stats("url_document_bot").await;
    assert_eq!((&stats["uploads"], &stats["media_by_url"]), (&json!(0), &json!(1)));
}

#[tokio::test]
async fn an_album_of_two_uploads_is_attached_by_part_name() {
    let env = Env::start().await;
    let (token, user) = env.bot_and_user("upload_album_bot").await;
    let params = SendMediaGroup {
        chat_id: user,
        items: vec![
            InputMedia {
                caption: Some("<i>one</i>".into()),
                parse_mode: Some("HTML".into()),
                ..item(MediaKind::Photo, upload(100, "one.jpg", "image/jpeg"))
            },
            item(MediaKind::Photo, upload(200, "two.png", "image/png")),
        ],
        allow_paid_broadcast: false,
        reply_parameters: None,
    };
    let messages = env.api.send_media_group(&token, &params).await.expect("album sent");
    assert_eq!(messages.len(), 2);
    let group = messages[0].media_group_id.clone();
    assert!(group.is_some());
    assert_eq!(messages[1].media_group_id, group);
    let sizes: Vec<Option<u64>> =
        messages.iter().map(|m| m.photo.as_ref().and_then(|p| p.last()).and_then(|s| s.file_size)).collect();
    assert_eq!(sizes, [Some(100), Some(200)]);
    assert!(messages.iter().all(|m| m.file_id(MediaKind::Photo).is_some()));

    assert_eq!(
        env.sent("upload_album_bot").await,
        [("photo".into(), "upload".into()), ("photo".into(), "upload".into())]
    );
    let sent = env.get("/bots/upload_album_bot/sent").await;
    assert_eq!((&sent[0]["caption"], &sent[0]["raw_caption"]), (&json!("one"), &json!("<i>one</i>")));
    let calls = env.get("/calls?bot_username=upload_album_bot&method=sendMediaGroup").await;
    let params = &calls[0]["params"];
    assert_eq!(
        (&params["file0"], &params["file1"]),
        (&json!({"file_name": "one.jpg", "file_size": 100}), &json!({"file_name": "two.png", "file_size": 200}))
    );
    let media: Value = match &params["media"] {
        Value::String(text) => serde_json::from_str(text).expect("media JSON"),
        other => other.clone(),
    };
    assert_eq!(
        media,
        json!([
            {"type": "photo", "media": "attach://file0", "caption": "<i>one</i>", "parse_mode": "HTML"},
            {"type": "photo", "media": "attach://file1"},
        ])
    );
    let stats = env.stats("upload_album_bot").await;
    assert_eq!((&stats["uploads"], &stats["media_by_upload"]), (&json!(2), &json!(2)));
}

#[tokio::test]
async fn an_album_mixing_a_document_and_a_photo_is_refused() {
    let env = Env::start().await;
    let (token, user) = env.bot_and_user("mixed_album_bot").await;
    let params = SendMediaGroup {
        chat_id: user,
        items: vec![
            item(MediaKind::Document, InputFile::Url("https://example.com/a.pdf".into())),
            item(MediaKind::Photo, upload(50, "b.jpg", "image/jpeg")),
        ],
        allow_paid_broadcast: false,
        reply_parameters: None,
    };
    let error = env.api.send_media_group(&token, &params).await.expect_err("refused");
    assert_eq!(error.kind(), BotApiErrorKind::BadRequest);
    assert_eq!(error.description(), "Bad Request: document can't be mixed with other media types");
    assert_eq!(error.album_failed_item(), None, "nothing of it was sent");
    assert!(!error.to_string().contains(&token) && !format!("{error:?}").contains(&token));
    assert_eq!(env.sent("mixed_album_bot").await, []);
}

#[tokio::test]
async fn a_failed_album_item_is_named_and_uploads_fail_like_json_calls() {
    let env = Env::start().await;
    let (token, user) = env.bot_and_user("owner_album_bot").await;
    let other_token = env.bot("other_album_bot").await;
    env.press_start(user, "other_album_bot").await;
    let photo = env
        .api
        .send_media(&token, &media(user, MediaKind::Photo, InputFile::Url("https://example.com/p.jpg".into())))
        .await
        .expect("photo sent");
    let foreign = photo.file_id(MediaKind::Photo).expect("file_id").to_string();

    // A file_id is the bot's own: another bot's album fails on it.
    let params = SendMediaGroup {
        chat_id: user,
        items: vec![
            item(MediaKind::Photo, upload(10, "a.jpg", "image/jpeg")),
            item(MediaKind::Photo, InputFile::FileId(foreign)),
        ],
        allow_paid_broadcast: false,
        reply_parameters: None,
    };
    let error = env.api.send_media_group(&other_token, &params).await.expect_err("refused");
    assert_eq!(error.kind(), BotApiErrorKind::BadRequest);
    assert_eq!(error.album_failed_item(), Some(1), "{error}");

    // A multipart call is classified as a JSON one is.
    let stranger = env.user("Stranger").await;
    let error = env
        .api
        .send_media(&token, &media(stranger, MediaKind::Voice, upload(30, "note.ogg", "audio/ogg")))
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), BotApiErrorKind::Forbidden(ForbiddenReason::CannotInitiate));
    let error = env
        .api
        .send_media(&format!("{token}x"), &media(user, MediaKind::Voice, upload(30, "note.ogg", "audio/ogg")))
        .await
        .expect_err("refused");
    assert_eq!(error.kind(), BotApiErrorKind::Unauthorized);
    assert!(!error.to_string().contains(&token));
}
