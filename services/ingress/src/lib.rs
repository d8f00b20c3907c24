//! The ingress service: the API (one command layer, served over REST and as
//! the NATS micro service `novij-telegram`), its OpenAPI document, and the
//! Telegram webhook intake. It validates, appends events to the log, and
//! reads projections; it never calls Telegram (the dispatcher does).

mod answer;
pub mod api;
mod api_keys;
pub mod asyncapi;
mod auth;
mod body;
mod command_queue;
mod error;
mod feed;
mod fields;
mod handlers;
mod media;
mod offered;
pub mod openapi;
mod pending_commands;
mod presses;
mod project_webhook;
mod quotas;
mod quote;
mod rate;
mod selection;
pub mod signatures;
mod state;

use std::net::SocketAddr;

use novij_runtime::Runtime;
use tokio::sync::watch;

pub use crate::api::rest::routes;
pub use crate::handlers::service::{
    manifest_of, settings_of, this_version, ServiceManifest, Settings, WELL_KNOWN_HEALTH, WELL_KNOWN_SERVICE,
};
pub use crate::state::AppState;

/// Reads a `POST /send` body as the API does before it looks at any state:
/// `Err((status, field))` as the refusal would carry them. What `fuzz/`
/// drives with arbitrary bytes.
pub fn check_send_body(bytes: &[u8]) -> Result<(), (u16, Option<String>)> {
    handlers::sends::parse_checked(bytes).map(|_| ()).map_err(|e| (e.status.as_u16(), e.detail.field))
}

/// Serves the API over HTTP and NATS, and publishes the project feeds and
/// the executors' command queues, until shutdown.
pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let addr: SocketAddr = rt.config.http_listen;
    let state = AppState::start(rt, &shutdown).await?;
    let mut http_stop = shutdown.clone();
    let (bound, server) = warp::serve(routes(state.clone())).try_bind_with_graceful_shutdown(addr, async move {
        let _ = http_stop.wait_for(|s| *s).await;
    })?;
    tracing::info!(%bound, "ingress listening");
    let nats = api::nats::start(&state).await?;
    let feed = feed::run(state.rt.clone(), shutdown.clone());
    let command_queue = command_queue::run(state.clone(), shutdown.clone());
    tokio::join!(server, nats.serve(state, shutdown), feed, Box::pin(command_queue));
    Ok(())
}
