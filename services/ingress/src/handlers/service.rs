//! Health, version, settings: unauthenticated service information.

use std::collections::BTreeMap;
use std::time::Duration;

use novij_config::Config;
use novij_events::integration::PaymentMode;
use novij_events::money::Amount;

use serde::Serialize;
use utoipa::ToSchema;
use warp::http::StatusCode;

use super::json;
use crate::answer::Answer;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: String,
    /// This build's version.
    pub version: String,
    pub checks: HealthChecks,
}

#[derive(Serialize, ToSchema)]
pub struct HealthChecks {
    /// `ok`, `unreachable` or `timed_out`.
    pub nats: String,
    /// `ok`, `unreachable` or `timed_out`.
    pub postgres: String,
}

/// How long each dependency has to answer.
const CHECK_WITHIN: Duration = Duration::from_secs(2);

/// A dependency's state as anyone may see it: the error itself, which can
/// name hosts and users, goes to the log only.
async fn check<E: std::fmt::Display>(
    dependency: &str,
    answer: impl std::future::Future<Output = Result<(), E>>,
) -> String {
    match tokio::time::timeout(CHECK_WITHIN, answer).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(dependency, error = %e, "health check failed");
            "unreachable"
        }
        Err(_) => {
            tracing::warn!(dependency, "health check timed out");
            "timed_out"
        }
    }
    .to_string()
}

/// Checks NATS (JetStream answers) and Postgres (a query runs).
#[utoipa::path(get, path = "/api/v1/health", tag = "service", responses(
    (status = 200, description = "All dependencies reachable", body = Health),
    (status = 503, description = "A dependency is down", body = Health)))]
pub async fn health(state: AppState) -> Result<Answer, ApiError> {
    checked_health(state).await
}

/// The health the Service Registry reads (docs/REGISTRY.md): the same as `/api/v1/health`.
#[utoipa::path(get, path = "/.well-known/novij/service-health", tag = "registry", responses(
    (status = 200, description = "All dependencies reachable", body = Health),
    (status = 503, description = "A dependency is down", body = Health)))]
pub async fn registry_health(state: AppState) -> Result<Answer, ApiError> {
    checked_health(state).await
}

async fn checked_health(state: AppState) -> Result<Answer, ApiError> {
    let events = state.rt.jetstream.get_stream(novij_events::subjects::EVENTS_STREAM);
    let nats = check("nats", async { events.await.map(drop) }).await;
    let postgres = check("postgres", state.rt.db.ping()).await;
    let healthy = nats == "ok" && postgres == "ok";
    let body = Health {
        status: if healthy { "ok" } else { "degraded" }.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        checks: HealthChecks { nats, postgres },
    };
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
    /// The git commit it was built from (`unknown` outside a checkout).
    pub commit: String,
    /// When it was built (UTC).
    pub built_at: String,
    /// The compiler, as `rustc --version` says.
    pub rustc: String,
    pub profile: String,
    pub target_os: String,
    pub target_arch: String,
}

/// This build: what `GET /version` answers and `novij-telegram version` prints.
pub fn this_version() -> Version {
    Version {
        name: "novij-telegram".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        build: BuildInfo {
            commit: env!("NOVIJ_GIT_COMMIT").into(),
            built_at: env!("NOVIJ_BUILT_AT").into(),
            rustc: env!("NOVIJ_RUSTC_VERSION").into(),
            profile: if cfg!(debug_assertions) { "debug" } else { "release" }.into(),
            target_os: std::env::consts::OS.into(),
            target_arch: std::env::consts::ARCH.into(),
        },
    }
}

#[utoipa::path(get, path = "/api/v1/version", tag = "service", responses((status = 200, body = Version)))]
pub async fn version() -> Result<Answer, ApiError> {
    Ok(json(StatusCode::OK, &this_version()))
}

#[derive(Serialize, ToSchema)]
pub struct Settings {
    /// Every template with its variables and their types.
    #[schema(value_type = Vec<Object>)]
    pub templates: Vec<novij_templates::TemplateSpec>,
    pub locales: Vec<String>,
    /// Price per recipient of each template, by payment mode.
    #[schema(value_type = Object)]
    pub prices: BTreeMap<String, BTreeMap<String, Amount>>,
    pub payment_modes: Vec<String>,
    pub payments: PaymentSettings,
    pub limits: LimitSettings,
    pub bot_modes: Vec<String>,
    /// Usernames of the bots this service sends through (the common bot's, when configured).
    pub bot_usernames: Vec<String>,
    pub common_bot_configured: bool,
    pub max_body_bytes: u64,
    pub connect_code_ttl_seconds: u32,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentSettings {
    /// True when `dsr` sends can be verified here.
    pub dsr_enabled: bool,
    pub asset: String,
    pub receiver_wallet_id: Option<String>,
    pub quote_ttl_seconds: u32,
    pub pending_deadline_seconds: u32,
}

#[derive(Serialize, ToSchema)]
pub struct LimitSettings {
    /// Sends and reminders per project per 24 hours (0 = unlimited).
    pub project_daily_sends: u32,
    /// Reminders a project may have waiting (0 = unlimited).
    pub project_pending_reminders: u32,
    pub telegram_per_bot_per_second: u32,
    pub telegram_per_chat_per_second: u32,
    pub telegram_per_group_per_minute: u32,
    /// For integrations with `allow_paid_broadcast`.
    pub telegram_paid_broadcast_per_second: u32,
    pub reminder_past_grace_seconds: u32,
    pub reminder_max_ahead_days: u32,
}

/// What `GET /settings` and `novij-telegram prices` show.
pub fn settings_of(c: &Config, bot_usernames: Vec<String>) -> Settings {
    let prices = novij_templates::names()
        .into_iter()
        .map(|t| {
            let by_mode = [("none", PaymentMode::None), ("dsr", PaymentMode::Dsr)]
                .into_iter()
                .filter_map(|(label, mode)| c.payments.price(t, mode).map(|p| (label.to_string(), p)))
                .collect();
            (t.to_string(), by_mode)
        })
        .collect();
    let p = &c.payments;
    Settings {
        templates: novij_templates::catalogue().to_vec(),
        locales: novij_templates::LOCALES.iter().map(|l| l.as_str().to_string()).collect(),
        prices,
        payment_modes: vec!["none".into(), "dsr".into()],
        payments: PaymentSettings {
            dsr_enabled: p.dsr_enabled(),
            asset: p.asset.clone(),
            receiver_wallet_id: p.service_wallet_id.clone(),
            quote_ttl_seconds: p.quote_ttl_seconds,
            pending_deadline_seconds: p.pending_deadline_seconds,
        },
        limits: LimitSettings {
            project_daily_sends: c.quotas.daily_sends,
            project_pending_reminders: c.quotas.pending_reminders,
            telegram_per_bot_per_second: c.limits.per_bot_per_second,
            telegram_per_chat_per_second: c.limits.per_chat_per_second,
            telegram_per_group_per_minute: c.limits.per_group_per_minute,
            telegram_paid_broadcast_per_second: c.limits.paid_broadcast_per_second,
            reminder_past_grace_seconds: c.retention.reminder_past_grace_seconds,
            reminder_max_ahead_days: c.retention.reminder_max_ahead_days,
        },
        bot_modes: vec!["common".into(), "custom".into()],
        bot_usernames,
        common_bot_configured: c.common_bot_token.is_some(),
        max_body_bytes: c.max_body_bytes,
        connect_code_ttl_seconds: c.connect_code_ttl_seconds,
    }
}

#[utoipa::path(get, path = "/api/v1/settings", tag = "service", responses((status = 200, body = Settings)))]
pub async fn settings(state: AppState) -> Result<Answer, ApiError> {
    let usernames = novij_projections::queries::common_bot_usernames(&state.rt.db).await?;
    Ok(json(StatusCode::OK, &settings_of(&state.rt.config, usernames)))
}

/// Where the registry reads the manifest and the health (routes in `api::rest`).
pub const WELL_KNOWN_SERVICE: &str = "/.well-known/novij/service";
pub const WELL_KNOWN_HEALTH: &str = "/.well-known/novij/service-health";

/// What the Service Registry reads about this service (docs/REGISTRY.md).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceManifest {
    /// Always `telegram-delivery`.
    pub kind: String,
    pub name: String,
    pub version: String,
    pub public_base_url: String,
    pub health_url: String,
    pub openapi_url: String,
    /// The NATS micro service that serves the API (`$SRV.INFO.<name>`).
    pub nats_service: String,
    /// Where paid sends pay; `null` when paid sends are off.
    pub wallet_id: Option<String>,
    pub templates: Vec<String>,
    pub prices: Vec<ManifestPrice>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ManifestPrice {
    pub template: String,
    /// `dsr`: the only mode with a price.
    pub payment_mode: String,
    #[schema(value_type = String)]
    pub amount: Amount,
    pub asset: String,
}

/// The manifest of a service configured as `c`.
pub fn manifest_of(c: &Config) -> ServiceManifest {
    let base = c.public_base_url.trim_end_matches('/');
    let prices = novij_templates::names()
        .into_iter()
        .filter_map(|t| {
            let amount = c.payments.price(t, PaymentMode::Dsr)?;
            let asset = c.payments.asset.clone();
            Some(ManifestPrice { template: t.to_string(), payment_mode: "dsr".into(), amount, asset })
        })
        .collect();
    ServiceManifest {
        kind: "telegram-delivery".into(),
        name: "novij-telegram".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        public_base_url: base.to_string(),
        health_url: format!("{base}{WELL_KNOWN_HEALTH}"),
        openapi_url: format!("{base}/openapi.json"),
        nats_service: crate::api::nats::SERVICE.into(),
        wallet_id: c.payments.service_wallet_id.clone(),
        templates: novij_templates::names().into_iter().map(str::to_string).collect(),
        prices,
    }
}

#[utoipa::path(get, path = "/.well-known/novij/service", tag = "registry", responses((status = 200, body = ServiceManifest)))]
pub async fn manifest(state: AppState) -> Result<Answer, ApiError> {
    Ok(json(StatusCode::OK, &manifest_of(&state.rt.config)))
}
