//! Configuration of a relay-sandbox instance.

use std::net::{Ipv4Addr, SocketAddr};

use novij_events::money::Amount;

/// Everything needed to start a relay-sandbox.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// When set, every `/v1` call must carry `Authorization: Bearer <api_key>`.
    pub api_key: Option<String>,
    /// The ledger's single asset, reported on wallets and transactions.
    pub asset: String,
    /// Wallets that exist from the start, with their balances.
    pub wallets: Vec<(String, Amount)>,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: None,
            asset: "NVJ".to_string(),
            wallets: Vec::new(),
        }
    }
}
