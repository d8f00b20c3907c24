//! Strict emulator of the package site (docs/PACKAGES.md) that the `update`
//! command reads: channel indexes and `.deb` files exactly as the contract
//! says, plus a control API under `/control` through which tests publish
//! packages, read the download log and reset the site.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let site = package_site::start(package_site::PackageSiteConfig::default()).await?;
//! println!("package site at {}", site.base_url());
//! site.shutdown().await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod error;
mod http;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;

use emulator_kit::Served;

pub use config::PackageSiteConfig;
pub use error::SiteError;
pub use novij_package_site_client::{ChannelIndex, Release};
pub use store::{Download, Publication, Store, MAX_PACKAGE_BYTES, PACKAGE};

/// A package site serving HTTP. Dropping it stops the server; the temporary
/// directory, if the site made one, goes when the last request using it ends.
pub struct PackageSite {
    /// The address actually bound.
    pub addr: SocketAddr,
    served: Served,
    store: Arc<Store>,
}

impl PackageSite {
    /// The site's base, e.g. `http://127.0.0.1:8095`, without a trailing `/`:
    /// indexes are at `{base_url}/channels/…` and the control API at `{base_url}/control`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The emulated site, for in-process setup and inspection.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

/// Starts an empty site and serves it until shutdown.
pub async fn start(config: PackageSiteConfig) -> anyhow::Result<PackageSite> {
    let auth = config.control_key.is_some();
    let store = Arc::new(Store::open(config.dir)?);
    let served = emulator_kit::serve(http::routes(store.clone(), config.control_key), config.listen)?;
    let addr = served.addr;
    tracing::info!(%addr, auth, "package site listening");
    Ok(PackageSite { addr, served, store })
}
