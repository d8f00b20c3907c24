//! Strict emulator of the Telegram Bot API: a Bot API at `/bot<token>/<method>`
//! with Telegram's validation, errors, flood limits and webhook delivery, plus
//! a control API at `/sandbox` through which tests act as Telegram users, and
//! a web page at `/` that shows every chat and lets a person act as a user.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let sandbox = telegram_sandbox::start(telegram_sandbox::SandboxConfig::default()).await?;
//! println!("Bot API base: {}", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod bot_api;
pub mod config;
pub mod control;
pub mod limits;
pub mod page;
pub mod server;
pub mod state;
pub mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;

use emulator_kit::Served;

pub use config::{BotSeed, Limits, SandboxConfig};
pub use state::Sandbox;

/// A sandbox serving HTTP: the kit's server handle, plus the webhook
/// delivery workers it stops with the server.
pub struct RunningSandbox {
    /// The address actually bound.
    pub addr: SocketAddr,
    sandbox: Arc<Sandbox>,
    /// Taken by `shutdown`, so that `Drop` knows the workers are already stopped.
    served: Option<Served>,
}

impl RunningSandbox {
    /// The Bot API base, e.g. `http://127.0.0.1:8081`; clients call
    /// `{base_url}/bot{token}/{method}` and the control API lives at
    /// `{base_url}/sandbox`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The emulated world, for in-process inspection.
    pub fn sandbox(&self) -> &Arc<Sandbox> {
        &self.sandbox
    }

    /// Stops serving and stops webhook delivery.
    pub async fn shutdown(mut self) {
        // Workers first: stopping also ends long polls, so open requests finish within the grace period.
        self.sandbox.stop_workers();
        if let Some(served) = self.served.take() {
            served.shutdown().await;
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        if let Some(served) = self.served.take() {
            self.sandbox.stop_workers();
            drop(served);
        }
    }
}

/// Starts a sandbox with the configured bots and serves it until shutdown.
pub async fn start(config: SandboxConfig) -> anyhow::Result<RunningSandbox> {
    let sandbox =
        Sandbox::new(config.clone(), |sandbox, bot_id| Box::pin(webhook::run_delivery_worker(sandbox, bot_id)))?;
    for seed in &config.bots {
        sandbox
            .create_bot(Some(seed.token.clone()), &seed.username, &seed.first_name)
            .map_err(|e| anyhow::anyhow!("cannot create bot @{}: {e}", seed.username))?;
    }
    let served = emulator_kit::serve(server::routes(sandbox.clone()), config.listen)?;
    let addr = served.addr;
    tracing::info!(%addr, bots = config.bots.len(), "telegram sandbox listening");
    Ok(RunningSandbox { addr, sandbox, served: Some(served) })
}
