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

use emulator_kit::Served;

pub use config::RegistryConfig;
pub use error::RegistryError;
pub use model::{is_valid_service_id, Entry, ServiceEntry, Verification, VerificationStatus};
pub use registry::Registry;

/// A registry-sandbox serving HTTP.
pub struct RunningRegistry {
    /// The address actually bound.
    pub addr: SocketAddr,
    served: Served,
    registry: Arc<Registry>,
}

impl RunningRegistry {
    /// The API base, e.g. `http://127.0.0.1:8083`: the registry's API is at
    /// `{base_url}/v1` and the control API at `{base_url}/registry`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The emulated registry, for in-process setup and inspection.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        self.served.shutdown().await;
    }
}

/// Starts an empty registry and serves it until shutdown.
pub async fn start(config: RegistryConfig) -> anyhow::Result<RunningRegistry> {
    let auth = config.api_key.is_some();
    let registry = Arc::new(Registry::new(config.api_key)?);
    let served = emulator_kit::serve(http::routes(registry.clone()), config.listen)?;
    let addr = served.addr;
    tracing::info!(%addr, auth, "registry sandbox listening");
    Ok(RunningRegistry { addr, served, registry })
}
