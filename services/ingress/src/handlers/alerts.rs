//! `POST /alerts/upsert` and `PATCH /alerts/{alert_id}`: live alert cards.
//!
//! An incident is keyed by its integration and the project's `external_id`;
//! its current card is one Telegram message per chat, which the dispatcher
//! edits in place as the card changes (`services/dispatcher/src/delivery/card.rs`).
//! Here the request is checked, the card rendered once to refuse what
//! Telegram would refuse, its content sealed, and the incident decides
//! (`shared/aggregates/src/incident.rs`); the append is fenced on the
//! incident as loaded, and a concurrent update of the same incident is
//! decided again on the newer state.

use chrono::{Duration, Utc};
use novij_aggregates::incident::{Change, Decision, Incident, IncidentCommand, IncidentRefusal};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::incident::{AlertStatus, CardAction, CardContent, CardField, CardLink, CardUpdated, Severity};
use novij_events::send::OutgoingMessage;
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::derive;
use novij_templates::card::{render_card, PRICED_AS};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::payments::{self, PaymentFields, Priced};
use super::sends::{accept_reply, active_chat, open_chat, ChatReply};
use super::{integrations::find_for_project, json, query, Credentials};
use crate::answer::Answer;
use crate::auth::Caller;
use crate::body::{self, check_locale};
use crate::error::ApiError;
use crate::fields;
use crate::media::Requested;
use crate::presses::PressView;
use crate::state::AppState;

/// How many times a request decides again after losing a race for the incident.
const RACES: usize = 20;
const MAX_RECIPIENTS: usize = fields::MAX_ALERT_RECIPIENTS;
const MAX_FIELDS: usize = 25;
const MAX_LINKS: usize = 6;
const MAX_ACTIONS: usize = 6;

/// Read with [`body::parse_parts`]: its two parts, flattened.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct UpsertAlert {
    #[serde(flatten)]
    pub target: AlertTarget,
    #[serde(flatten)]
    pub card: CardFields,
}

/// Which incident, and which chats a new card goes to.
#[derive(Deserialize, Serialize, ToSchema, Default)]
pub struct AlertTarget {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    pub integration_id: String,
    /// One chat: the `public_user_ref` the user connected with.
    #[schema(schema_with = crate::fields::optional_user_ref)]
    pub recipient_ref: Option<String>,
    /// Several chats (at most 20); give this or `recipient_ref`. The chats of
    /// a card are fixed when it opens.
    #[schema(schema_with = crate::fields::alert_recipient_refs)]
    pub recipient_refs: Option<Vec<String>>,
    /// The project's id of the incident: the same id updates the same card.
    #[schema(schema_with = crate::fields::external_id)]
    pub external_id: String,
    /// Payment mode `dsr`: what pays for a card this upsert opens (a quote of
    /// `server_alert_basic` for as many recipients as the card has chats). An
    /// upsert that updates the current card costs nothing and leaves the
    /// transaction unclaimed.
    #[serde(flatten)]
    pub payment: PaymentFields,
}

/// What a card shows; every field of an upsert, any of a `PATCH`.
#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CardFields {
    /// One line, at most 256 characters. Required in an upsert.
    #[schema(schema_with = crate::fields::optional_alert_title)]
    pub title: Option<String>,
    /// `critical`, `high`, `warning` or `info`. Required in an upsert.
    #[schema(schema_with = crate::fields::optional_severity)]
    pub severity: Option<Severity>,
    /// `firing`, `acknowledged` or `resolved`. Required in an upsert.
    #[schema(schema_with = crate::fields::optional_alert_status)]
    pub status: Option<AlertStatus>,
    /// At most 2,048 characters.
    #[schema(schema_with = crate::fields::optional_card_summary)]
    pub summary: Option<String>,
    /// At most 25 `{name, value}` lines.
    #[schema(max_items = 25)]
    pub fields: Option<Vec<FieldInput>>,
    /// At most 6 buttons that open a URL (`http` or `https`).
    #[schema(max_items = 6)]
    pub links: Option<Vec<LinkInput>>,
    /// At most 6 buttons; a press is offered to the project with the action's `id`.
    /// A resolved card shows none.
    #[schema(max_items = 6)]
    pub actions: Option<Vec<ActionInput>>,
    /// `ru` or `en`; defaults to the integration's `default_locale`.
    #[schema(schema_with = crate::fields::optional_locale)]
    pub locale: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct FieldInput {
    #[schema(schema_with = crate::fields::label)]
    pub name: String,
    #[schema(schema_with = crate::fields::card_field_value)]
    pub value: String,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    #[schema(schema_with = crate::fields::label)]
    pub label: String,
    #[schema(schema_with = crate::fields::link_url)]
    pub url: String,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    /// `[a-z0-9_-]`, at most 64 characters, unique within the card.
    #[schema(schema_with = crate::fields::action_id)]
    pub id: String,
    #[schema(schema_with = crate::fields::label)]
    pub label: String,
}

#[derive(Serialize, ToSchema)]
pub struct AlertView {
    pub alert_id: String,
    pub external_id: String,
    #[schema(value_type = String)]
    pub status: AlertStatus,
    #[schema(value_type = String)]
    pub severity: Severity,
    /// Goes up with every change of the card.
    pub revision: u32,
    /// This request opened the card.
    pub created: bool,
    /// Payment mode `dsr`: `pending` until the payment-verifier clears the
    /// card (then `paid`), or `refused`: the card is never shown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<&'static str>,
}

/// Checks the card fields that are present.
fn validate(card: &CardFields) -> Result<(), ApiError> {
    if let Some(title) = &card.title {
        fields::ALERT_TITLE.check("title", title)?;
    }
    if let Some(summary) = &card.summary {
        fields::CARD_SUMMARY.check("summary", summary)?;
    }
    if let Some(locale) = &card.locale {
        check_locale("locale", locale)?;
    }
    let fields = card.fields.as_deref().unwrap_or_default();
    if fields.len() > MAX_FIELDS {
        return Err(ApiError::invalid("fields", format!("must have at most {MAX_FIELDS} entries")));
    }
    for (i, f) in fields.iter().enumerate() {
        fields::LABEL.check(&format!("fields[{i}].name"), &f.name)?;
        fields::CARD_FIELD_VALUE.check(&format!("fields[{i}].value"), &f.value)?;
    }
    let links = card.links.as_deref().unwrap_or_default();
    if links.len() > MAX_LINKS {
        return Err(ApiError::invalid("links", format!("must have at most {MAX_LINKS} entries")));
    }
    for (i, l) in links.iter().enumerate() {
        fields::LABEL.check(&format!("links[{i}].label"), &l.label)?;
        let url = url::Url::parse(&l.url).ok().filter(|u| matches!(u.scheme(), "http" | "https"));
        if url.is_none() || l.url.len() > 2048 {
            return Err(ApiError::invalid(&format!("links[{i}].url"), "must be an http or https URL"));
        }
    }
    let actions = card.actions.as_deref().unwrap_or_default();
    if actions.len() > MAX_ACTIONS {
        return Err(ApiError::invalid("actions", format!("must have at most {MAX_ACTIONS} entries")));
    }
    for (i, a) in actions.iter().enumerate() {
        fields::ACTION_ID.check(&format!("actions[{i}].id"), &a.id)?;
        fields::LABEL.check(&format!("actions[{i}].label"), &a.label)?;
        if actions[..i].iter().any(|b| b.id == a.id) {
            return Err(ApiError::invalid(&format!("actions[{i}].id"), "is used by another action"));
        }
    }
    Ok(())
}

/// The card `fields` make of `base` (a `PATCH` changes what it names).
fn merged(fields: CardFields, base: CardContent, default_locale: &str) -> CardContent {
    CardContent {
        title: fields.title.unwrap_or(base.title),
        summary: fields.summary.or(base.summary),
        fields: match fields.fields {
            Some(f) => f.into_iter().map(|f| CardField { name: f.name, value: f.value }).collect(),
            None => base.fields,
        },
        links: match fields.links {
            Some(l) => l.into_iter().map(|l| CardLink { label: l.label, url: l.url }).collect(),
            None => base.links,
        },
        actions: match fields.actions {
            Some(a) => a.into_iter().map(|a| CardAction { id: a.id, label: a.label }).collect(),
            None => base.actions,
        },
        locale: fields.locale.or((!base.locale.is_empty()).then_some(base.locale)).unwrap_or(default_locale.into()),
    }
}

/// The change a request asks for: the content rendered once (Telegram's
/// limits, naming the field), fingerprinted and sealed.
async fn change(
    state: &AppState,
    severity: Severity,
    status: AlertStatus,
    content: &CardContent,
) -> Result<Change, ApiError> {
    // Any id of the longest form: the callback data's length is part of the check.
    render_card(&format!("{}_{}", ids::ALERT, "0".repeat(42)), severity, status, content)
        .map_err(|e| ApiError::invalid(&e.field, e.message))?;
    let plaintext = serde_json::to_vec(content).map_err(|e| ApiError::internal(&e))?;
    let content_hash = derive::card_hash(&state.rt.keyring, &plaintext);
    let expires_at = Utc::now() + Duration::seconds(state.rt.config.retention.payload_seconds.into());
    let sealed = state
        .rt
        .payloads
        .seal(derive::purpose::ALERT_CARD, &plaintext, expires_at)
        .await
        .map_err(|e| ApiError::unavailable("the payload key store", &e))?;
    let actions = content.actions.iter().map(|a| a.id.clone()).collect();
    Ok(Change { severity, status, content: sealed, content_hash, actions })
}

fn refused(refusal: IncidentRefusal) -> ApiError {
    match refusal {
        IncidentRefusal::NotFound => ApiError::not_found("alert"),
        IncidentRefusal::Superseded => ApiError::new(
            StatusCode::CONFLICT,
            "alert_superseded",
            "the incident fired again after this card was resolved; update its current card",
        ),
        IncidentRefusal::NoRecipients => ApiError::invalid("recipient_refs", "must name at least one recipient"),
        // Presses are not decided here.
        IncidentRefusal::Resolved => ApiError::new(StatusCode::CONFLICT, "alert_resolved", "the alert is resolved"),
        IncidentRefusal::PaymentRefused => ApiError::new(
            StatusCode::CONFLICT,
            "alert_payment_refused",
            "the card's payment was refused, so it was never shown; upsert the incident as firing to open a new card",
        ),
    }
}

/// Decides on the incident as loaded and appends, fenced on it; a lost race
/// loads the newer state and decides again.
async fn decide_and_append(
    state: &AppState,
    meta: EventMeta,
    incident_id: &str,
    external_id: Option<&str>,
    command: impl Fn() -> IncidentCommand,
) -> Result<(Incident, Decision), ApiError> {
    let mut loaded = state.incidents.get(incident_id).await?;
    for _ in 0..RACES {
        let Loaded { state: incident, version } = &loaded;
        let external_id = external_id.unwrap_or(&incident.external_id);
        let decision =
            novij_aggregates::incident::decide(incident, incident_id, external_id, command()).map_err(refused)?;
        let expect = if *version == 0 { Expect::NoEvents } else { Expect::LastSequence(*version) };
        let appended = match &decision {
            Decision::Opened(e) => state.rt.log.append(&Envelope::new((**e).clone(), meta.clone()), expect).await,
            Decision::Updated(e) => state.rt.log.append(&Envelope::new(e.clone(), meta.clone()), expect).await,
            Decision::Pressed(e) => state.rt.log.append(&Envelope::new(e.clone(), meta.clone()), expect).await,
            Decision::Acked(e) => state.rt.log.append(&Envelope::new(e.clone(), meta.clone()), expect).await,
            Decision::Unchanged { .. } | Decision::Nothing => return Ok((loaded.state, decision)),
        };
        match appended {
            Ok(appended) => {
                state.incidents.wait_for(appended.sequence).await;
                return Ok((loaded.state, decision));
            }
            Err(AppendError::Conflict) => loaded = state.incidents.refresh(incident_id).await?,
            Err(e) => return Err(ApiError::unavailable("the event log", &e)),
        }
    }
    Err(ApiError::new(StatusCode::CONFLICT, "changed_meanwhile", "the alert kept changing; try again"))
}

/// The answer about the card a decision was on; `incident` is as loaded
/// after the decision's event.
fn view(incident: &Incident, decision: &Decision) -> Result<(StatusCode, AlertView), ApiError> {
    let (status, alert_id) = match decision {
        Decision::Opened(e) => (StatusCode::CREATED, &e.alert_id),
        Decision::Updated(CardUpdated { alert_id, .. }) | Decision::Unchanged { alert_id } => {
            (StatusCode::OK, alert_id)
        }
        Decision::Pressed(_) | Decision::Acked(_) | Decision::Nothing => {
            return Err(ApiError::internal(&"an alert change decided something else"))
        }
    };
    let generation = ids::parse_alert_id(alert_id).map(|(_, g)| g).unwrap_or_default();
    let card = incident.card(generation).ok_or_else(|| ApiError::not_found("alert"))?;
    Ok((
        status,
        AlertView {
            alert_id: alert_id.clone(),
            external_id: incident.external_id.clone(),
            status: card.status,
            severity: card.severity,
            revision: card.revision,
            created: status == StatusCode::CREATED,
            payment: card.payment.label(),
        },
    ))
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, ApiError> {
    value.ok_or_else(|| ApiError::invalid(field, format!("missing field `{field}`")))
}

#[utoipa::path(post, path = "/api/v1/alerts/upsert", tag = "alerts", request_body = UpsertAlert, security(("api_key" = [])),
    responses((status = 201, body = AlertView, description = "a card was opened"),
              (status = 200, body = AlertView, description = "the current card was updated, or already was so"),
              (status = 404, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn upsert(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let (req, card): (AlertTarget, CardFields) = body::parse_parts(&bytes)?;
    fields::PROJECT_ID.check("project_id", &req.project_id)?;
    fields::EXTERNAL_ID.check("external_id", &req.external_id)?;
    let refs: Vec<(String, String)> = match (&req.recipient_ref, &req.recipient_refs) {
        (Some(one), None) => vec![("recipient_ref".into(), one.clone())],
        (None, Some(many)) if !many.is_empty() && many.len() <= MAX_RECIPIENTS => {
            many.iter().enumerate().map(|(i, r)| (format!("recipient_refs[{i}]"), r.clone())).collect()
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid("recipient_refs", format!("must name 1 to {MAX_RECIPIENTS} recipients")))
        }
        _ => return Err(ApiError::invalid("recipient_ref", "give either recipient_ref or recipient_refs")),
    };
    for (field, r) in &refs {
        fields::USER_REF.check(field, r)?;
    }
    validate(&card)?;
    let severity = required("severity", card.severity)?;
    let status = required("status", card.status)?;
    required("title", card.title.as_ref())?;
    let integration = find_for_project(&state, &caller, &req.project_id, &req.integration_id).await?;
    let incident_id = derive::incident_id(&state.rt.keyring, &integration.integration_id, &req.external_id);
    let current = state.incidents.get(&incident_id).await?.state;
    // The chats of an open card are its own; they are checked when a card opens.
    let opens = current.opens_with(status);
    let mut recipients = Vec::new();
    let mut payment = None;
    if opens {
        for (field, r) in &refs {
            let (recipient_id, _) =
                active_chat(&state, &integration.integration_id, r).await.map_err(|e| e.with_field(field.as_str()))?;
            if !recipients.contains(&recipient_id) {
                recipients.push(recipient_id);
            }
        }
        let priced = Priced { project_id: &req.project_id, template: PRICED_AS, recipients: recipients.len() as u32 };
        payment = payments::claim_for(&state, priced, &req.payment, &integration)?.1.map(Box::new);
        if let Some(claim) = &payment {
            payments::refuse_used_tx(&state, &claim.tx_hash).await?;
        }
    }
    let default_locale = integration.default_locale.clone().unwrap_or_else(|| "ru".into());
    let content = merged(card, CardContent::default(), &default_locale);
    let change = change(&state, severity, status, &content).await?;
    let command = || IncidentCommand::Upsert {
        project_id: req.project_id.clone(),
        integration_id: integration.integration_id.clone(),
        bot_key: integration.bot_key.clone(),
        recipients: recipients.clone(),
        payment: payment.clone(),
        change: change.clone(),
    };
    let (incident, decision) =
        decide_and_append(&state, creds.meta(), &incident_id, Some(&req.external_id), command).await?;
    let incident = if matches!(decision, Decision::Unchanged { .. }) {
        incident
    } else {
        state.incidents.get(&incident_id).await?.state
    };
    let (status, view) = view(&incident, &decision)?;
    tracing::info!(alert_id = %view.alert_id, revision = view.revision, created = view.created, "alert upserted");
    Ok(json(status, &view))
}

/// The incident of a card the caller may see, and the card's generation.
async fn visible_card(state: &AppState, caller: &Caller, alert_id: &str) -> Result<(Loaded<Incident>, u32), ApiError> {
    let (incident_id, generation) = ids::parse_alert_id(alert_id).ok_or_else(|| ApiError::not_found("alert"))?;
    let loaded = state.incidents.get(&incident_id).await?;
    let visible = loaded.state.card(generation).is_some() && caller.sees(loaded.state.project_id.as_deref());
    if !visible {
        return Err(ApiError::not_found("alert"));
    }
    Ok((loaded, generation))
}

#[utoipa::path(patch, path = "/api/v1/alerts/{alert_id}", tag = "alerts", request_body = CardFields,
    security(("api_key" = [])),
    params(("alert_id" = String, Path, description = "the card's id, from the upsert")),
    responses((status = 200, body = AlertView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn patch(
    state: AppState,
    creds: Credentials,
    alert_id: String,
    bytes: bytes::Bytes,
) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: CardFields = body::parse(&bytes)?;
    validate(&req)?;
    let (loaded, generation) = visible_card(&state, &caller, &alert_id).await?;
    super::integrations::require_owner_of(&state, &caller, &loaded.state.integration_id).await?;
    let view = update_card(&state, creds.meta(), &loaded.state, generation, req).await?;
    tracing::info!(alert_id = %view.alert_id, revision = view.revision, "alert updated");
    Ok(json(StatusCode::OK, &view))
}

/// Changes what `fields` name on a card: its current content opened, merged
/// and sealed again.
async fn update_card(
    state: &AppState,
    meta: EventMeta,
    incident: &Incident,
    generation: u32,
    fields: CardFields,
) -> Result<AlertView, ApiError> {
    let card = incident.card(generation).ok_or_else(|| ApiError::not_found("alert"))?;
    let base = match state.rt.payloads.open(derive::purpose::ALERT_CARD, &card.content).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(&e))?,
        Err(novij_runtime::PayloadError::Shredded) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "alert_expired",
                "the card's content has expired; upsert the incident with its whole content",
            ))
        }
        Err(e) => return Err(ApiError::unavailable("the payload key store", &e)),
    };
    let severity = fields.severity.unwrap_or(card.severity);
    let status = fields.status.unwrap_or(card.status);
    let content = merged(fields, base, "ru");
    let change = change(state, severity, status, &content).await?;
    let command = || IncidentCommand::Update { generation, change: change.clone() };
    let (_, decision) = decide_and_append(state, meta, &incident.incident_id, None, command).await?;
    let incident = state.incidents.get(&incident.incident_id).await?.state;
    Ok(view(&incident, &decision)?.1)
}

#[derive(Serialize, ToSchema)]
pub struct PollView {
    /// Presses not yet acked, oldest first.
    pub actions: Vec<PressView>,
}

#[utoipa::path(get, path = "/api/v1/alerts/actions/poll", tag = "alerts", security(("api_key" = [])),
    params(("project_id" = String, Query), ("integration_id" = String, Query),
           ("wait_seconds" = Option<u64>, Query, minimum = 0, maximum = 30, description = "wait up to this long (at most 30) for a press when there is none")),
    responses((status = 200, body = PollView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn poll(state: AppState, creds: Credentials, query: BTreeMap<String, String>) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let (project_id, integration_id) =
        (query::required(&query, "project_id")?, query::required(&query, "integration_id")?);
    let wait = query::wait(&query)?;
    find_for_project(&state, &caller, &project_id, &integration_id).await?;
    let actions = state
        .presses
        .poll(&project_id, &integration_id, wait)
        .await
        .ok_or_else(|| ApiError::unavailable("the button presses", &"still reading the log"))?;
    Ok(json(StatusCode::OK, &PollView { actions }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckActions {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    pub integration_id: String,
    /// The presses taken (at most 100); acking one again changes nothing.
    #[schema(schema_with = crate::fields::action_ids)]
    pub action_ids: Vec<String>,
    /// Changes the pressed cards like a `PATCH` (the status and summary).
    /// There is no toast for the presser: a press is answered at once, before
    /// the project sees it, and Telegram takes one answer per press; what the
    /// project did shows on the card.
    pub result: Option<AckResult>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckResult {
    #[schema(schema_with = crate::fields::optional_alert_status)]
    pub status: Option<AlertStatus>,
    #[schema(schema_with = crate::fields::optional_card_summary)]
    pub summary: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AckedView {
    /// How many of the presses were open until now.
    pub acked: usize,
}

#[utoipa::path(post, path = "/api/v1/alerts/actions/ack", tag = "alerts", request_body = AckActions, security(("api_key" = [])),
    responses((status = 200, body = AckedView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn ack(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: AckActions = body::parse(&bytes)?;
    if req.action_ids.is_empty() || req.action_ids.len() > 100 {
        return Err(ApiError::invalid("action_ids", "must name 1 to 100 presses"));
    }
    if let Some(summary) = req.result.as_ref().and_then(|r| r.summary.as_ref()) {
        fields::CARD_SUMMARY.check("result.summary", summary)?;
    }
    find_for_project(&state, &caller, &req.project_id, &req.integration_id).await?;
    // By incident, each checked to be this integration's.
    let mut by_incident: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, action_id) in req.action_ids.iter().enumerate() {
        let field = format!("action_ids[{i}]");
        let incident_id =
            ids::incident_of_action(action_id).ok_or_else(|| ApiError::invalid(&field, "is not an action id"))?;
        let incident = state.incidents.get(&incident_id).await?.state;
        let owned = incident.project_id.as_deref() == Some(req.project_id.as_str())
            && incident.integration_id == req.integration_id
            && incident.cards.iter().flat_map(|c| &c.presses).any(|p| &p.action_id == action_id);
        if !owned {
            return Err(ApiError::not_found("action").with_field(field));
        }
        by_incident.entry(incident_id).or_default().push(action_id.clone());
    }
    let mut acked = 0;
    for (incident_id, action_ids) in by_incident {
        let command = || IncidentCommand::Ack { action_ids: action_ids.clone() };
        let (incident, decision) = decide_and_append(&state, creds.meta(), &incident_id, None, command).await?;
        if let Decision::Acked(e) = &decision {
            acked += e.action_ids.len();
        }
        let Some(result) = &req.result else { continue };
        // The cards pressed, as far as they are still current.
        let pressed: std::collections::BTreeSet<u32> = incident
            .cards
            .iter()
            .filter(|c| c.presses.iter().any(|p| action_ids.contains(&p.action_id)))
            .map(|c| c.generation)
            .collect();
        for generation in pressed.into_iter().filter(|g| *g as usize == incident.cards.len()) {
            let fields = CardFields { status: result.status, summary: result.summary.clone(), ..CardFields::default() };
            let incident = state.incidents.get(&incident_id).await?.state;
            update_card(&state, creds.meta(), &incident, generation, fields).await?;
        }
    }
    tracing::info!(acked, "button presses acked");
    Ok(json(StatusCode::OK, &AckedView { acked }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The details, sent as given (HTML-escaped); at most 4,096 characters,
    /// or 1,024 as the caption of media.
    pub text: String,
    /// A retry with the same key sends nothing again.
    #[schema(schema_with = crate::fields::optional_idempotency_key)]
    pub idempotency_key: Option<String>,
    /// One file (a graph, a log excerpt) with `text` as its caption.
    pub media: Option<crate::media::MediaRequest>,
    /// An album of 2–10 files with `text` as its caption.
    #[schema(min_items = 2, max_items = 10)]
    pub media_group: Option<Vec<crate::media::MediaRequest>>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplyView {
    pub alert_id: String,
    /// One send per chat of the card, each a reply to the card there.
    pub send_ids: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/alerts/{alert_id}/reply", tag = "alerts", request_body = ReplyRequest,
    security(("api_key" = [])),
    params(("alert_id" = String, Path, description = "the card's id")),
    responses((status = 202, body = ReplyView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn reply(
    state: AppState,
    creds: Credentials,
    alert_id: String,
    bytes: bytes::Bytes,
) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: ReplyRequest = body::parse(&bytes)?;
    if let Some(key) = &req.idempotency_key {
        fields::IDEMPOTENCY_KEY.check("idempotency_key", key)?;
    }
    let (loaded, generation) = visible_card(&state, &caller, &alert_id).await?;
    super::integrations::require_owner_of(&state, &caller, &loaded.state.integration_id).await?;
    let incident = loaded.state;
    let card = incident.card(generation).ok_or_else(|| ApiError::not_found("alert"))?;
    // A reply is free because the card it answers was paid for.
    if !card.showable() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "alert_not_paid",
            "the card's payment is not cleared (yet), so it has no messages to reply to",
        ));
    }
    let project_id = incident.project_id.clone().unwrap_or_default();
    let vars = serde_json::Map::from_iter([("text".to_string(), serde_json::Value::String(req.text.clone()))]);
    let requested = Requested::new(&req.media, &req.media_group);
    let rendered = requested
        .render("text_message", &vars, novij_templates::RenderContext::default())
        .map_err(|e| ApiError::invalid("text", e.detail.message))?;
    let media = requested.check(&state, &project_id).await?;
    let keyring = &state.rt.keyring;
    let key = req.idempotency_key.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let canonical = serde_json::to_vec(&req).map_err(|e| ApiError::internal(&e))?;
    let request_hash = derive::request_hash(keyring, &[alert_id.as_bytes(), b"\0", &canonical].concat());
    let mut send_ids = Vec::new();
    for recipient_id in card.recipients.iter().filter(|r| !card.failed.contains_key(*r)) {
        let recipient = state.recipients.get(recipient_id).await?.state;
        let (Some(novij_events::status::RecipientStatus::Active), Some(chat)) = (recipient.status, recipient.chat)
        else {
            continue;
        };
        let send_id = derive::send_id(keyring, &project_id, &format!("alert-reply\0{alert_id}\0{key}\0{recipient_id}"));
        let text = rendered.text.clone();
        let mut message = OutgoingMessage::new(
            open_chat(&state, recipient_id, &chat)?,
            text,
            rendered.parse_mode.map(str::to_string),
            media.clone(),
        );
        message.reply_to = card.shown.get(recipient_id).map(|s| s.telegram_message_id);
        let reply = ChatReply {
            send_id: send_id.clone(),
            project_id: &project_id,
            integration_id: &incident.integration_id,
            bot_key: &incident.bot_key,
            recipient_id,
            template: "text_message",
            request_hash: request_hash.clone(),
            message,
        };
        // A retry finds that chat's reply accepted already.
        accept_reply(&state, creds.meta(), reply).await?;
        send_ids.push(send_id);
    }
    if send_ids.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "recipient_unreachable",
            "no chat of this card can receive messages",
        ));
    }
    tracing::info!(alert_id = %alert_id, chats = send_ids.len(), "alert reply accepted");
    Ok(json(StatusCode::ACCEPTED, &ReplyView { alert_id, send_ids }))
}

#[derive(Serialize, ToSchema)]
pub struct AlertListView {
    /// Newest first; a page shorter than `limit` is the last.
    pub alerts: Vec<AlertListEntry>,
}

#[derive(Serialize, ToSchema)]
pub struct AlertListEntry {
    pub alert_id: String,
    pub external_id: String,
    /// 1 for the incident's first card; a card that fired again after it was resolved is the next.
    pub generation: i32,
    /// `critical`, `high`, `warning` or `info`.
    pub severity: String,
    /// `firing`, `acknowledged` or `resolved`.
    pub status: String,
    pub revision: i32,
    /// Payment mode `dsr`: `pending`, `paid`, or `refused` (a card never shown).
    pub payment: Option<String>,
    pub opened_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", security(("api_key" = [])),
    params(("project_id" = String, Query), ("integration_id" = String, Query),
           ("status" = Option<String>, Query, pattern = "^(firing|acknowledged|resolved)$", description = "only cards in this status: firing, acknowledged or resolved"),
           ("limit" = Option<u64>, Query, minimum = 1, maximum = 1000, description = "cards per page, 1–1000 (default 500)"),
           ("after" = Option<String>, Query, description = "the last `alert_id` of the page before")),
    responses((status = 200, body = AlertListView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn list(state: AppState, creds: Credentials, query: BTreeMap<String, String>) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let (project_id, integration_id) =
        (query::required(&query, "project_id")?, query::required(&query, "integration_id")?);
    let status = match query.get("status") {
        None => None,
        Some(s) => Some(s.parse::<AlertStatus>().map_err(|e| ApiError::invalid("status", e.to_string()))?),
    };
    let limit = query::limit(&query)?;
    find_for_project(&state, &caller, &project_id, &integration_id).await?;
    let rows = novij_projections::queries::alert_cards(
        &state.rt.db,
        &project_id,
        &integration_id,
        status.map(AlertStatus::as_str),
        query.get("after").map(String::as_str),
        limit,
    )
    .await?
    .ok_or_else(|| ApiError::invalid("after", "is not a card of this integration"))?;
    let alerts = rows
        .into_iter()
        .map(|r| AlertListEntry {
            alert_id: r.alert_id,
            external_id: r.external_id,
            generation: r.generation,
            severity: r.severity,
            status: r.status,
            revision: r.revision,
            payment: r.payment,
            opened_at: r.opened_at,
            updated_at: r.updated_at,
        })
        .collect();
    Ok(json(StatusCode::OK, &AlertListView { alerts }))
}
