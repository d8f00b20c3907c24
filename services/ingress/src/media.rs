//! The `media` and `media_group` of a send, a reminder, a reply or a
//! broadcast: Telegram's rules checked up front (422 naming the field), and
//! the uploads they use claimed on the log, so none is removed while a send
//! still needs it.
//!
//! A template is still what a message says: with media, its rendered text
//! is the caption of the file, or of an album's first item (the album's
//! caption); the other items of an album may carry a plain-text `caption`.

use chrono::{DateTime, Utc};
use novij_aggregates::upload::{claim, usable, Upload, UploadRefusal};
use novij_bus::{AppendError, Expect};
use novij_events::media::{MediaItem, MediaKind, MediaSource, MEDIA_GROUP_ITEMS};
use novij_events::{ids, Envelope, EventMeta};
use novij_templates::{RenderContext, Rendered};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

/// Longest URL taken (Telegram fetches it itself).
const MAX_URL_CHARS: usize = 2048;
/// Claims retried when other sends claim the same upload at the same moment.
const CLAIM_ATTEMPTS: usize = 20;

/// One file: exactly one of `url`, `file_id` and `upload_id`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaRequest {
    /// `photo`, `video`, `document`, `audio`, `animation` or `voice`.
    #[serde(rename = "type")]
    #[schema(schema_with = crate::fields::media_kind)]
    pub kind: MediaKind,
    /// Fetched by Telegram, up to 5 MB for a photo and 20 MB for other files.
    pub url: Option<String>,
    /// A file Telegram already holds for this bot.
    #[schema(schema_with = crate::fields::optional_file_id)]
    pub file_id: Option<String>,
    /// From `POST /api/v1/uploads`: up to 10 MB for a photo, 50 MB for other files.
    pub upload_id: Option<String>,
    /// Plain text, for an album's items after the first (the template renders the first caption).
    #[schema(schema_with = crate::fields::optional_caption)]
    pub caption: Option<String>,
    /// The name an uploaded file is shown with; defaults to the upload's own.
    #[schema(schema_with = crate::fields::optional_file_name)]
    pub filename: Option<String>,
}

/// What a request asked for: one file, an album, or neither.
#[derive(Clone, Copy)]
pub struct Requested<'a> {
    pub media: Option<&'a MediaRequest>,
    pub media_group: Option<&'a [MediaRequest]>,
}

impl<'a> Requested<'a> {
    pub fn new(media: &'a Option<MediaRequest>, media_group: &'a Option<Vec<MediaRequest>>) -> Self {
        Self { media: media.as_ref(), media_group: media_group.as_deref() }
    }

    pub fn is_empty(&self) -> bool {
        self.media.is_none() && self.media_group.is_none()
    }

    /// The template rendered as the message's text, or, with media, as its caption.
    pub fn render(&self, template: &str, vars: &Map<String, Value>, ctx: RenderContext) -> Result<Rendered, ApiError> {
        let rendered = if self.is_empty() {
            novij_templates::render(template, vars, ctx)
        } else {
            novij_templates::render_caption(template, vars, ctx)
        };
        rendered.map_err(|e| ApiError::invalid(&e.field, e.message))
    }

    /// The items checked, each under its field name, uploads looked up on
    /// the log (they must be the project's and still kept).
    pub async fn check(&self, state: &AppState, project_id: &str) -> Result<Vec<MediaItem>, ApiError> {
        let items: Vec<(String, &MediaRequest)> = match (self.media, self.media_group) {
            (None, None) => return Ok(Vec::new()),
            (Some(_), Some(_)) => return Err(ApiError::invalid("media_group", "give either media or media_group")),
            (Some(one), None) => vec![("media".to_string(), one)],
            (None, Some(group)) => {
                if !MEDIA_GROUP_ITEMS.contains(&group.len()) {
                    return Err(ApiError::invalid(
                        "media_group",
                        format!(
                            "holds {} to {} items (a single file goes in media)",
                            MEDIA_GROUP_ITEMS.start(),
                            MEDIA_GROUP_ITEMS.end()
                        ),
                    ));
                }
                check_album(group)?;
                group.iter().enumerate().map(|(i, item)| (format!("media_group[{i}]"), item)).collect()
            }
        };
        let mut checked = Vec::with_capacity(items.len());
        for (index, (field, item)) in items.iter().enumerate() {
            checked.push(check_item(state, project_id, field, item, index == 0).await?);
        }
        Ok(checked)
    }
}

/// An album's kinds: only those `sendMediaGroup` takes, and documents and
/// audio files only with their own kind.
fn check_album(group: &[MediaRequest]) -> Result<(), ApiError> {
    for (i, item) in group.iter().enumerate() {
        let field = format!("media_group[{i}].type");
        if !item.kind.may_be_grouped() {
            return Err(ApiError::invalid(&field, format!("{} cannot be in an album; send it alone", item.kind)));
        }
        if let Some(first) = group.first().filter(|first| !first.kind.groups_with(item.kind)) {
            return Err(ApiError::invalid(
                &field,
                format!(
                    "{} cannot be grouped with {}: documents and audio files go only with their own kind",
                    item.kind, first.kind
                ),
            ));
        }
    }
    Ok(())
}

async fn check_item(
    state: &AppState,
    project_id: &str,
    field: &str,
    item: &MediaRequest,
    first: bool,
) -> Result<MediaItem, ApiError> {
    let at = |name: &str| format!("{field}.{name}");
    let source = match (&item.url, &item.file_id, &item.upload_id) {
        (Some(url), None, None) => MediaSource::Url(check_url(&at("url"), url)?),
        (None, Some(file_id), None) => {
            fields::FILE_ID.check(&at("file_id"), file_id)?;
            MediaSource::FileId(file_id.clone())
        }
        (None, None, Some(upload_id)) => {
            check_upload(state, project_id, &at("upload_id"), upload_id, item.kind).await?;
            MediaSource::Upload(upload_id.clone())
        }
        _ => return Err(ApiError::invalid(field, "give exactly one of url, file_id and upload_id")),
    };
    if let Some(caption) = &item.caption {
        if first {
            return Err(ApiError::invalid(
                &at("caption"),
                "is the template's rendered text here; only an album's later items take their own",
            ));
        }
        fields::CAPTION.check(&at("caption"), caption)?;
        let len = novij_templates::utf16_len(caption);
        if len > novij_templates::MAX_CAPTION_CHARS {
            return Err(ApiError::invalid(
                &at("caption"),
                format!(
                    "is {len} characters, over Telegram's {}-character caption limit",
                    novij_templates::MAX_CAPTION_CHARS
                ),
            ));
        }
    }
    if let Some(filename) = &item.filename {
        if item.upload_id.is_none() {
            return Err(ApiError::invalid(&at("filename"), "only applies to an upload"));
        }
        fields::FILE_NAME.check(&at("filename"), filename)?;
    }
    Ok(MediaItem {
        kind: item.kind,
        source,
        caption: item.caption.clone(),
        parse_mode: None,
        filename: item.filename.clone(),
    })
}

fn check_url(field: &str, raw: &str) -> Result<String, ApiError> {
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::invalid(field, format!("must be at most {MAX_URL_CHARS} characters")));
    }
    let url = url::Url::parse(raw).map_err(|e| ApiError::invalid(field, format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::invalid(field, "must be an http or https URL with a host"));
    }
    Ok(raw.to_string())
}

fn refusal(field: &str, refused: UploadRefusal) -> ApiError {
    let message = match refused {
        UploadRefusal::NotFound | UploadRefusal::OtherProject => "is not an upload of this project".to_string(),
        UploadRefusal::Removed => refused.to_string(),
    };
    ApiError::invalid(field, message)
}

/// The upload exists for this project, is kept, and fits Telegram's limit for `kind`.
async fn check_upload(
    state: &AppState,
    project_id: &str,
    field: &str,
    upload_id: &str,
    kind: MediaKind,
) -> Result<(), ApiError> {
    if !ids::is_valid(ids::UPLOAD, upload_id) {
        return Err(ApiError::invalid(field, "is not an upload id"));
    }
    let upload = state.rt.log.load::<Upload>(upload_id).await?.state;
    let stored = usable(&upload, project_id).map_err(|r| refusal(field, r))?;
    let max = kind.max_upload_bytes();
    if stored.size > max {
        return Err(ApiError::invalid(
            field,
            format!("is {} bytes; Telegram takes a {kind} upload of at most {max} bytes", stored.size),
        ));
    }
    if kind == MediaKind::Photo && !stored.content_type.starts_with("image/") {
        return Err(ApiError::invalid(
            field,
            format!("is {}, not an image, so it cannot be a photo", stored.content_type),
        ));
    }
    Ok(())
}

/// Claims every upload for `user` (a send or a broadcast) until `until`,
/// each fenced on the upload's last event, so a removal decided meanwhile
/// refuses the claim (or the claim refuses the removal).
pub async fn claim_uploads(
    state: &AppState,
    project_id: &str,
    uploads: &[String],
    user: &str,
    until: DateTime<Utc>,
    meta: &EventMeta,
) -> Result<(), ApiError> {
    for upload_id in uploads {
        let mut attempts = 0;
        loop {
            let loaded = state.rt.log.load::<Upload>(upload_id).await?;
            let field = "upload_id";
            let Some(claimed) = claim(&loaded.state, project_id, user, until).map_err(|r| refusal(field, r))? else {
                break;
            };
            let event_id = ids::caused_event_id(&format!("{user}:{upload_id}:{until}"), "upload_claimed");
            let env = Envelope::new(claimed, meta.clone()).with_event_id(event_id);
            match state.rt.log.append(&env, Expect::LastSequence(loaded.version)).await {
                Ok(_) => break,
                Err(AppendError::Conflict) if attempts < CLAIM_ATTEMPTS => attempts += 1,
                Err(e) => return Err(ApiError::unavailable("the event log", &e)),
            }
        }
    }
    Ok(())
}
