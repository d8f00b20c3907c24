//! One module per CLI command.

pub mod api;
pub mod api_keys;
pub mod audit;
pub mod bot_test;
pub mod broadcast;
pub mod cleanup;
pub mod config_check;
pub mod db;
pub mod dlq;
pub mod keys;
pub mod nats_auth;
pub mod payments;
pub mod queues;
pub mod schemas;
pub mod serve;
pub mod version;
pub mod webhook_sync;

/// Loads the configuration or names every problem.
pub fn load_config() -> anyhow::Result<novij_config::Config> {
    novij_config::Config::from_env().map_err(|errors| {
        let lines: Vec<String> = errors.problems.iter().map(|p| format!("  {}: {}", p.setting, p.problem)).collect();
        anyhow::anyhow!("invalid configuration:\n{}", lines.join("\n"))
    })
}
