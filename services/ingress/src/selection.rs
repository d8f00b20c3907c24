//! Who a broadcast (or its quote) goes to: named recipients, or everyone
//! connected to the integration now, from the connected recipients ingress
//! keeps in memory (`novij_runtime::connected`).

use novij_aggregates::integration::Integration;
use novij_events::broadcast::MAX_RECIPIENTS;
use novij_runtime::derive;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use warp::http::StatusCode;

use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

/// Who a broadcast goes to: exactly one of the three.
#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
pub struct Selection {
    /// The `public_user_ref`s, each connected now.
    pub recipient_refs: Option<Vec<String>>,
    /// Everyone connected to the integration now.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_connected: bool,
    /// The recipients, each with variables of their own on top of `template_vars`.
    pub recipients: Option<Vec<RecipientVars>>,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct RecipientVars {
    #[serde(rename = "ref")]
    pub public_user_ref: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub template_vars: Map<String, Value>,
}

/// One recipient as resolved: its id and the field that named it.
pub struct Resolved {
    pub recipient_id: String,
    pub field: String,
    pub vars: Option<Map<String, Value>>,
}

/// The recipients a selection names, each connected now; 422 naming the
/// field of one that is not, or of a selection that is not exactly one.
pub async fn resolve(
    state: &AppState,
    integration: &Integration,
    selection: Selection,
) -> Result<Vec<Resolved>, ApiError> {
    let integration_id = integration.integration_id.as_str();
    let keyring = &state.rt.keyring;
    let given = [selection.recipient_refs.is_some(), selection.all_connected, selection.recipients.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::invalid(
            "recipient_refs",
            "give exactly one of `recipient_refs`, `all_connected: true` or `recipients`",
        ));
    }
    let named: Vec<Named> = if selection.all_connected {
        let connected = state.connected.of_integration(integration_id).await.map_err(|e| unavailable(&e))?;
        if connected.is_empty() {
            return Err(ApiError::invalid("all_connected", "no recipient is connected to this integration"));
        }
        return Ok(connected
            .into_iter()
            .map(|c| Resolved { recipient_id: c.recipient_id, field: "all_connected".into(), vars: None })
            .collect());
    } else if let Some(refs) = selection.recipient_refs {
        refs.into_iter().enumerate().map(|(i, r)| (format!("recipient_refs[{i}]"), r, None)).collect()
    } else {
        let listed = selection.recipients.unwrap_or_default();
        listed
            .into_iter()
            .enumerate()
            .map(|(i, r)| (format!("recipients[{i}]"), r.public_user_ref, Some(r.template_vars)))
            .collect()
    };
    let field =
        if named.first().is_some_and(|(f, ..)| f.starts_with("recipients")) { "recipients" } else { "recipient_refs" };
    if named.is_empty() || named.len() > MAX_RECIPIENTS {
        return Err(ApiError::invalid(field, format!("must name 1 to {MAX_RECIPIENTS} recipients")));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(named.len());
    for (field, public_user_ref, vars) in named {
        fields::USER_REF.check(&field, &public_user_ref)?;
        if !seen.insert(public_user_ref.clone()) {
            return Err(ApiError::invalid(&field, "names a recipient already named"));
        }
        let recipient_id = derive::recipient_id(keyring, integration_id, &public_user_ref);
        if state.connected.get(&recipient_id).await.map_err(|e| unavailable(&e))?.is_none() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "recipient_not_connected",
                "no connected chat for this recipient",
            )
            .with_field(field));
        }
        out.push(Resolved { recipient_id, field, vars });
    }
    Ok(out)
}

/// A named recipient: the field naming it, its `public_user_ref`, its own variables.
type Named = (String, String, Option<Map<String, Value>>);

fn unavailable(e: &dyn std::fmt::Display) -> ApiError {
    ApiError::unavailable("the connected recipients", e)
}
