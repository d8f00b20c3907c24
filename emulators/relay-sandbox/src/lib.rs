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

use emulator_kit::Served;

pub use config::RelayConfig;
pub use error::LedgerError;
pub use ledger::Relay;
pub use model::{NewWallet, Transaction, TransferRequest, TxStatus, Wallet};
pub use tx_hash::is_valid_tx_hash;

/// A relay-sandbox serving HTTP.
pub struct RunningRelay {
    /// The address actually bound.
    pub addr: SocketAddr,
    served: Served,
    relay: Arc<Relay>,
}

impl RunningRelay {
    /// The API base, e.g. `http://127.0.0.1:8082`: the public API is at
    /// `{base_url}/v1` and the control API at `{base_url}/relay`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The emulated ledger, for in-process setup and inspection.
    pub fn relay(&self) -> &Arc<Relay> {
        &self.relay
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
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
    let served = emulator_kit::serve(http::routes(relay.clone()), config.listen)?;
    let addr = served.addr;
    tracing::info!(%addr, wallets = config.wallets.len(), auth = config.api_key.is_some(), "relay sandbox listening");
    Ok(RunningRelay { addr, served, relay })
}
