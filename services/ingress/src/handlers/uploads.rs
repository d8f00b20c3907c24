//! `POST /api/v1/uploads`: a file for later sends, streamed into the
//! object store sealed (`novij_uploads`), then `upload.stored`.
//!
//! multipart/form-data with `project_id` first, then `file`: the project is
//! known before a byte of the file is stored. The body has its own limit,
//! `UPLOAD_MAX_BYTES`, not the JSON one. HTTP only: a NATS message could
//! not carry a file of this size.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use novij_bus::Expect;
use novij_events::upload::UploadStored;
use novij_events::{ids, Envelope};
use novij_runtime::{derive, UploadError};
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::{json, Credentials};
use crate::answer::Answer;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

/// Room for the multipart framing and the `project_id` field around the file.
const FRAMING_BYTES: u64 = 64 * 1024;

#[derive(Serialize, ToSchema)]
pub struct UploadView {
    /// Name it in a message's `media.upload_id`.
    pub upload_id: String,
    /// Bytes stored.
    pub size: u64,
    pub content_type: String,
}

/// The multipart body as `file` and `project_id`, for the OpenAPI document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// Comes first.
    project_id: String,
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn bad_multipart(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", format!("the multipart body cannot be read: {e}"))
}

#[utoipa::path(post, path = "/api/v1/uploads", tag = "send", security(("api_key" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 201, body = UploadView), (status = 400, body = crate::error::ErrorBody),
              (status = 413, body = crate::error::ErrorBody), (status = 415, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn create<S>(
    state: AppState,
    creds: Credentials,
    content_type: Option<String>,
    body: S,
) -> Result<Answer, ApiError>
where
    S: Stream<Item = Result<Bytes, warp::Error>> + Send + Unpin + 'static,
{
    let caller = creds.caller(&state)?;
    let boundary = content_type.as_deref().and_then(|ct| multer::parse_boundary(ct).ok()).ok_or_else(|| {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send multipart/form-data")
    })?;
    let max = state.rt.config.upload_max_bytes;
    let limits = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(max + FRAMING_BYTES));
    let mut form = multer::Multipart::with_constraints(body, boundary, limits);
    let mut project_id = None;
    while let Some(field) = form.next_field().await.map_err(bad_multipart)? {
        match field.name() {
            Some("project_id") if project_id.is_none() => {
                let id = field.text().await.map_err(bad_multipart)?;
                fields::PROJECT_ID.check("project_id", &id)?;
                caller.require_project(&id)?;
                project_id = Some(id);
            }
            Some("file") => {
                let Some(project_id) = project_id else {
                    return Err(ApiError::invalid("project_id", "is required, before the file"));
                };
                return store(&state, &creds, project_id, field).await;
            }
            other => {
                return Err(ApiError::invalid(
                    other.unwrap_or("file"),
                    "is not a field of an upload: send project_id, then file",
                ))
            }
        }
    }
    Err(ApiError::invalid("file", "is required"))
}

async fn store(
    state: &AppState,
    creds: &Credentials,
    project_id: String,
    field: multer::Field<'static>,
) -> Result<Answer, ApiError> {
    let content_type = field.content_type().map_or_else(|| "application/octet-stream".to_string(), |m| m.to_string());
    fields::CONTENT_TYPE.check("file", &content_type)?;
    // Only the name itself, never a client's path.
    let filename = field
        .file_name()
        .and_then(|name| name.rsplit(['/', '\\']).next())
        .map(|name| name.chars().filter(|c| !c.is_control()).take(fields::FILE_NAME.max).collect::<String>())
        .filter(|name| !name.trim().is_empty());
    let upload_id = ids::new_id(ids::UPLOAD);
    let rt = &state.rt;
    let max = rt.config.upload_max_bytes;
    let stored = rt.uploads.put(&upload_id, field.boxed(), max).await.map_err(|e| match e {
        UploadError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload_too_large",
            format!("the file is larger than UPLOAD_MAX_BYTES ({max} bytes)"),
        )
        .with_field("file"),
        UploadError::Empty => ApiError::invalid("file", "is empty"),
        UploadError::Body(why) => bad_multipart(why),
        other => ApiError::unavailable("the upload store", &other),
    })?;
    let filename = filename.map(|name| rt.keyring.seal_owned(derive::purpose::UPLOAD_FILENAME, &upload_id, &name));
    let filename = filename.transpose()?;
    let unused_until = chrono::Utc::now() + chrono::Duration::seconds(rt.config.upload_unused_seconds.into());
    let event = UploadStored {
        upload_id: upload_id.clone(),
        project_id,
        size: stored.size,
        content_type: content_type.clone(),
        filename,
        key: stored.key,
        chunks: stored.chunks,
        unused_until,
    };
    if let Err(e) = rt.log.append(&Envelope::new(event, creds.meta()), Expect::NoEvents).await {
        // Without its event nothing would ever remove it.
        if let Err(removal) = rt.uploads.remove(&upload_id).await {
            tracing::warn!(upload_id, error = %removal, "an upload without its event is left in the store");
        }
        return Err(ApiError::unavailable("the event log", &e));
    }
    tracing::info!(upload_id, size = stored.size, "upload stored");
    Ok(json(StatusCode::CREATED, &UploadView { upload_id, size: stored.size, content_type }))
}
