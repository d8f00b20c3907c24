//! Configuration of a registry-sandbox instance.

use std::net::{Ipv4Addr, SocketAddr};

/// Everything needed to start a registry-sandbox.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// When set, every `/v1` call must carry `Authorization: Bearer <api_key>`.
    pub api_key: Option<String>,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), api_key: None }
    }
}
