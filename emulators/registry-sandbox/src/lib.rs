//! Strict emulator of the Service Registry API (docs/REGISTRY.md): the API at
//! `/v1` with the registry's validation, errors and verifications, plus a
//! control API at `/registry` through which tests read every entry.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let registry = registry_sandbox::start(registry_sandbox::RegistryConfig::default()).await?;
//! println!("Registry API base: {}", registry.base_url());
//! registry.shutdown().await;
//! # Ok(()) }
//! ```

pub mod config;
pub mod error;
mod http;
pub mod model;
pub mod registry;
pub mod verify;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::RegistryConfig;
pub use error::RegistryError;
pub use model::{is_valid_service_id, Entry, ServiceEntry, Verification, VerificationStatus};
pub use registry::Registry;

/// How long shutdown waits for open requests before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// A registry-sandbox serving HTTP.
pub struct RunningRegistry {
    /// The address actually bound.
    pub addr: SocketAddr,
    registry: Arc<Registry>,
    stop: Option<oneshot::Sender<()>>,
    server: JoinHandle<()>,
}

impl RunningRegistry {
    /// The API base, e.g. `http://127.0.0.1:8083`: the registry's API is at
    /// `{base_url}/v1` and the control API at `{base_url}/registry`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The emulated registry, for in-process setup and inspection.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
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

impl Drop for RunningRegistry {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            self.server.abort();
        }
    }
}

/// Starts an empty registry and serves it until shutdown.
pub async fn start(config: RegistryConfig) -> anyhow::Result<RunningRegistry> {
    let auth = config.api_key.is_some();
    let registry = Arc::new(Registry::new(config.api_key)?);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (addr, server) =
        warp::serve(http::routes(registry.clone())).try_bind_with_graceful_shutdown(config.listen, async move {
            let _ = stop_rx.await;
        })?;
    let server = tokio::spawn(server);
    tracing::info!(%addr, auth, "registry sandbox listening");
    Ok(RunningRegistry { addr, registry, stop: Some(stop_tx), server })
}
