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
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::PackageSiteConfig;
pub use error::SiteError;
pub use novij_package_site_client::{ChannelIndex, Release};
pub use store::{Download, Publication, Store, MAX_PACKAGE_BYTES, PACKAGE};

/// How long shutdown waits for open requests before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A package site serving HTTP. Dropping it stops the server; the temporary
/// directory, if the site made one, goes when the last request using it ends.
pub struct PackageSite {
    /// The address actually bound.
    pub addr: SocketAddr,
    store: Arc<Store>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl PackageSite {
    /// The site's base, e.g. `http://127.0.0.1:8095`, without a trailing `/`:
    /// indexes are at `{base_url}/channels/…` and the control API at `{base_url}/control`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The emulated site, for in-process setup and inspection.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
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

impl Drop for PackageSite {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            self.server.abort();
        }
    }
}

/// Starts an empty site and serves it until shutdown.
pub async fn start(config: PackageSiteConfig) -> anyhow::Result<PackageSite> {
    let auth = config.control_key.is_some();
    let store = Arc::new(Store::open(config.dir)?);
    let routes = http::routes(store.clone(), config.control_key);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (addr, server) = warp::serve(routes).try_bind_with_graceful_shutdown(config.listen, async move {
        let _ = stop_rx.await;
    })?;
    let server = tokio::spawn(server);
    tracing::info!(%addr, auth, "package site listening");
    Ok(PackageSite { addr, store, stop: Some(stop_tx), server })
}
