//! Configuration of a package-site instance.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Everything needed to start a package site.
#[derive(Debug, Clone)]
pub struct PackageSiteConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where package files are kept (under `pool/`). `None`: a temporary
    /// directory owned by the running site and removed with it.
    pub dir: Option<PathBuf>,
    /// When set, every `/control` call must carry `Authorization: Bearer <control_key>`.
    pub control_key: Option<String>,
}

impl Default for PackageSiteConfig {
    fn default() -> Self {
        Self { listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), dir: None, control_key: None }
    }
}
