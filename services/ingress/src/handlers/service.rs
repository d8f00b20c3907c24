//! Health, version, settings: unauthenticated service information.

use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::json;
use crate::error::ApiError;
use crate::state::AppState;
use crate::templates::TEMPLATES;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    pub checks: HealthChecks,
}

#[derive(Serialize, ToSchema)]
pub struct HealthChecks {
    pub nats: String,
    pub postgres: String,
}

/// Checks NATS (JetStream answers) and Postgres (a query runs).
#[utoipa::path(get, path = "/api/v1/health", tag = "service", responses(
    (status = 200, description = "All dependencies reachable", body = Health),
    (status = 503, description = "A dependency is down", body = Health)))]
pub async fn health(state: AppState) -> Result<warp::reply::Response, ApiError> {
    let nats = match tokio::time::timeout(
        Duration::from_secs(2),
        state.rt.jetstream.get_stream(novij_events::subjects::EVENTS_STREAM),
    )
    .await
    {
        Ok(Ok(_)) => "ok".to_string(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "error: timed out".to_string(),
    };
    let postgres = match tokio::time::timeout(Duration::from_secs(2), state.rt.db.ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "error: timed out".to_string(),
    };
    let healthy = nats == "ok" && postgres == "ok";
    let body =
        Health { status: if healthy { "ok" } else { "degraded" }.into(), checks: HealthChecks { nats, postgres } };
    Ok(json(if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE }, &body))
}

#[derive(Serialize, ToSchema)]
pub struct Version {
    pub name: String,
    pub version: String,
    pub build: BuildInfo,
}

#[derive(Serialize, ToSchema)]
pub struct BuildInfo {
    pub profile: String,
    pub target_os: String,
    pub target_arch: String,
}

#[utoipa::path(get, path = "/api/v1/version", tag = "service", responses((status = 200, body = Version)))]
pub async fn version() -> Result<warp::reply::Response, ApiError> {
    Ok(json(
        StatusCode::OK,
        &Version {
            name: "novij-telegram".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            build: BuildInfo {
                profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
                target_os: std::env::consts::OS.into(),
                target_arch: std::env::consts::ARCH.into(),
            },
        },
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Settings {
    pub templates: Vec<String>,
    pub payment_modes: Vec<String>,
    pub bot_modes: Vec<String>,
    pub common_bot_configured: bool,
    pub max_body_bytes: u64,
    pub connect_code_ttl_seconds: u32,
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "service", responses((status = 200, body = Settings)))]
pub async fn settings(state: AppState) -> Result<warp::reply::Response, ApiError> {
    let c = &state.rt.config;
    Ok(json(
        StatusCode::OK,
        &Settings {
            templates: TEMPLATES.iter().map(|t| t.to_string()).collect(),
            payment_modes: vec!["none".into()],
            bot_modes: vec!["common".into(), "custom".into()],
            common_bot_configured: c.common_bot_token.is_some(),
            max_body_bytes: c.max_body_bytes,
            connect_code_ttl_seconds: c.connect_code_ttl_seconds,
        },
    ))
}
