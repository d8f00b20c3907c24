//! Interactive commands: the manifest of `/commands` an integration's bot
//! offers (events of the integration aggregate), pushed to Telegram's menu
//! with `setMyCommands`; and each command a user runs (the command aggregate,
//! `nt.ev.command.<id>.*`), from request to its executor's final reply.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::recipient::ChatKind;
use crate::Event;

crate::labelled_enum! {
    /// Where a command may be run.
    pub enum CommandScope {
        Private = "private",
        Groups = "groups",
        All = "all",
    }
}

impl CommandScope {
    pub fn in_private(self) -> bool {
        matches!(self, CommandScope::Private | CommandScope::All)
    }

    pub fn in_groups(self) -> bool {
        matches!(self, CommandScope::Groups | CommandScope::All)
    }
}

/// One command of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandSpec {
    /// `/name`: 1–32 of `a-z0-9_`.
    pub name: String,
    pub description: String,
    /// Which of the project's executors takes the command's requests.
    pub executor_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_hint: Option<String>,
    pub timeout_seconds: u32,
    pub scope: CommandScope,
    /// The description by language (`ru`, `en`), for Telegram's menu and `/help`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub descriptions: BTreeMap<String, String>,
    /// When not empty, only these `public_user_ref`s may run it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_refs: Vec<String>,
}

impl CommandSpec {
    /// The description in `language` (`ru`, `en`), else the default one.
    pub fn description_in(&self, language: &str) -> &str {
        self.descriptions.get(language).map_or(&self.description, String::as_str)
    }
}

/// The project set its bot's command manifest (`POST
/// /integrations/{id}/commands/manifest`); an empty list clears it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandsSet {
    pub integration_id: String,
    /// 1 for the first manifest, then one more each time.
    pub version: u32,
    pub commands: Vec<CommandSpec>,
}

impl Event for CommandsSet {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "commands_set";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// Telegram's menus show a manifest version (`setMyCommands` per scope and language).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandsPushed {
    pub integration_id: String,
    pub version: u32,
}

impl Event for CommandsPushed {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "commands_pushed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// Telegram refused a manifest version (the bot's token was revoked, or a
/// limit this service does not check).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandsPushFailed {
    pub integration_id: String,
    pub version: u32,
    /// Telegram's description.
    pub detail: String,
}

impl Event for CommandsPushFailed {
    const AGGREGATE: &'static str = "integration";
    const NAME: &'static str = "commands_push_failed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.integration_id
    }
}

/// What a user typed after `/name`, sealed as a whole (purpose
/// `command_input`) in the events: command arguments are personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommandInput {
    /// The raw text after the command (and its `@bot`), trimmed.
    pub args_text: String,
}

/// A user ran one of the manifest's commands: offered to its executor until
/// acked, answered finally, or expired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandRequested {
    /// `cmd_<keyed hash of the bot and update>`.
    pub command_id: String,
    pub integration_id: String,
    pub project_id: String,
    pub bot_key: String,
    /// The command's name, without `/`.
    pub name: String,
    pub executor_key: String,
    /// [`CommandInput`], sealed with the data key of its expiry epoch.
    pub input: Sealed,
    /// The chat it came from, sealed (purpose `chat_id`): replies go there.
    pub chat: Sealed,
    pub chat_kind: ChatKind,
    /// The user's message, which the ack and the replies answer.
    pub message_id: i64,
    /// The sender's `public_user_ref` when they are a connected recipient of
    /// the integration, else an opaque id (`tg_<keyed hash>`).
    pub from: String,
    /// The recipient of the chat it came from.
    pub recipient_id: String,
    /// `ru` or `en`, as the user's Telegram app: for the service's own notices.
    pub locale: String,
    pub requested_at: DateTime<Utc>,
    /// Not answered finally by then, it expires.
    pub expires_at: DateTime<Utc>,
}

impl Event for CommandRequested {
    const AGGREGATE: &'static str = "command";
    const NAME: &'static str = "requested";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.command_id
    }
}

/// An executor took the request (`POST /commands/ack`); no other one gets it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandAcked {
    pub command_id: String,
    /// The ack's reply to the user ("⏳ running…"), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_id: Option<String>,
}

impl Event for CommandAcked {
    const AGGREGATE: &'static str = "command";
    const NAME: &'static str = "acked";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.command_id
    }
}

/// The executor answered (`POST /commands/{id}/reply`): a reply to the
/// user's message; a final one ends the command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandReplied {
    pub command_id: String,
    pub send_id: String,
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The actions of the buttons under the reply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<String>,
}

impl Event for CommandReplied {
    const AGGREGATE: &'static str = "command";
    const NAME: &'static str = "replied";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.command_id
    }
}

/// Someone pressed a button under one of the command's replies; offered to
/// the command's executor until acked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandPressed {
    pub command_id: String,
    /// The command's project, integration and executor: whose poll offers the press.
    pub project_id: String,
    pub integration_id: String,
    pub executor_key: String,
    /// [`crate::ids::command_press_id`], which the executor acks.
    pub press_id: String,
    /// The button's action (its `id` in the reply).
    pub action: String,
    /// The presser's `public_user_ref` when connected to the integration, else an opaque id.
    pub from: String,
    pub pressed_at: DateTime<Utc>,
}

impl Event for CommandPressed {
    const AGGREGATE: &'static str = "command";
    const NAME: &'static str = "pressed";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.command_id
    }
}

/// The executor took these presses (`POST /commands/ack`); they leave its poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandPressesAcked {
    pub command_id: String,
    pub press_ids: Vec<String>,
}

impl Event for CommandPressesAcked {
    const AGGREGATE: &'static str = "command";
    const NAME: &'static str = "presses_acked";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.command_id
    }
}

/// A command request as its executor gets it, from `GET /commands/poll` or
/// from its work-queue subject (`nt.cmd.<project>.<integration>.<executor>`):
/// the arguments opened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutorCommand {
    /// `command`.
    pub kind: String,
    pub command_id: String,
    pub integration_id: String,
    /// Without `/`.
    pub name: String,
    /// What the user typed after the command, as typed.
    pub args_text: String,
    /// `args_text` split like a shell (quotes group; an unbalanced quote keeps the rest).
    pub args: Vec<String>,
    /// The sender's `public_user_ref` when connected to this integration, else an opaque id.
    pub from: String,
    /// `private` or `group`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub chat_kind: ChatKind,
    pub requested_at: DateTime<Utc>,
    /// Not answered finally by then, it expires and the user is told.
    pub expires_at: DateTime<Utc>,
}

impl ExecutorCommand {
    pub fn new(request: &CommandRequested, input: CommandInput) -> Self {
        ExecutorCommand {
            kind: "command".into(),
            command_id: request.command_id.clone(),
            integration_id: request.integration_id.clone(),
            name: request.name.clone(),
            args: split_args(&input.args_text),
            args_text: input.args_text,
            from: request.from.clone(),
            chat_kind: request.chat_kind,
            requested_at: request.requested_at,
            expires_at: request.expires_at,
        }
    }
}

/// The callback data of a button under a command's reply: `<command_id>:<action>`.
pub fn button_data(command_id: &str, action: &str) -> String {
    format!("{command_id}:{action}")
}

/// The command and action a [`button_data`] names.
pub fn parse_button_data(data: &str) -> Option<(&str, &str)> {
    let (command_id, action) = data.split_once(':')?;
    (crate::ids::is_valid(crate::ids::COMMAND, command_id) && !action.is_empty()).then_some((command_id, action))
}

crate::labelled_enum! {
    /// How far a command had come when its time was up.
    pub enum ExpiredStage {
        /// No executor acked it.
        NotAcked = "not_acked",
        /// Acked, but no final reply came.
        NotAnswered = "not_answered",
    }
}

/// The command's time was up before its final reply; the user is told once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CommandExpired {
    pub command_id: String,
    pub stage: ExpiredStage,
    /// The notice to the user.
    pub send_id: String,
}

impl Event for CommandExpired {
    const AGGREGATE: &'static str = "command";
    const NAME: &'static str = "expired";
    const VERSION: u16 = 1;
    fn aggregate_id(&self) -> &str {
        &self.command_id
    }
}

/// `args_text` split like a shell: whitespace separates, single and double
/// quotes group (and are dropped), a backslash outside single quotes takes
/// the next character as it is. An unbalanced quote keeps the rest as one
/// argument.
pub fn split_args(text: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => args.extend(current.take()),
            '\'' | '"' => {
                let word = current.get_or_insert_with(String::new);
                while let Some(inner) = chars.next() {
                    match inner {
                        _ if inner == c => break,
                        '\\' if c == '"' => word.extend(chars.next()),
                        _ => word.push(inner),
                    }
                }
            }
            '\\' => current.get_or_insert_with(String::new).extend(chars.next()),
            c => current.get_or_insert_with(String::new).push(c),
        }
    }
    args.extend(current);
    args
}

#[cfg(test)]
mod tests {
    use super::split_args;

    #[test]
    fn arguments_split_like_a_shell() {
        let cases: &[(&str, &[&str])] = &[
            (r#"web "blue green""#, &["web", "blue green"]),
            ("  a   b  ", &["a", "b"]),
            (r#"'it''s' x"#, &["its", "x"]),
            (r#"say "a \"quoted\" word""#, &["say", r#"a "quoted" word"#]),
            (r"one\ arg", &["one arg"]),
            (r#"--name="x y"z"#, &["--name=x yz"]),
            (r#"deploy "unbalanced rest of it"#, &["deploy", "unbalanced rest of it"]),
            (r#""" x"#, &["", "x"]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(split_args(text), expected.iter().map(|s| s.to_string()).collect::<Vec<_>>(), "{text}");
        }
    }
}
