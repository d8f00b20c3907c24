//! Strict emulator of the Relay ledger API (docs/RELAY.md): the public API at
//! `/v1` with the real ledger's validation and errors, plus a control API at
//! `/relay` through which tests create wallets and transfers and inject outages.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let relay = relay_sandbox::start(relay_sandbox::RelayConfig::default()).await?;
//! println!("Relay API base: {}", relay.base_url());
//! relay.shutdown().await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod error;
mod http;
pub mod ledger;
pub mod model;
pub mod tx_hash;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::RelayConfig;
pub use error::LedgerError;
pub use ledger::Relay;
pub use model::{NewWallet, Transaction, TransferRequest, TxStatus, Wallet};
pub use tx_hash::is_valid_tx_hash;

/// How long shutdown waits for open requests before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A relay-sandbox serving HTTP.
pub struct RunningRelay {
    /// The address actually bound.
    pub addr: SocketAddr,
    relay: Arc<Relay>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl RunningRelay {
    /// The API base, e.g. `http://127.0.0.1:8082`: the public API is at
    /// `{base_url}/v1` and the control API at `{base_url}/relay`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The emulated ledger, for in-process setup and inspection.
    pub fn relay(&self) -> &Arc<Relay> {
        &self.relay
    }

    /// Stops serving.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let server = &mut self.server;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut *server).await.is_err() {
            server.abort();
        }
    }
}

impl Drop for RunningRelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            self.server.abort();
        }
    }
}

/// Starts a ledger with the configured wallets and serves it until shutdown.
pub async fn start(config: RelayConfig) -> anyhow::Result<RunningRelay> {
    let relay = Arc::new(Relay::new(&config.asset, config.api_key.clone()));
    for (wallet_id, balance) in &config.wallets {
        relay
            .create_wallet(wallet_id, *balance)
            .map_err(|e| anyhow::anyhow!("cannot create wallet {wallet_id:?}: {e}"))?;
    }
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (addr, server) =
        warp::serve(http::routes(relay.clone())).try_bind_with_graceful_shutdown(config.listen, async move {
            let _ = stop_rx.await;
        })?;
    let server = tokio::spawn(server);
    tracing::info!(%addr, wallets = config.wallets.len(), auth = config.api_key.is_some(), "relay sandbox listening");
    Ok(RunningRelay { addr, relay, stop: Some(stop_tx), server })
}
