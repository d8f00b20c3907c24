//! One module per CLI command.

pub mod api;
pub mod api_keys;
pub mod audit;
pub mod backup;
pub mod bot_test;
pub mod broadcast;
pub mod cleanup;
pub mod config_check;
pub mod db;
pub mod dlq;
pub mod keys;
pub mod nats_auth;
pub mod payments;
mod progress;
pub mod queues;
pub mod registry;
pub mod schemas;
pub mod serve;
pub mod setup;
pub mod update;
pub mod version;
pub mod webhook_sync;

/// Something a command needs did not answer: the command exits with 3.
#[derive(Debug, thiserror::Error)]
#[error("{what} is unreachable: {detail}")]
pub struct Unreachable {
    what: &'static str,
    detail: String,
}

impl Unreachable {
    pub fn new(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Unreachable { what, detail: detail.to_string() }
    }
}

/// The exit code of a failed command: 3 when a dependency (NATS, Postgres,
/// the API over NATS) could not be reached, else 1. (Usage errors exit
/// with 2 before any command runs.)
pub fn exit_code(error: &anyhow::Error) -> u8 {
    use sea_orm_migration::sea_orm::DbErr;
    let unreachable = error.chain().any(|cause| {
        cause.is::<Unreachable>()
            || cause.is::<async_nats::ConnectError>()
            || matches!(cause.downcast_ref::<DbErr>(), Some(DbErr::Conn(_) | DbErr::ConnectionAcquire(_)))
    });
    if unreachable {
        3
    } else {
        1
    }
}

/// Loads the configuration or names every problem.
pub fn load_config() -> anyhow::Result<novij_config::Config> {
    novij_config::Config::from_env().map_err(|errors| {
        let lines: Vec<String> = errors.problems.iter().map(|p| format!("  {}: {}", p.setting, p.problem)).collect();
        anyhow::anyhow!("invalid configuration:\n{}", lines.join("\n"))
    })
}

/// The file's text, or `None` when there is no such file.
pub fn read_if_present(path: &std::path::Path) -> anyhow::Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context(format!("reading {}", path.display()))),
    }
}
