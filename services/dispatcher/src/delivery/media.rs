//! A send's message as the Bot API call that delivers it: `sendMessage`, a
//! `send<Kind>` for one file, or `sendMediaGroup` for an album.
//!
//! An uploaded file goes up to Telegram once per bot: the first send of it
//! holds the (bot, upload) lock while it uploads, and records the `file_id`
//! Telegram answers (`upload.file_id_learned`); every later send of that
//! bot, here or on the partition's next owner, sends that `file_id`. A bot's
//! sends all go through its partition's one owner, so the lock is local.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use novij_aggregates::upload::Upload;
use novij_bus::Expect;
use novij_events::media::{MediaItem, MediaKind, MediaSource};
use novij_events::send::OutgoingMessage;
use novij_events::upload::UploadFileIdLearned;
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::{derive, UploadError};
use novij_telegram_client::{
    self as tg, BotApi, BotApiError, InlineKeyboardMarkup, InputFile, InputMedia, Message, ReplyParameters,
    SendMediaGroup, SendMessage,
};
use tokio::sync::OwnedMutexGuard;

use crate::Dispatcher;

type Known = Arc<tokio::sync::Mutex<Option<String>>>;

/// The `file_id`s learned in this process, by bot and upload.
#[derive(Clone, Default)]
pub struct UploadFiles(Arc<Mutex<HashMap<(String, String), Known>>>);

impl UploadFiles {
    fn entry(&self, bot_key: &str, upload_id: &str) -> Known {
        let mut known = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        known.entry((bot_key.to_string(), upload_id.to_string())).or_default().clone()
    }
}

/// Why a message's media cannot be sent.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The upload is gone or damaged: the send fails.
    #[error("{0}")]
    Gone(String),
    /// The log or the object store did not answer: try again.
    #[error("{0}")]
    Unavailable(String),
}

impl From<novij_bus::ReadError> for MediaError {
    fn from(e: novij_bus::ReadError) -> Self {
        MediaError::Unavailable(e.to_string())
    }
}

/// A call ready to be made.
pub enum Call {
    Text(SendMessage),
    File(tg::SendMedia),
    Album(SendMediaGroup),
}

impl Call {
    pub fn chat_id(&self) -> i64 {
        match self {
            Call::Text(p) => p.chat_id,
            Call::File(p) => p.chat_id,
            Call::Album(p) => p.chat_id,
        }
    }

    /// The group moved to a supergroup: the call goes there.
    pub fn move_to(&mut self, chat_id: i64) {
        match self {
            Call::Text(p) => p.chat_id = chat_id,
            Call::File(p) => p.chat_id = chat_id,
            Call::Album(p) => p.chat_id = chat_id,
        }
    }

    /// Messages it sends, each counted in Telegram's limits.
    pub fn messages(&self) -> usize {
        match self {
            Call::Album(p) => p.items.len(),
            _ => 1,
        }
    }

    /// Telegram sent an album's first `delivered` items before one failed:
    /// the next attempt sends only the rest (one left goes as a single file).
    pub fn skip_delivered(&mut self, delivered: usize) {
        let Call::Album(album) = self else { return };
        album.items.drain(..delivered.min(album.items.len()));
        if album.items.len() == 1 {
            if let Some(item) = album.items.pop() {
                *self = Call::File(tg::SendMedia {
                    caption: item.caption,
                    parse_mode: item.parse_mode,
                    reply_parameters: album.reply_parameters.clone(),
                    ..tg::SendMedia::new(album.chat_id, item.kind, item.file)
                });
            }
        }
    }

    /// Makes the call; the messages Telegram sent, in order.
    pub async fn make(&mut self, api: &BotApi, token: &str, paid: bool) -> Result<Vec<Message>, BotApiError> {
        match self {
            Call::Text(p) => {
                p.allow_paid_broadcast = paid;
                api.send_message(token, p).await.map(|m| vec![m])
            }
            Call::File(p) => {
                p.allow_paid_broadcast = paid;
                api.send_media(token, p).await.map(|m| vec![m])
            }
            Call::Album(p) => {
                p.allow_paid_broadcast = paid;
                api.send_media_group(token, p).await
            }
        }
    }
}

/// An upload this call sends as a file, under its (bot, upload) lock.
struct Uploading {
    item: usize,
    kind: MediaKind,
    upload_id: String,
    known: OwnedMutexGuard<Option<String>>,
}

/// The call for a message, and the uploads whose `file_id` it will teach.
pub struct Prepared {
    pub call: Call,
    uploading: Vec<Uploading>,
}

fn kind(kind: MediaKind) -> tg::MediaKind {
    match kind {
        MediaKind::Photo => tg::MediaKind::Photo,
        MediaKind::Video => tg::MediaKind::Video,
        MediaKind::Document => tg::MediaKind::Document,
        MediaKind::Audio => tg::MediaKind::Audio,
        MediaKind::Animation => tg::MediaKind::Animation,
        MediaKind::Voice => tg::MediaKind::Voice,
    }
}

/// The call that delivers `message` with the bot `bot_key`.
pub async fn prepare(
    d: &Dispatcher,
    bot_key: &str,
    message: OutgoingMessage,
    reply_markup: Option<InlineKeyboardMarkup>,
) -> Result<Prepared, MediaError> {
    let reply_parameters =
        message.reply_to.map(|message_id| ReplyParameters { message_id, allow_sending_without_reply: true });
    let chat_id = message.chat_id;
    if message.media.is_empty() {
        let call = Call::Text(SendMessage {
            chat_id,
            text: message.text,
            parse_mode: message.parse_mode,
            allow_paid_broadcast: false,
            reply_markup,
            reply_parameters,
        });
        return Ok(Prepared { call, uploading: Vec::new() });
    }
    let mut uploading = Vec::new();
    let mut items = Vec::with_capacity(message.media.len());
    for (index, item) in message.media.into_iter().enumerate() {
        let file = input_file(d, bot_key, &item, index, &mut uploading).await?;
        items.push(InputMedia { kind: kind(item.kind), file, caption: item.caption, parse_mode: item.parse_mode });
    }
    let call = match <[InputMedia; 1]>::try_from(items) {
        Ok([one]) => Call::File(tg::SendMedia {
            caption: one.caption,
            parse_mode: one.parse_mode,
            reply_markup,
            reply_parameters,
            ..tg::SendMedia::new(chat_id, one.kind, one.file)
        }),
        Err(items) => Call::Album(SendMediaGroup { chat_id, items, allow_paid_broadcast: false, reply_parameters }),
    };
    Ok(Prepared { call, uploading })
}

async fn input_file(
    d: &Dispatcher,
    bot_key: &str,
    item: &MediaItem,
    index: usize,
    uploading: &mut Vec<Uploading>,
) -> Result<InputFile, MediaError> {
    let upload_id = match &item.source {
        MediaSource::Url(url) => return Ok(InputFile::Url(url.clone())),
        MediaSource::FileId(file_id) => return Ok(InputFile::FileId(file_id.clone())),
        MediaSource::Upload(upload_id) => upload_id,
    };
    // An album naming one upload twice uploads it twice: its lock is held already.
    if uploading.iter().any(|u| &u.upload_id == upload_id) {
        let upload = d.rt.log.load::<Upload>(upload_id).await?.state;
        return load(d, upload_id, upload, item).await;
    }
    let mut known = d.upload_files.entry(bot_key, upload_id).lock_owned().await;
    if let Some(file_id) = known.as_ref() {
        return Ok(InputFile::FileId(file_id.clone()));
    }
    // Learned by an earlier owner of the partition?
    let upload = d.rt.log.load::<Upload>(upload_id).await?.state;
    if let Some(sealed) = upload.file_ids.get(bot_key) {
        let file_id =
            d.rt.keyring
                .open_owned(derive::purpose::FILE_ID, upload_id, sealed)
                .map_err(|e| MediaError::Gone(format!("the file's id cannot be opened: {e}")))?;
        *known = Some(file_id.clone());
        return Ok(InputFile::FileId(file_id));
    }
    let file = load(d, upload_id, upload, item).await?;
    uploading.push(Uploading { item: index, kind: item.kind, upload_id: upload_id.clone(), known });
    Ok(file)
}

/// The uploaded file itself, opened, as `upload` (read from the log) describes it.
async fn load(d: &Dispatcher, upload_id: &str, upload: Upload, item: &MediaItem) -> Result<InputFile, MediaError> {
    let Some(stored) = upload.stored.filter(|_| !upload.removed) else {
        return Err(MediaError::Gone("the uploaded file was removed".into()));
    };
    let bytes = d.rt.uploads.get(upload_id, &stored.key, stored.chunks).await.map_err(|e| match e {
        UploadError::Store(why) => MediaError::Unavailable(why),
        other => MediaError::Gone(format!("the uploaded file cannot be read: {other}")),
    })?;
    let stored_name = match &stored.filename {
        Some(sealed) => d.rt.keyring.open_owned(derive::purpose::UPLOAD_FILENAME, upload_id, sealed).ok(),
        None => None,
    };
    let filename = item.filename.clone().or(stored_name).unwrap_or_else(|| item.kind.to_string());
    Ok(InputFile::Upload { bytes, filename, content_type: stored.content_type })
}

impl Prepared {
    /// Telegram sent `messages`: the uploads' `file_id`s are known from now
    /// on, here at once and to the partition's next owners through the log.
    pub async fn learn(self, d: &Dispatcher, bot_key: &str, messages: &[Message], meta: &EventMeta) {
        for mut uploading in self.uploading {
            let Some(message) = messages.get(uploading.item) else { continue };
            // Telegram may answer another kind than asked (a video sent as a document).
            let Some(file_id) = message.file_id(kind(uploading.kind)).or_else(|| any_file_id(message)) else {
                continue;
            };
            *uploading.known = Some(file_id.to_string());
            let sealed = match d.rt.keyring.seal_owned(derive::purpose::FILE_ID, &uploading.upload_id, file_id) {
                Ok(sealed) => sealed,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot seal a file_id; the next owner uploads the file again");
                    continue;
                }
            };
            let event = UploadFileIdLearned {
                upload_id: uploading.upload_id.clone(),
                bot_key: bot_key.to_string(),
                file_id: sealed,
            };
            let event_id = ids::caused_event_id(&format!("{}:{bot_key}", uploading.upload_id), "file_id_learned");
            let env = Envelope::new(event, meta.clone()).with_event_id(event_id);
            if let Err(e) = d.rt.log.append(&env, Expect::Any).await {
                tracing::warn!(upload_id = %uploading.upload_id, error = %e, "file_id not recorded; the next owner uploads the file again");
            }
        }
    }
}

fn any_file_id(message: &Message) -> Option<&str> {
    use tg::MediaKind::*;
    [Photo, Video, Document, Audio, Animation, Voice].into_iter().find_map(|k| message.file_id(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn album(n: usize) -> Call {
        let item = |i: usize| InputMedia {
            kind: tg::MediaKind::Photo,
            file: InputFile::Url(format!("https://example.org/{i}.jpg")),
            caption: None,
            parse_mode: None,
        };
        Call::Album(SendMediaGroup {
            chat_id: 7,
            items: (0..n).map(item).collect(),
            allow_paid_broadcast: false,
            reply_parameters: None,
        })
    }

    fn urls(call: &Call) -> Vec<String> {
        let url = |file: &InputFile| match file {
            InputFile::Url(url) => url.clone(),
            other => format!("{other:?}"),
        };
        match call {
            Call::Album(a) => a.items.iter().map(|i| url(&i.file)).collect(),
            Call::File(f) => vec![url(&f.file)],
            Call::Text(_) => Vec::new(),
        }
    }

    #[test]
    fn a_retry_of_an_album_sends_only_the_items_that_did_not_arrive() {
        let mut call = album(4);
        call.skip_delivered(2);
        assert_eq!(urls(&call), ["https://example.org/2.jpg", "https://example.org/3.jpg"]);
        assert_eq!(call.messages(), 2);
        call.skip_delivered(1);
        assert!(matches!(call, Call::File(_)), "the last one goes alone");
        assert_eq!((urls(&call), call.chat_id()), (vec!["https://example.org/3.jpg".to_string()], 7));
    }
}
