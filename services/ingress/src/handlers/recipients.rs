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
use super::{json, query, read_your_write, Credentials};
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

/// The integration's recipients in the order they connected, a page at a
/// time: `after` the last `recipient_id` of the page before (a page shorter
/// than `limit` is the last); or the one of a `public_user_ref`.
#[utoipa::path(get, path = "/api/v1/integrations/{id}/recipients", tag = "connect", security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id"),
           ("limit" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "recipients per page, 1–1000 (default 500)"),
           ("after" = Option<String>, Query, description = "the last `recipient_id` of the page before"),
           ("public_user_ref" = Option<String>, Query, description = "only the recipient of this reference")),
    responses((status = 200, body = [RecipientView]), (status = 401, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn list(
    state: AppState,
    creds: Credentials,
    id: String,
    params: std::collections::BTreeMap<String, String>,
) -> Result<Answer, ApiError> {
    use sea_orm::{Condition, QuerySelect};
    let caller = creds.caller(&state)?;
    let integration = find_visible(&state, &caller, &id).await?;
    let limit = query::limit(&params)?;
    let mut find = recipient::Entity::find().filter(recipient::Column::IntegrationId.eq(integration.id.clone()));
    if let Some(user_ref) = params.get("public_user_ref") {
        find = find.filter(recipient::Column::PublicUserRef.eq(user_ref.clone()));
    }
    if let Some(after) = params.get("after") {
        let last = recipient::Entity::find_by_id(after.clone()).one(&state.rt.db).await?;
        let last = last
            .filter(|r| r.integration_id == integration.id)
            .ok_or_else(|| ApiError::invalid("after", "is not a recipient of this integration"))?;
        // Keyset: after (bound_at, recipient_id) of the last one shown.
        find = find.filter(
            Condition::any().add(recipient::Column::BoundAt.gt(last.bound_at)).add(
                Condition::all()
                    .add(recipient::Column::BoundAt.eq(last.bound_at))
                    .add(recipient::Column::RecipientId.gt(last.recipient_id)),
            ),
        );
    }
    let rows = find
        .order_by_asc(recipient::Column::BoundAt)
        .order_by_asc(recipient::Column::RecipientId)
        .limit(limit)
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
    super::integrations::require_owner_of(&state, &caller, &recipient.integration_id).await?;
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
