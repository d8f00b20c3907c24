//! Sending photos, videos, documents, audio, animations and voice notes,
//! alone or as albums (<https://core.telegram.org/bots/api#sending-files>).
//!
//! A file Telegram already has (a URL it fetches, a file_id it issued) goes
//! in a plain JSON call. Uploading bytes needs `multipart/form-data`, and then
//! every other parameter travels as a text part too, objects JSON-encoded, as
//! the Bot API reads them.

use std::fmt;

use bytes::Bytes;
use reqwest::multipart::{Form, Part};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{BotApiError, BotApiErrorKind};
use crate::types::{InlineKeyboardMarkup, Message, ReplyParameters};
use crate::BotApi;

/// The kinds of media a message can carry, each with its own send method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Photo,
    Video,
    Document,
    Audio,
    /// A GIF or a soundless video, played looped.
    Animation,
    Voice,
}

impl MediaKind {
    /// The Bot API method that sends one file of this kind.
    pub fn method(self) -> &'static str {
        match self {
            Self::Photo => "sendPhoto",
            Self::Video => "sendVideo",
            Self::Document => "sendDocument",
            Self::Audio => "sendAudio",
            Self::Animation => "sendAnimation",
            Self::Voice => "sendVoice",
        }
    }

    /// The name of the file's parameter, of the Message field Telegram
    /// answers with, and the `type` of an InputMedia: the same word in all three.
    pub fn field(self) -> &'static str {
        match self {
            Self::Photo => "photo",
            Self::Video => "video",
            Self::Document => "document",
            Self::Audio => "audio",
            Self::Animation => "animation",
            Self::Voice => "voice",
        }
    }
}

/// How a file is given to Telegram.
#[derive(Clone)]
pub enum InputFile {
    /// Telegram fetches it (up to 5 MB for photos, 20 MB otherwise).
    Url(String),
    /// A file Telegram already has; the cheapest way to send it again. Only
    /// the bot it was issued to can use it.
    FileId(String),
    /// Sent as a multipart/form-data part.
    Upload { bytes: Bytes, filename: String, content_type: String },
}

/// Written by hand so that logging a call does not dump a whole upload.
impl fmt::Debug for InputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(url) => f.debug_tuple("Url").field(url).finish(),
            Self::FileId(id) => f.debug_tuple("FileId").field(id).finish(),
            Self::Upload { bytes, filename, content_type } => f
                .debug_struct("Upload")
                .field("len", &bytes.len())
                .field("filename", filename)
                .field("content_type", content_type)
                .finish(),
        }
    }
}

/// One media message: `kind.method()` with the file in `kind.field()`.
#[derive(Debug, Clone)]
pub struct SendMedia {
    pub chat_id: i64,
    pub kind: MediaKind,
    pub file: InputFile,
    pub caption: Option<String>,
    pub parse_mode: Option<String>,
    /// Beyond the free 30 messages/s, up to 1000/s for a fee in Telegram Stars.
    pub allow_paid_broadcast: bool,
    pub reply_markup: Option<InlineKeyboardMarkup>,
    pub reply_parameters: Option<ReplyParameters>,
}

impl SendMedia {
    /// The file alone: no caption, buttons or reply.
    pub fn new(chat_id: i64, kind: MediaKind, file: InputFile) -> Self {
        Self {
            chat_id,
            kind,
            file,
            caption: None,
            parse_mode: None,
            allow_paid_broadcast: false,
            reply_markup: None,
            reply_parameters: None,
        }
    }
}

/// One item of an album. Telegram only takes photo, video, document and
/// audio here, and documents or audio only among their own kind; the
/// caller checks that, not this client.
#[derive(Debug, Clone)]
pub struct InputMedia {
    pub kind: MediaKind,
    pub file: InputFile,
    pub caption: Option<String>,
    pub parse_mode: Option<String>,
}

/// `sendMediaGroup`: 2 to 10 items shown as one album. Albums take no
/// keyboard, hence no `reply_markup`.
#[derive(Debug, Clone)]
pub struct SendMediaGroup {
    pub chat_id: i64,
    pub items: Vec<InputMedia>,
    pub allow_paid_broadcast: bool,
    pub reply_parameters: Option<ReplyParameters>,
}

/// A file part of a multipart call.
struct FilePart<'a> {
    name: String,
    bytes: &'a Bytes,
    filename: &'a str,
    content_type: &'a str,
}

/// The parameters of a call and the files it uploads; without files it is
/// an ordinary JSON call.
#[derive(Default)]
struct MediaCall<'a> {
    params: Map<String, Value>,
    files: Vec<FilePart<'a>>,
}

impl<'a> MediaCall<'a> {
    fn new(chat_id: i64, allow_paid_broadcast: bool) -> Self {
        let mut call = Self::default();
        call.params.insert("chat_id".into(), chat_id.into());
        // Left out when false, as the JSON calls do.
        if allow_paid_broadcast {
            call.params.insert("allow_paid_broadcast".into(), true.into());
        }
        call
    }

    fn text(&mut self, name: &str, value: Option<&String>) {
        if let Some(value) = value {
            self.params.insert(name.into(), value.clone().into());
        }
    }

    fn object<T: Serialize>(&mut self, name: &str, value: Option<&T>) -> Result<(), BotApiError> {
        if let Some(value) = value {
            let value = serde_json::to_value(value)
                .map_err(|e| BotApiError::new(BotApiErrorKind::BadRequest, format!("cannot encode {name}: {e}")))?;
            self.params.insert(name.into(), value);
        }
        Ok(())
    }

    fn single(params: &'a SendMedia) -> Result<Self, BotApiError> {
        let mut call = Self::new(params.chat_id, params.allow_paid_broadcast);
        let field = params.kind.field();
        // An upload is the part named after the parameter itself, the form
        // the Bot API documents for single files.
        match &params.file {
            InputFile::Url(value) | InputFile::FileId(value) => {
                call.params.insert(field.into(), value.clone().into());
            }
            InputFile::Upload { bytes, filename, content_type } => {
                call.files.push(FilePart { name: field.into(), bytes, filename, content_type });
            }
        }
        call.text("caption", params.caption.as_ref());
        call.text("parse_mode", params.parse_mode.as_ref());
        call.object("reply_markup", params.reply_markup.as_ref())?;
        call.object("reply_parameters", params.reply_parameters.as_ref())?;
        Ok(call)
    }

    fn group(params: &'a SendMediaGroup) -> Result<Self, BotApiError> {
        let mut call = Self::new(params.chat_id, params.allow_paid_broadcast);
        let mut items = Vec::with_capacity(params.items.len());
        for (i, item) in params.items.iter().enumerate() {
            let mut object = Map::new();
            object.insert("type".into(), item.kind.field().into());
            let media = match &item.file {
                InputFile::Url(value) | InputFile::FileId(value) => value.clone(),
                // An uploaded item is a part named by its place in the album.
                InputFile::Upload { bytes, filename, content_type } => {
                    let name = format!("file{i}");
                    let reference = format!("attach://{name}");
                    call.files.push(FilePart { name, bytes, filename, content_type });
                    reference
                }
            };
            object.insert("media".into(), media.into());
            if let Some(caption) = &item.caption {
                object.insert("caption".into(), caption.clone().into());
            }
            if let Some(parse_mode) = &item.parse_mode {
                object.insert("parse_mode".into(), parse_mode.clone().into());
            }
            items.push(Value::Object(object));
        }
        call.params.insert("media".into(), Value::Array(items));
        call.object("reply_parameters", params.reply_parameters.as_ref())?;
        Ok(call)
    }

    /// The multipart body: parameters as text parts (strings as they are,
    /// anything else as JSON), then the files.
    fn into_form(self) -> Result<Form, BotApiError> {
        let mut form = Form::new();
        for (name, value) in self.params {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            form = form.text(name, text);
        }
        for file in self.files {
            let content_type =
                if file.content_type.is_empty() { "application/octet-stream" } else { file.content_type };
            let part = Part::stream_with_length(file.bytes.clone(), file.bytes.len() as u64)
                .file_name(file.filename.to_string())
                .mime_str(content_type)
                .map_err(|e| {
                    BotApiError::new(
                        BotApiErrorKind::BadRequest,
                        format!("invalid content type {content_type:?} of {}: {}", file.filename, e.without_url()),
                    )
                })?;
            form = form.part(file.name, part);
        }
        Ok(form)
    }
}

impl BotApi {
    /// Sends one photo, video, document, audio, animation or voice note.
    pub async fn send_media(&self, token: &str, params: &SendMedia) -> Result<Message, BotApiError> {
        self.media_call(token, params.kind.method(), MediaCall::single(params)?).await
    }

    /// Sends an album. On failure, [`BotApiError::album_failed_item`] tells
    /// whether some items were already sent.
    pub async fn send_media_group(&self, token: &str, params: &SendMediaGroup) -> Result<Vec<Message>, BotApiError> {
        self.media_call(token, "sendMediaGroup", MediaCall::group(params)?).await
    }

    async fn media_call<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        method: &str,
        call: MediaCall<'_>,
    ) -> Result<T, BotApiError> {
        if call.files.is_empty() {
            return self.call(token, method, &call.params).await;
        }
        let request = self.http.post(self.method_url(token, method)).multipart(call.into_form()?);
        self.execute(method, request).await
    }
}

impl Message {
    /// The file_id Telegram gave the message's file of this kind (for a
    /// photo, the largest size, i.e. the last one), to send the same
    /// file again without uploading it.
    pub fn file_id(&self, kind: MediaKind) -> Option<&str> {
        match kind {
            MediaKind::Photo => self.photo.as_ref()?.last().map(|size| size.file_id.as_str()),
            MediaKind::Video => self.video.as_ref().map(|file| file.file_id.as_str()),
            MediaKind::Document => self.document.as_ref().map(|file| file.file_id.as_str()),
            MediaKind::Audio => self.audio.as_ref().map(|file| file.file_id.as_str()),
            MediaKind::Animation => self.animation.as_ref().map(|file| file.file_id.as_str()),
            MediaKind::Voice => self.voice.as_ref().map(|file| file.file_id.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const KINDS: [MediaKind; 6] = [
        MediaKind::Photo,
        MediaKind::Video,
        MediaKind::Document,
        MediaKind::Audio,
        MediaKind::Animation,
        MediaKind::Voice,
    ];

    fn upload(filename: &str) -> InputFile {
        InputFile::Upload {
            bytes: Bytes::from_static(b"bytes"),
            filename: filename.into(),
            content_type: "image/jpeg".into(),
        }
    }

    #[test]
    fn each_kind_has_its_method_and_field() {
        let names: Vec<(&str, &str)> = KINDS.iter().map(|k| (k.method(), k.field())).collect();
        assert_eq!(
            names,
            [
                ("sendPhoto", "photo"),
                ("sendVideo", "video"),
                ("sendDocument", "document"),
                ("sendAudio", "audio"),
                ("sendAnimation", "animation"),
                ("sendVoice", "voice"),
            ]
        );
    }

    #[test]
    fn a_single_file_by_reference_is_a_json_call() {
        let params = SendMedia {
            chat_id: 7,
            kind: MediaKind::Document,
            file: InputFile::Url("https://example.com/a.pdf".into()),
            caption: Some("<b>a</b>".into()),
            parse_mode: Some("HTML".into()),
            allow_paid_broadcast: false,
            reply_markup: None,
            reply_parameters: Some(ReplyParameters { message_id: 3, allow_sending_without_reply: true }),
        };
        let call = MediaCall::single(&params).expect("call");
        assert!(call.files.is_empty());
        assert_eq!(
            Value::Object(call.params),
            json!({
                "chat_id": 7,
                "document": "https://example.com/a.pdf",
                "caption": "<b>a</b>",
                "parse_mode": "HTML",
                "reply_parameters": {"message_id": 3, "allow_sending_without_reply": true},
            })
        );
    }

    #[test]
    fn a_single_upload_is_the_part_named_after_the_field() {
        let params = SendMedia {
            chat_id: 7,
            kind: MediaKind::Photo,
            file: upload("cat.jpg"),
            caption: None,
            parse_mode: None,
            allow_paid_broadcast: true,
            reply_markup: None,
            reply_parameters: None,
        };
        let call = MediaCall::single(&params).expect("call");
        assert_eq!(Value::Object(call.params.clone()), json!({"chat_id": 7, "allow_paid_broadcast": true}));
        let parts: Vec<(&str, &str)> = call.files.iter().map(|f| (f.name.as_str(), f.filename)).collect();
        assert_eq!(parts, [("photo", "cat.jpg")]);
        assert!(call.into_form().is_ok());
    }

    #[test]
    fn album_uploads_are_attached_by_part_name() {
        let item = |kind, file| InputMedia { kind, file, caption: None, parse_mode: None };
        let params = SendMediaGroup {
            chat_id: 7,
            items: vec![
                item(MediaKind::Photo, upload("a.jpg")),
                InputMedia {
                    caption: Some("two".into()),
                    parse_mode: Some("HTML".into()),
                    ..item(MediaKind::Video, InputFile::FileId("BAAC".into()))
                },
                item(MediaKind::Audio, upload("c.mp3")),
            ],
            allow_paid_broadcast: false,
            reply_parameters: None,
        };
        let call = MediaCall::group(&params).expect("call");
        assert_eq!(
            call.params["media"],
            json!([
                {"type": "photo", "media": "attach://file0"},
                {"type": "video", "media": "BAAC", "caption": "two", "parse_mode": "HTML"},
                {"type": "audio", "media": "attach://file2"},
            ])
        );
        let parts: Vec<&str> = call.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(parts, ["file0", "file2"]);
    }

    #[test]
    fn a_bad_content_type_is_refused_before_sending() {
        let file = InputFile::Upload { bytes: Bytes::new(), filename: "a".into(), content_type: "not a type".into() };
        let params = SendMedia::new(1, MediaKind::Document, file);
        let error = MediaCall::single(&params).and_then(MediaCall::into_form).expect_err("refused");
        assert_eq!(error.kind(), BotApiErrorKind::BadRequest);
    }

    #[test]
    fn an_upload_is_not_dumped_by_debug() {
        let file = InputFile::Upload {
            bytes: Bytes::from(vec![0_u8; 4096]),
            filename: "big.bin".into(),
            content_type: "application/octet-stream".into(),
        };
        let shown = format!("{file:?}");
        assert!(shown.contains("len: 4096") && shown.len() < 100, "{shown}");
    }

    #[test]
    fn the_file_id_of_each_kind_is_read_from_the_message() {
        let file = |id: &str| json!({"file_id": id, "file_unique_id": format!("u{id}"), "file_size": 10});
        let message: Message = serde_json::from_value(json!({
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": 5, "type": "private"},
            "photo": [file("small"), {"file_id": "large", "file_unique_id": "ularge", "width": 1280, "height": 960}],
            "video": file("v"),
            "document": file("d"),
            "audio": file("a"),
            "animation": file("g"),
            "voice": file("o"),
        }))
        .expect("message");
        let ids: Vec<Option<&str>> = KINDS.iter().map(|&k| message.file_id(k)).collect();
        assert_eq!(ids, [Some("large"), Some("v"), Some("d"), Some("a"), Some("g"), Some("o")]);
        assert_eq!(message.photo.as_ref().map(|p| p[0].file_size), Some(Some(10)));

        let text: Message =
            serde_json::from_value(json!({"message_id": 2, "date": 1_700_000_000, "text": "hi"})).expect("message");
        assert!(KINDS.iter().all(|&k| text.file_id(k).is_none()));
        let no_sizes: Message =
            serde_json::from_value(json!({"message_id": 3, "date": 0, "photo": []})).expect("message");
        assert_eq!(no_sizes.file_id(MediaKind::Photo), None);
    }
}
