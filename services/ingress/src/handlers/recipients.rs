//! A project's recipients: `GET /integrations/{id}/recipients`, `DELETE /recipients/{id}` (unlink).

use chrono::{DateTime, Utc};
use novij_aggregates::recipient::{decide, Recipient, RecipientCommand, RecipientRefusal};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::labels::UnknownLabel;
use novij_events::status::RecipientStatus;
use novij_events::{ids, Envelope};
use novij_projections::model::recipient;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::integrations::find_visible;
use super::{json, read_your_write, Credentials};
use crate::answer::Answer;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct RecipientView {
    pub recipient_id: String,
    pub public_user_ref: String,
    /// `active`, `disabled` (the user sent /stop) or `unreachable` (Telegram refused).
    #[schema(value_type = String)]
    pub status: RecipientStatus,
    pub chat_kind: String,
    pub disabled_reason: Option<String>,
    pub bound_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/recipients", tag = "connect", security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id")),
    responses((status = 200, body = [RecipientView]), (status = 404, body = crate::error::ErrorBody)))]
pub async fn list(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let integration = find_visible(&state, &caller, &id).await?;
    let rows = recipient::Entity::find()
        .filter(recipient::Column::IntegrationId.eq(integration.id))
        .order_by_asc(recipient::Column::BoundAt)
        .all(&state.rt.db)
        .await?;
    let views = rows
        .into_iter()
        .map(|r| {
            Ok(RecipientView {
                recipient_id: r.recipient_id,
                public_user_ref: r.public_user_ref,
                status: r.status.parse().map_err(|e: UnknownLabel| ApiError::internal(&e))?,
                chat_kind: r.chat_kind,
                disabled_reason: r.disabled_reason,
                bound_at: r.bound_at,
            })
        })
        .collect::<Result<Vec<RecipientView>, ApiError>>()?;
    Ok(json(StatusCode::OK, &views))
}

#[derive(Serialize, ToSchema)]
pub struct Unlinked {
    pub recipient_id: String,
    /// Always `unlinked`.
    #[schema(value_type = String)]
    pub status: RecipientStatus,
}

#[utoipa::path(delete, path = "/api/v1/recipients/{id}", tag = "connect", security(("api_key" = [])),
    params(("id" = String, Path, description = "recipient id")),
    responses((status = 200, description = "unlinked (again: also 200)", body = Unlinked),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn unlink(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let not_found = || ApiError::not_found("recipient").with_field("recipient_id");
    if !ids::is_valid(ids::RECIPIENT, &id) {
        return Err(not_found());
    }
    let Loaded { state: recipient, version } = state.rt.log.load::<Recipient>(&id).await?;
    match recipient.project_id.as_deref() {
        Some(project) if caller.sees(Some(project)) => caller.require_project(project)?,
        _ => return Err(not_found()),
    }
    let done = || json(StatusCode::OK, &Unlinked { recipient_id: id.clone(), status: RecipientStatus::Unlinked });
    let unlinked = match decide(&recipient, RecipientCommand::Unlink) {
        Ok(Some(unlinked)) => unlinked,
        Ok(None) => return Ok(done()),
        Err(RecipientRefusal::NotFound) => return Err(not_found()),
    };
    match state.rt.log.append(&Envelope::new(unlinked, creds.meta()), Expect::LastSequence(version)).await {
        Ok(appended) => {
            state.recipients.wait_for(appended.sequence).await;
            read_your_write(&state, appended.sequence).await
        }
        Err(AppendError::Conflict) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the recipient changed meanwhile; send it again",
            )
            .with_field("recipient_id"))
        }
        Err(e) => return Err(ApiError::unavailable("the event log", &e)),
    }
    tracing::info!(recipient_id = %id, "recipient unlinked");
    Ok(done())
}
