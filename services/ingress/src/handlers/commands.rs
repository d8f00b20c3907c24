//! `POST|GET /integrations/{id}/commands/manifest`: the `/commands` an
//! integration's own bot offers. A manifest is checked whole before anything
//! is written (a 422 names the entry and the field), versioned on the
//! integration (`integration.commands_set`), and pushed to Telegram's menus
//! by the dispatcher (`setMyCommands` per scope and language).

use std::collections::BTreeMap;

use novij_aggregates::integration::{decide, Integration, IntegrationChange, IntegrationCommand};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::commands::{CommandScope, CommandSpec};
use novij_events::Envelope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::integrations::{changed_meanwhile, load_for_caller, refused};
use super::{json, Credentials};
use crate::answer::Answer;
use crate::body;
use crate::error::ApiError;
use crate::fields;
use crate::state::AppState;

/// How many times a manifest decides again after losing a race for the integration.
const RACES: usize = 5;
/// Telegram's limit on one bot's menu.
const MAX_COMMANDS: usize = 100;
/// The service's own commands: connecting, disconnecting, and the list of the others.
const RESERVED: &[&str] = &["start", "stop", "help"];
const LANGUAGES: &[&str] = &["ru", "en"];

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// At most 100; an empty list clears the bot's commands.
    #[schema(max_items = 100)]
    pub commands: Vec<ManifestCommand>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestCommand {
    /// `/name`: 1–32 of `a-z0-9_`, unique; not `start`, `stop` or `help`.
    #[schema(schema_with = crate::fields::command_name)]
    pub name: String,
    /// 1–256 characters, shown in Telegram's menu and by `/help`.
    #[schema(schema_with = crate::fields::description)]
    pub description: String,
    /// Which of the project's executors polls this command's requests:
    /// 1–64 of `A-Za-z0-9_-`.
    #[schema(schema_with = crate::fields::executor_key)]
    pub executor_key: String,
    /// How the arguments go, for `/help` (at most 128 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::fields::optional_args_hint)]
    pub args_hint: Option<String>,
    /// 5–3600 (default 60): a request not acked, or acked but not finally
    /// answered, within it expires and the user is told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 5, maximum = 3600)]
    pub timeout_seconds: Option<u32>,
    /// `private`, `groups` or `all` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::fields::optional_command_scope)]
    pub scope: Option<CommandScope>,
    /// The description by language (`ru`, `en`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::fields::optional_descriptions)]
    pub descriptions: Option<BTreeMap<String, String>>,
    /// When given, only these connected users may run it; others get a short refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = crate::fields::optional_user_refs)]
    pub allowed_refs: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub struct ManifestView {
    pub integration_id: String,
    /// 0 before the first manifest; one more with each change.
    pub version: u32,
    pub commands: Vec<ManifestCommand>,
    /// Telegram's menus: `pushed` (they show this version), `pending`, or
    /// `failed` (Telegram refused it; see `menu_error`).
    pub menu: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub menu_error: Option<String>,
}

fn command_spec(i: usize, c: ManifestCommand) -> Result<CommandSpec, ApiError> {
    let field = |name: &str| format!("commands[{i}].{name}");
    fields::COMMAND_NAME.check(&field("name"), &c.name)?;
    if RESERVED.contains(&c.name.as_str()) {
        return Err(ApiError::invalid(&field("name"), format!("`/{}` is the service's own command", c.name)));
    }
    fields::DESCRIPTION.check(&field("description"), &c.description)?;
    fields::EXECUTOR_KEY.check(&field("executor_key"), &c.executor_key)?;
    if let Some(hint) = &c.args_hint {
        fields::ARGS_HINT.check(&field("args_hint"), hint)?;
    }
    let timeout_seconds = c.timeout_seconds.unwrap_or(60);
    if !(5..=3600).contains(&timeout_seconds) {
        return Err(ApiError::invalid(&field("timeout_seconds"), "must be from 5 to 3600"));
    }
    let descriptions = c.descriptions.unwrap_or_default();
    for (language, description) in &descriptions {
        if !LANGUAGES.contains(&language.as_str()) {
            return Err(ApiError::invalid(&field("descriptions"), format!("`{language}` is not ru or en")));
        }
        fields::DESCRIPTION.check(&field(&format!("descriptions.{language}")), description)?;
    }
    let allowed_refs = c.allowed_refs.unwrap_or_default();
    for (j, r) in allowed_refs.iter().enumerate() {
        fields::USER_REF.check(&field(&format!("allowed_refs[{j}]")), r)?;
    }
    Ok(CommandSpec {
        name: c.name,
        description: c.description,
        executor_key: c.executor_key,
        args_hint: c.args_hint,
        timeout_seconds,
        scope: c.scope.unwrap_or(CommandScope::All),
        descriptions,
        allowed_refs,
    })
}

fn manifest_command(c: &CommandSpec) -> ManifestCommand {
    ManifestCommand {
        name: c.name.clone(),
        description: c.description.clone(),
        executor_key: c.executor_key.clone(),
        args_hint: c.args_hint.clone(),
        timeout_seconds: Some(c.timeout_seconds),
        scope: Some(c.scope),
        descriptions: (!c.descriptions.is_empty()).then(|| c.descriptions.clone()),
        allowed_refs: (!c.allowed_refs.is_empty()).then(|| c.allowed_refs.clone()),
    }
}

fn view(integration: &Integration) -> ManifestView {
    let commands = &integration.commands;
    let (menu, menu_error) = match &commands.failed {
        _ if commands.pushed >= commands.version => ("pushed", None),
        Some((version, detail)) if *version == commands.version => ("failed", Some(detail.clone())),
        _ => ("pending", None),
    };
    ManifestView {
        integration_id: integration.integration_id.clone(),
        version: commands.version,
        commands: commands.list.iter().map(manifest_command).collect(),
        menu,
        menu_error,
    }
}

#[utoipa::path(post, path = "/api/v1/integrations/{id}/commands/manifest", tag = "commands", request_body = Manifest,
    security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id")),
    responses((status = 200, body = ManifestView, description = "set (or already so)"),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody)))]
pub async fn set_manifest(
    state: AppState,
    creds: Credentials,
    id: String,
    bytes: bytes::Bytes,
) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let req: Manifest = body::parse(&bytes)?;
    if req.commands.len() > MAX_COMMANDS {
        return Err(ApiError::invalid("commands", format!("must have at most {MAX_COMMANDS} entries")));
    }
    let mut commands: Vec<CommandSpec> = Vec::with_capacity(req.commands.len());
    for (i, command) in req.commands.into_iter().enumerate() {
        let spec = command_spec(i, command)?;
        if commands.iter().any(|c| c.name == spec.name) {
            return Err(ApiError::invalid(&format!("commands[{i}].name"), "is used by another command"));
        }
        commands.push(spec);
    }
    // The integration's other events (its webhook set a moment after it
    // was created) are no conflict for a manifest: decide again on them.
    for _ in 0..RACES {
        let Loaded { state: integration, version } = load_for_caller(&state, &caller, &id).await?;
        let change = decide(&integration, IntegrationCommand::SetCommands(commands.clone())).map_err(refused)?;
        let set = match change {
            None => return Ok(json(StatusCode::OK, &view(&integration))),
            Some(IntegrationChange::CommandsSet(set)) => set,
            Some(_) => return Err(ApiError::internal(&"a manifest decided something else")),
        };
        let env = Envelope::new(set, creds.meta());
        match state.rt.log.append(&env, Expect::LastSequence(version)).await {
            Ok(appended) => state.integrations.wait_for(appended.sequence).await,
            Err(AppendError::Conflict) => continue,
            Err(e) => return Err(ApiError::unavailable("the event log", &e)),
        }
        tracing::info!(integration_id = %id, version = env.payload.version, "command manifest set");
        let integration = state.rt.log.load::<Integration>(&id).await?.state;
        return Ok(json(StatusCode::OK, &view(&integration)));
    }
    Err(changed_meanwhile())
}

#[utoipa::path(get, path = "/api/v1/integrations/{id}/commands/manifest", tag = "commands",
    security(("api_key" = [])),
    params(("id" = String, Path, description = "integration id")),
    responses((status = 200, body = ManifestView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn get_manifest(state: AppState, creds: Credentials, id: String) -> Result<Answer, ApiError> {
    let caller = creds.caller(&state)?;
    let Loaded { state: integration, .. } = load_for_caller(&state, &caller, &id).await?;
    if !integration.is_live() {
        return Err(refused(novij_aggregates::integration::IntegrationRefusal::NotFound));
    }
    Ok(json(StatusCode::OK, &view(&integration)))
}
