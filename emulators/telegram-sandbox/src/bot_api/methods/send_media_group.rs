//! `sendMediaGroup`: an album of photos and videos, or of documents only, or
//! of audio files only — one message per item, sharing a `media_group_id`
//! and each counted against the flood limits. The checks and their texts are
//! the Bot API server's (reading `media`) and TDLib's (the album's rules): at
//! most 10 items, and a single one is sent as a plain message, as TDLib does
//! despite the documented 2-10.

use serde_json::Value;

use super::media::{new_media_group_id, Caption, MediaItem};
use super::outgoing;
use super::Ctx;
use crate::bot_api::errors::{ApiError, ApiReply, ApiResult};
use crate::bot_api::input_file::{self, InputFile};
use crate::bot_api::json_fields;
use crate::bot_api::params::Params;
use crate::state::FileKind;

/// Most items of an album (a limit of Telegram's servers).
const MAX_ITEMS: usize = 10;

/// The text of a Bot API error as TDLib words it, for errors the server
/// puts inside its own: "Bad Request: can't parse entities: …" → "Can't parse entities: …".
fn inner_text(error: ApiError) -> String {
    let text = error.description.strip_prefix("Bad Request: ").unwrap_or(&error.description);
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// One InputMedia object, read in the Bot API server's order: caption, type, file.
fn input_media(params: &Params, entry: Value) -> Result<MediaItem, String> {
    let Value::Object(object) = entry else { return Err("expected an Object".into()) };
    // Its JSON reader takes only strings (or numbers) there.
    json_fields::optional_string(&object, "caption")?;
    json_fields::optional_string(&object, "parse_mode")?;
    let fields = Params::from_json(Value::Object(object.clone()));
    let caption = Caption::read(&fields).map_err(inner_text)?;
    let kind = json_fields::string(&object, "type")?;
    let media = json_fields::optional_string(&object, "media")?;
    let input = InputFile::read(params, None, &media).ok_or("media not found")?;
    let kind = match kind.as_str() {
        "photo" => FileKind::Photo,
        "video" => FileKind::Video,
        "document" => FileKind::Document,
        "audio" => FileKind::Audio,
        "animation" => return Err("type \"animation\" can't be used in sendMediaGroup".into()),
        other => return Err(format!("type \"{other}\" is unsupported")),
    };
    Ok(MediaItem::new(kind, input, caption, &fields))
}

/// The items of the `media` parameter.
fn read_items(params: &Params) -> Result<Vec<MediaItem>, ApiError> {
    if params.str("media").unwrap_or_default().is_empty() {
        return Err(ApiError::bad_request("parameter \"media\" is required"));
    }
    let media = params.json("media").map_err(|_| ApiError::bad_request("can't parse media JSON object"))?;
    let Some(Value::Array(entries)) = media else {
        return Err(ApiError::bad_request("expected an Array of InputMedia"));
    };
    entries
        .into_iter()
        .map(|entry| {
            input_media(params, entry).map_err(|why| ApiError::bad_request(format!("can't parse InputMedia: {why}")))
        })
        .collect()
}

/// Documents and audio files go only with their own kind.
fn check_mix(items: &[MediaItem]) -> Result<(), ApiError> {
    let Some(first) = items.first() else { return Ok(()) };
    if items.iter().all(|item| item.kind == first.kind) {
        return Ok(());
    }
    match items.iter().find(|item| matches!(item.kind, FileKind::Document | FileKind::Audio)) {
        Some(alone) => Err(ApiError::bad_request(format!(
            "{} can't be mixed with other media types",
            alone.kind.tdlib_name().to_ascii_lowercase()
        ))),
        None => Ok(()),
    }
}

pub fn handle(ctx: &Ctx, params: &Params) -> ApiResult {
    let reply_to = outgoing::reply_target(params)?;
    let items = read_items(params)?;
    let chat_id = outgoing::chat_id(params)?;

    let mut world = ctx.sandbox.world();
    let target = outgoing::resolve_chat(&world, chat_id)?;
    if items.is_empty() {
        return Err(ApiError::bad_request("there are no messages to send"));
    }
    // TDLib checks every file and caption before the album's rules. Whose a
    // file_id is, only Telegram's servers know, when the album is sent: they
    // refuse it whole, reported as its first message's failure.
    let mut checked = Vec::with_capacity(items.len());
    let mut refused_by_server = false;
    for item in &items {
        match item.check(&world.files, ctx.bot_id) {
            Ok(file) => checked.push(file),
            Err(error) if error == input_file::wrong_file() => refused_by_server = true,
            Err(error) => return Err(error),
        }
    }
    if items.len() > MAX_ITEMS {
        return Err(ApiError::bad_request("too many messages to send as an album"));
    }
    check_mix(&items)?;
    outgoing::check_access(&world, ctx.bot_id, &target)?;
    if refused_by_server {
        return Err(ApiError::bad_request(format!(
            "failed to send message #1 with the error message \"{}\"",
            inner_text(input_file::wrong_file())
        )));
    }
    let replied = outgoing::replied_message(&world, ctx.bot_id, chat_id, reply_to)?;
    let limits = ctx.sandbox.config.limits;
    let paid_broadcast = params.bool("allow_paid_broadcast");
    outgoing::check_flood(&mut world, &limits, ctx.bot_id, chat_id, paid_broadcast, items.len(), ctx.method.name)?;

    // Albums ignore `reply_markup`, as the Bot API server does.
    let media_group_id = (items.len() > 1).then(new_media_group_id);
    let world = &mut *world;
    let mut messages = Vec::with_capacity(items.len());
    for (item, file) in items.into_iter().zip(checked) {
        let (fields, content) = item.into_message(file, &mut world.files, ctx.bot_id, media_group_id.as_deref());
        messages.push(outgoing::deliver(world, ctx, &target, replied.as_ref(), fields, content)?);
    }
    Ok(ApiReply::new(Value::Array(messages)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn items(media: Value) -> Result<Vec<FileKind>, String> {
        read_items(&Params::from_json(json!({ "media": media })))
            .map(|items| items.iter().map(|item| item.kind).collect())
            .map_err(|error| error.description)
    }

    #[test]
    fn media_is_read_with_the_bot_api_servers_texts() {
        let photo = json!({"type": "photo", "media": "https://example.com/a.jpg"});
        assert_eq!(
            items(json!([photo, {"type": "video", "media": "BAACxyz"}])),
            Ok(vec![FileKind::Photo, FileKind::Video])
        );
        assert_eq!(items(json!("")), Err("Bad Request: parameter \"media\" is required".into()));
        assert_eq!(items(json!("[nope")), Err("Bad Request: can't parse media JSON object".into()));
        assert_eq!(items(json!({"type": "photo"})), Err("Bad Request: expected an Array of InputMedia".into()));
        let error = |entry: Value| items(json!([entry])).unwrap_err();
        assert_eq!(error(json!("x")), "Bad Request: can't parse InputMedia: expected an Object");
        assert_eq!(error(json!({"media": "x.jpg"})), "Bad Request: can't parse InputMedia: Can't find field \"type\"");
        assert_eq!(error(json!({"type": "photo"})), "Bad Request: can't parse InputMedia: media not found");
        assert_eq!(
            error(json!({"type": "photo", "media": "attach://missing"})),
            "Bad Request: can't parse InputMedia: media not found"
        );
        assert_eq!(
            error(json!({"type": "sticker", "media": "x.webp"})),
            "Bad Request: can't parse InputMedia: type \"sticker\" is unsupported"
        );
        assert_eq!(
            error(json!({"type": "animation", "media": "x.gif"})),
            "Bad Request: can't parse InputMedia: type \"animation\" can't be used in sendMediaGroup"
        );
        assert_eq!(
            error(json!({"type": "photo", "media": "x.jpg", "caption": "<b>", "parse_mode": "HTML"}))
                .split(": ")
                .take(3)
                .collect::<Vec<_>>(),
            ["Bad Request", "can't parse InputMedia", "Can't parse entities"]
        );
        assert_eq!(
            error(json!({"type": "photo", "media": "x.jpg", "caption": true})),
            "Bad Request: can't parse InputMedia: Field \"caption\" must be of type String"
        );
    }

    #[test]
    fn documents_and_audio_stay_among_their_own_kind() {
        let album = |kinds: &[&str]| {
            let media: Vec<Value> =
                kinds.iter().map(|kind| json!({"type": kind, "media": "https://x.org/f.bin"})).collect();
            let items = read_items(&Params::from_json(json!({ "media": media }))).expect("items");
            check_mix(&items).map_err(|error| error.description)
        };
        assert_eq!(album(&["photo", "video", "photo"]), Ok(()));
        assert_eq!(album(&["document", "document"]), Ok(()));
        assert_eq!(album(&["audio", "audio"]), Ok(()));
        assert_eq!(
            album(&["photo", "document"]),
            Err("Bad Request: document can't be mixed with other media types".into())
        );
        assert_eq!(album(&["audio", "video"]), Err("Bad Request: audio can't be mixed with other media types".into()));
    }
}
