//! What executors do with the commands users run: `GET /commands/poll` (the
//! requests no executor took yet, from memory), `POST /commands/ack` (take
//! them: the first ack of a request wins, decided on its aggregate) and
//! `POST /commands/{command_id}/reply` (answer the user's message, with
//! buttons if wanted; a final reply ends the command). Presses of those
//! buttons come to the same executor's poll, and are acked like requests.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use novij_aggregates::command::{decide, Command, CommandAction, CommandDecision, CommandRefusal};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::commands::{button_data, CommandInput, CommandPressed, CommandRequested, ExecutorCommand};
use novij_events::send::MessageButton;
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::{derive, PayloadError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::integrations::{find_for_project, require_owner_of};
use super::sends::{accept_reply, reply_text, Answering};
use super::{json, query, Credentials};
use crate::answer::Answer;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::pending_commands::Pending;
use crate::state::AppState;

/// How many times an ack or reply decides again after losing a race for the command.
const RACES: usize = 10;
const MAX_BUTTONS: usize = 12;
/// Buttons per keyboard row.
const PER_ROW: usize = 3;

/// Someone pressed a button under one of the command's replies.
#[derive(Serialize, ToSchema)]
pub struct CommandPressView {
    /// `press`.
    pub kind: &'static str,
    /// What to ack (in `command_ids`).
    pub press_id: String,
    pub command_id: String,
    /// The button's `id` in the reply.
    pub action: String,
    /// The presser's `public_user_ref` when connected to this integration, else an opaque id.
    pub from: String,
    pub pressed_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Polled {
    Command(ExecutorCommand),
    Press(CommandPressView),
}

#[derive(Serialize, ToSchema)]
pub struct CommandPollView {
    /// Requests (`kind: command`) and presses (`kind: press`), oldest first.
    pub commands: Vec<Polled>,
}

fn press_view(p: CommandPressed) -> CommandPressView {
    CommandPressView {
        kind: "press",
        press_id: p.press_id,
        command_id: p.command_id,
        action: p.action,
        from: p.from,
        pressed_at: p.pressed_at,
    }
}

/// A request as its executor sees it: the sealed input opened (`None`
/// when its content has expired, long after the command).
pub(crate) async fn request_view(state: &AppState, r: &CommandRequested) -> Result<Option<ExecutorCommand>, ApiError> {
    let input: CommandInput = match state.rt.payloads.open(derive::purpose::COMMAND_INPUT, &r.input).await {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ApiError::internal(&e))?,
        Err(PayloadError::Shredded) => return Ok(None),
        Err(e) => return Err(ApiError::unavailable("the payload key store", &e)),
    };
    Ok(Some(ExecutorCommand::new(r, input)))
}

#[utoipa::path(get, path = "/api/v1/commands/poll", tag = "commands", security(("api_key" = [])),
    params(("project_id" = String, Query), ("integration_id" = String, Query), ("executor_key" = String, Query),
           ("wait_seconds" = Option<u64>, Query, minimum = 0, maximum = 30, description = "wait up to this long (at most 30) for a request when there is none")),
    responses((status = 200, body = CommandPollView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn poll(state: AppState, creds: Credentials, query: BTreeMap<String, String>) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let project_id = query::required(&query, "project_id")?;
    let integration_id = query::required(&query, "integration_id")?;
    let executor_key = query::required(&query, "executor_key")?;
    let wait = query::wait(&query)?;
    find_for_project(&state, &caller, &project_id, &integration_id).await?;
    let requests = state
        .pending_commands
        .poll(&project_id, &integration_id, &executor_key, wait)
        .await
        .ok_or_else(|| ApiError::unavailable("the command requests", &"still reading the log"))?;
    let mut commands = Vec::with_capacity(requests.len());
    for pending in requests {
        match pending {
            Pending::Request(request) => commands.extend(request_view(&state, &request).await?.map(Polled::Command)),
            Pending::Press(press) => commands.push(Polled::Press(press_view(press))),
        }
    }
    Ok(json(StatusCode::OK, &CommandPollView { commands }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckCommands {
    #[schema(schema_with = crate::fields::project_id)]
    pub project_id: String,
    pub integration_id: String,
    #[schema(schema_with = crate::fields::executor_key)]
    pub executor_key: String,
    /// 1 to 100 requests to take (`cmd_…`), or presses (`cpr_…`).
    #[schema(schema_with = crate::fields::command_ids)]
    pub command_ids: Vec<String>,
    /// Sent at once as a reply to each user's command ("⏳ running…"), as plain text.
    #[schema(schema_with = crate::fields::optional_message_text)]
    pub ack_text: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct AckedCommandsView {
    /// Taken by this ack: answer them with `POST /commands/{command_id}/reply`
    /// (presses: they leave the poll).
    pub acked: Vec<String>,
    /// Taken before (by another executor), answered, or expired.
    pub taken: Vec<String>,
}

/// A command of the caller's project, loaded (404 naming `field`
/// otherwise); by its id, or by the id of a press under its replies.
async fn load_visible(
    state: &AppState,
    caller: &crate::auth::Caller,
    id: &str,
    field: &str,
) -> Result<(Loaded<Command>, CommandRequested), ApiError> {
    let not_found = || ApiError::not_found("command").with_field(field);
    let command_id = match ids::command_of_press(id) {
        Some(command_id) => command_id,
        None if ids::is_valid(ids::COMMAND, id) => id.to_string(),
        None => return Err(not_found()),
    };
    let command_id = command_id.as_str();
    let loaded = state.rt.log.load::<Command>(command_id).await?;
    let request = loaded.state.request.clone().filter(|r| caller.sees(Some(&r.project_id))).ok_or_else(not_found)?;
    Ok((loaded, request))
}

/// Decides `action` on the command as loaded and appends, fenced on it; a
/// lost race loads the newer state and decides again.
async fn decide_and_append(
    state: &AppState,
    meta: &EventMeta,
    mut loaded: Loaded<Command>,
    action: impl Fn() -> CommandAction,
) -> Result<Result<CommandDecision, CommandRefusal>, ApiError> {
    let command_id = loaded.state.request.as_ref().map(|r| r.command_id.clone()).unwrap_or_default();
    for _ in 0..RACES {
        let decision = match decide(&loaded.state, action()) {
            Ok(decision) => decision,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let expect = Expect::LastSequence(loaded.version);
        let appended = match &decision {
            CommandDecision::Acked(e) => state.rt.log.append(&Envelope::new(e.clone(), meta.clone()), expect).await,
            CommandDecision::Replied(e) => state.rt.log.append(&Envelope::new(e.clone(), meta.clone()), expect).await,
            CommandDecision::PressesAcked(e) => {
                state.rt.log.append(&Envelope::new(e.clone(), meta.clone()), expect).await
            }
            // Presses are decided by connect.
            CommandDecision::Pressed(_) => return Err(ApiError::internal(&"a press decided here")),
            CommandDecision::Expired(_) | CommandDecision::Nothing => return Ok(Ok(decision)),
        };
        match appended {
            Ok(_) => {
                match &decision {
                    CommandDecision::PressesAcked(e) => {
                        e.press_ids.iter().for_each(|id| state.pending_commands.taken(id))
                    }
                    _ => state.pending_commands.taken(&command_id),
                }
                return Ok(Ok(decision));
            }
            Err(AppendError::Conflict) => loaded = state.rt.log.load::<Command>(&command_id).await?,
            Err(e) => return Err(ApiError::unavailable("the event log", &e)),
        }
    }
    Err(ApiError::new(StatusCode::CONFLICT, "changed_meanwhile", "the command kept changing; try again"))
}

/// The user's command message, which the ack and the replies answer.
fn answering(request: &CommandRequested) -> Answering<'_> {
    Answering {
        chat: &request.chat,
        message_id: request.message_id,
        project_id: &request.project_id,
        integration_id: &request.integration_id,
        bot_key: &request.bot_key,
        recipient_id: &request.recipient_id,
    }
}

#[utoipa::path(post, path = "/api/v1/commands/ack", tag = "commands", request_body = AckCommands, security(("api_key" = [])),
    responses((status = 200, body = AckedCommandsView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn ack(state: AppState, creds: Credentials, bytes: bytes::Bytes) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: AckCommands = body::parse(&bytes)?;
    fields::EXECUTOR_KEY.check("executor_key", &req.executor_key)?;
    if req.command_ids.is_empty() || req.command_ids.len() > 100 {
        return Err(ApiError::invalid("command_ids", "must name 1 to 100 commands"));
    }
    if let Some(text) = &req.ack_text {
        fields::MESSAGE_TEXT.check("ack_text", text)?;
    }
    find_for_project(&state, &caller, &req.project_id, &req.integration_id).await?;
    let mut found = Vec::with_capacity(req.command_ids.len());
    for (i, command_id) in req.command_ids.iter().enumerate() {
        let field = format!("command_ids[{i}]");
        let (loaded, request) = load_visible(&state, &caller, command_id, &field).await?;
        let ours = (request.project_id.as_str(), request.integration_id.as_str(), request.executor_key.as_str())
            == (req.project_id.as_str(), req.integration_id.as_str(), req.executor_key.as_str());
        if !ours {
            return Err(ApiError::not_found("command").with_field(field));
        }
        found.push((loaded, request));
    }
    let meta = creds.meta();
    let (mut acked, mut taken) = (Vec::new(), Vec::new());
    for ((loaded, request), id) in found.into_iter().zip(&req.command_ids) {
        if ids::command_of_press(id).is_some() {
            let action = || CommandAction::AckPresses { press_ids: vec![id.clone()] };
            match decide_and_append(&state, &meta, loaded, action).await? {
                Ok(CommandDecision::PressesAcked(_)) => acked.push(id.clone()),
                _ => taken.push(id.clone()),
            }
            continue;
        }
        let send_id = req.ack_text.as_ref().map(|_| {
            derive::send_id(&state.rt.keyring, &request.project_id, &format!("command-ack\0{}", request.command_id))
        });
        let action = || CommandAction::Ack { send_id: send_id.clone() };
        match decide_and_append(&state, &meta, loaded, action).await? {
            Ok(_) => {
                if let (Some(text), Some(send_id)) = (&req.ack_text, send_id) {
                    let reply =
                        answering(&request).reply(&state, send_id, "command_ack", text.clone(), None, Vec::new())?;
                    accept_reply(&state, meta.clone(), reply).await?;
                }
                acked.push(request.command_id);
            }
            Err(_) => taken.push(request.command_id),
        }
    }
    tracing::info!(acked = acked.len(), taken = taken.len(), "commands acked");
    Ok(json(StatusCode::OK, &AckedCommandsView { acked, taken }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandReply {
    /// 1 to 4,096 characters.
    #[schema(schema_with = crate::fields::message_text)]
    pub text: String,
    /// `HTML` to send `text` as Telegram HTML; absent: plain text.
    #[schema(schema_with = crate::fields::optional_parse_mode)]
    pub parse_mode: Option<String>,
    /// Default true: the command is answered and ends. A reply that is not
    /// final leaves it open for more.
    #[serde(rename = "final")]
    pub is_final: Option<bool>,
    /// A retry with the same key sends nothing again.
    #[schema(schema_with = crate::fields::optional_idempotency_key)]
    pub idempotency_key: Option<String>,
    /// At most 12 buttons under the reply (3 a row); a press comes to this
    /// command's executor's poll as `{kind: "press", action}`.
    #[schema(max_items = 12)]
    pub buttons: Option<Vec<ReplyButton>>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyButton {
    /// `[a-z0-9_-]`, at most 24 characters, unique within the reply.
    #[schema(schema_with = crate::fields::button_id)]
    pub id: String,
    #[schema(schema_with = crate::fields::label)]
    pub label: String,
}

/// The buttons checked, as keyboard rows whose callback data names the command and the action.
fn keyboard(command_id: &str, buttons: &[ReplyButton]) -> Result<Vec<Vec<MessageButton>>, ApiError> {
    if buttons.len() > MAX_BUTTONS {
        return Err(ApiError::invalid("buttons", format!("must have at most {MAX_BUTTONS} entries")));
    }
    for (i, b) in buttons.iter().enumerate() {
        fields::BUTTON_ID.check(&format!("buttons[{i}].id"), &b.id)?;
        fields::LABEL.check(&format!("buttons[{i}].label"), &b.label)?;
        if buttons[..i].iter().any(|o| o.id == b.id) {
            return Err(ApiError::invalid(&format!("buttons[{i}].id"), "is used by another button"));
        }
    }
    let button = |b: &ReplyButton| MessageButton { label: b.label.clone(), data: button_data(command_id, &b.id) };
    Ok(buttons.chunks(PER_ROW).map(|row| row.iter().map(button).collect()).collect())
}

#[derive(Serialize, ToSchema)]
pub struct CommandReplyView {
    pub command_id: String,
    pub send_id: String,
    #[serde(rename = "final")]
    pub is_final: bool,
}

fn over() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "command_over", "the command was answered finally, or expired")
}

#[utoipa::path(post, path = "/api/v1/commands/{command_id}/reply", tag = "commands", request_body = CommandReply,
    security(("api_key" = [])),
    params(("command_id" = String, Path, description = "from the poll")),
    responses((status = 202, body = CommandReplyView), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn reply(
    state: AppState,
    creds: Credentials,
    command_id: String,
    bytes: bytes::Bytes,
) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: CommandReply = body::parse(&bytes)?;
    let parse_mode = reply_text(&req.text, req.parse_mode.as_deref())?;
    if let Some(key) = &req.idempotency_key {
        fields::IDEMPOTENCY_KEY.check("idempotency_key", key)?;
    }
    if ids::command_of_press(&command_id).is_some() {
        return Err(ApiError::not_found("command").with_field("command_id"));
    }
    let buttons = req.buttons.as_deref().unwrap_or_default();
    let rows = keyboard(&command_id, buttons)?;
    let actions: Vec<String> = buttons.iter().map(|b| b.id.clone()).collect();
    let (loaded, request) = load_visible(&state, &caller, &command_id, "command_id").await?;
    require_owner_of(&state, &caller, &request.integration_id).await?;
    let key = req.idempotency_key.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let send_id =
        derive::send_id(&state.rt.keyring, &request.project_id, &format!("command-reply\0{command_id}\0{key}"));
    let is_final = req.is_final.unwrap_or(true);
    // Refused before anything is sent when the command is over.
    let action = || CommandAction::Reply { send_id: send_id.clone(), is_final, buttons: actions.clone() };
    match decide(&loaded.state, action()) {
        Ok(_) => {}
        Err(CommandRefusal::Over) => return Err(over()),
        Err(refusal) => return Err(ApiError::internal(&refusal)),
    }
    let reply = answering(&request).reply(&state, send_id.clone(), "command_reply", req.text, parse_mode, rows)?;
    let meta = creds.meta();
    accept_reply(&state, meta.clone(), reply).await?;
    match decide_and_append(&state, &meta, loaded, action).await? {
        Ok(_) => {}
        Err(CommandRefusal::Over) => return Err(over()),
        Err(refusal) => return Err(ApiError::internal(&refusal)),
    }
    tracing::info!(command_id = %command_id, is_final, "command answered");
    Ok(json(StatusCode::ACCEPTED, &CommandReplyView { command_id, send_id, is_final }))
}
