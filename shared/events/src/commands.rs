//! Interactive commands: the manifest of `/commands` an integration's bot
//! offers (events of the integration aggregate), pushed to Telegram's menu
//! with `setMyCommands`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
