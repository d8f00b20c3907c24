//! The command lists a bot set with `setMyCommands`, so tests of the service
//! can check what it pushed for each scope and language.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{find_bot, ControlResult};
use crate::state::{BotCommand, Sandbox};

/// Every stored list: `[{"scope", "language_code", "commands"}]`.
pub fn list(sandbox: &Arc<Sandbox>, username: &str) -> ControlResult {
    let world = sandbox.world();
    let bot = find_bot(&world, username)?;
    let lists = bot
        .commands
        .iter()
        .map(|((scope, language_code), commands)| {
            json!({
                "scope": scope.to_json(),
                "language_code": language_code,
                "commands": commands.iter().map(BotCommand::to_json).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok((200, Value::Array(lists)))
}
