//! Configuration: a flat TOML file (optional, `NOVIJ_CONFIG`) overlaid by
//! environment variables of the same names in upper case.
//!
//! [`SETTINGS`] is the one place every setting is declared and documented;
//! `docs/CONFIGURATION.md` mirrors it and a test keeps the two in step.
//! [`Config::load`] reports every missing or invalid setting at once, which is
//! what `novij-telegram config-check` prints.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use novij_crypto::Keyring;
use novij_events::integration::PaymentMode;
use novij_events::money::Amount;

mod inbound;
mod prices;
mod updates;

pub use inbound::InboundWebhooks;
pub use updates::UpdatesMode;

/// One setting: its environment name (the file key is the same in lower case).
pub struct Setting {
    pub env: &'static str,
    pub required: bool,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub doc: &'static str,
    /// A number setting's allowed values, inclusive.
    pub range: Option<(u64, u64)>,
}

const fn setting(
    env: &'static str,
    required: bool,
    default: Option<&'static str>,
    secret: bool,
    doc: &'static str,
) -> Setting {
    Setting { env, required, default, secret, doc, range: None }
}

impl Setting {
    /// A whole number from `min` to `max`.
    const fn within(mut self, min: u64, max: u64) -> Setting {
        self.range = Some((min, max));
        self
    }
}

pub const SETTINGS: &[Setting] = &[
    setting(
        "NATS_URL",
        false,
        Some("nats://127.0.0.1:4222"),
        false,
        "NATS server URL (JetStream enabled, 2.11+), or a cluster's seed URLs separated by commas.",
    ),
    setting(
        "NATS_STREAM_REPLICAS",
        false,
        Some("1"),
        false,
        "Replicas of every stream: 1 on a single node, 3 on a production cluster.",
    ).within(1, 5),
    setting(
        "NATS_USER",
        false,
        None,
        false,
        "This process's NATS user (`novij-telegram nats-auth` makes one per service, `all` for `serve all`, `admin` for the CLI); unset: connect without credentials.",
    ),
    setting("NATS_PASSWORD", false, None, true, "The password of NATS_USER."),
    setting(
        "NATS_TLS_CA_FILE",
        false,
        None,
        false,
        "PEM file of the CA that signed the NATS servers' certificates; set, the connection must use TLS.",
    ),
    setting(
        "METRICS_LISTEN",
        false,
        None,
        false,
        "Where this process serves Prometheus's `GET /metrics` (e.g. 127.0.0.1:9101); the ingress also serves it on HTTP_LISTEN. Unset: only there.",
    ),
    setting(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        false,
        None,
        false,
        "An OpenTelemetry collector's OTLP/HTTP base URL (e.g. http://127.0.0.1:4318): spans go to its `/v1/traces` as JSON, from the service `novij-<service>`. Unset: no traces.",
    ),
    setting("DATABASE_URL", true, None, true, "Postgres URL of the projections database."),
    setting(
        "NOVIJ_MASTER_KEYS",
        true,
        None,
        true,
        "Master keys `kid:base64(32 bytes)[,kid:…]`; the first seals new data, the rest stay readable (rotation).",
    ),
    setting(
        "NOVIJ_LOOKUP_KEY",
        false,
        None,
        true,
        "Key of every keyed hash (derived ids, lookups, webhook secrets), base64 of 32 bytes; never rotated. Unset: derived from the first master key, which must then stay first; pin it (`novij-telegram keys lookup-key` prints it) before a rotation.",
    ),
    setting(
        "TELEGRAM_API_BASE_URL",
        false,
        Some("https://api.telegram.org"),
        false,
        "Bot API base URL (the sandbox in development).",
    ),
    setting(
        "TELEGRAM_COMMON_BOT_TOKEN",
        false,
        None,
        true,
        "Token of the shared common bot; integrations with bot_mode=common need it.",
    ),
    setting(
        "TELEGRAM_UPDATES",
        false,
        Some("webhook"),
        false,
        "How updates come in: `webhook` (every bot's webhook points at ingress), `polling` (every bot is polled with getUpdates, for development without public HTTPS; one poller per bot across all dispatchers) or `polling:<bot_key>,…` (those bots only: `common`, or a custom bot's integration id). Switching a bot deletes or sets its webhook.",
    ),
    setting("PUBLIC_BASE_URL", true, None, false, "Public URL of the ingress, used for Telegram webhooks."),
    setting("HTTP_LISTEN", false, Some("127.0.0.1:8080"), false, "Address the ingress listens on."),
    setting("ADMIN_API_KEY", true, None, true, "Admin API key (Bearer); at least 16 characters."),
    setting(
        "API_RATE_PER_SECOND",
        false,
        Some("50"),
        false,
        "Requests per second each project API key may make, per ingress instance (0: no limit); the admin key is not limited.",
    )
    .within(0, 100_000),
    setting("API_RATE_BURST", false, Some("100"), false, "Requests a project API key may make at once above its rate.")
        .within(1, 100_000),
    setting(
        "PROJECT_API_KEYS",
        false,
        Some(""),
        true,
        "Per-project API keys `project_id:key[,…]`; a key only acts for its project.",
    ),
    setting(
        "FREE_PROJECTS",
        false,
        Some("*"),
        false,
        "Projects whose own keys may create integrations with payment_mode `none` (free sends), comma-separated; `*`: every project; empty: none (only the admin key may). Paid (`dsr`) integrations are open to every project.",
    ),
    setting(
        "REQUIRE_SIGNATURES",
        false,
        Some("false"),
        false,
        "`true`: every state-changing request made with a project key must carry an Ed25519 signature by the wallet that owns what it acts on (README, \"Signed requests\"); the wallet's public key comes from the Relay API (RELAY_API_BASE_URL is then required). The admin key needs none.",
    ),
    setting(
        "TELEGRAM_LIMIT_PER_BOT_PER_SECOND",
        false,
        Some("30"),
        false,
        "Messages per second one bot may send overall.",
    ).within(1, 1000),
    setting("TELEGRAM_LIMIT_PER_CHAT_PER_SECOND", false, Some("1"), false, "Messages per second to one private chat.").within(1, 100),
    setting(
        "TELEGRAM_LIMIT_PER_GROUP_PER_MINUTE",
        false,
        Some("20"),
        false,
        "Messages per minute to one group, supergroup or channel.",
    ).within(1, 6000),
    setting(
        "TELEGRAM_LIMIT_PAID_BROADCAST_PER_SECOND",
        false,
        Some("1000"),
        false,
        "Messages per second of a bot whose integration allows paid broadcast (calls beyond the free limit carry `allow_paid_broadcast`).",
    ).within(1, 100_000),
    setting(
        "DISPATCH_MAX_ATTEMPTS",
        false,
        Some("10"),
        false,
        "Attempts while Telegram is unavailable (5xx, timeouts) before a send is dead-lettered.",
    ).within(1, 100),
    setting(
        "DISPATCH_RETRY_BASE_MS",
        false,
        Some("1000"),
        false,
        "First retry delay; it doubles per attempt, with full jitter.",
    ).within(10, 600_000),
    setting("DISPATCH_RETRY_MAX_MS", false, Some("300000"), false, "Longest retry delay.").within(10, 3_600_000),
    setting("WEBHOOK_MAX_CONNECTIONS", false, Some("100"), false, "max_connections given to setWebhook.").within(1, 100),
    setting(
        "WEBHOOK_CHECK_SECONDS",
        false,
        Some("300"),
        false,
        "How often the scheduler checks every bot's webhook and re-syncs one that drifted (another URL, updates piling up behind an error); 0: never.",
    ).within(0, 86_400),
    setting("CONNECT_CODE_TTL_SECONDS", false, Some("900"), false, "Lifetime of connect codes.").within(1, 604_800),
    setting(
        "COMMANDS_PER_USER_PER_MINUTE",
        false,
        Some("10"),
        false,
        "How many /commands of a project one Telegram user may run per minute; beyond, one short refusal.",
    )
    .within(1, 1000),
    setting(
        "INBOUND_WEBHOOK_ALLOW",
        false,
        Some(""),
        false,
        "CIDR ranges (comma-separated) an `inbound_webhook_url` may resolve into although they are private, loopback or link-local; addresses in them may also be plain http. For development and tests; empty in production.",
    ),
    setting(
        "INBOUND_WEBHOOK_RETRIES",
        false,
        Some("5s,5m,30m,2h,5h,10h"),
        false,
        "Waits between the calls of an inbound message to a receiver that fails (the first call is at once); after the last, it is dead-lettered.",
    ),
    setting(
        "INBOUND_WEBHOOK_TIMEOUT_SECONDS",
        false,
        Some("15"),
        false,
        "How long a receiver has to answer one call.",
    )
    .within(1, 20),
    setting(
        "INBOUND_SECRET_OVERLAP_SECONDS",
        false,
        Some("86400"),
        false,
        "After a rotation of an integration's inbound secret, how long messages carry a signature with the previous one too.",
    )
    .within(0, 2_592_000),
    setting("MAX_BODY_BYTES", false, Some("65536"), false, "Largest accepted request body.").within(1024, 52_428_800),
    setting(
        "BROADCAST_MAX_BODY_BYTES",
        false,
        Some("1048576"),
        false,
        "Largest body of `POST /broadcasts` (its recipients) and of `POST /payments/quote` (which may list them). Over NATS, the server's max_payload (1 MiB by default) also applies.",
    )
    .within(65_536, 8_388_608),
    setting(
        "UPLOAD_MAX_BYTES",
        false,
        Some("52428800"),
        false,
        "Largest file `POST /uploads` takes (streamed; Telegram takes photos up to 10 MB and other files up to 50 MB).",
    )
    .within(1024, 52_428_800),
    setting(
        "UPLOAD_UNUSED_SECONDS",
        false,
        Some("86400"),
        false,
        "How long an upload no send has used yet is kept; one in use is kept until its sends have ended.",
    )
    .within(60, 2_592_000),
    setting("LOG_FORMAT", false, Some("json"), false, "`json` or `pretty`."),
    setting(
        "SERVICE_WALLET_ID",
        false,
        None,
        false,
        "The service's wallet on the Relay ledger, which paid (DSR) sends must pay; unset disables DSR.",
    ),
    setting(
        "RELAY_API_BASE_URL",
        false,
        None,
        false,
        "Relay ledger API base URL (the relay sandbox in development); unset disables DSR.",
    ),
    setting("RELAY_API_KEY", false, None, true, "Bearer key for the Relay API, when it requires one."),
    setting("PAYMENT_ASSET", false, Some("NVJ"), false, "The ledger asset prices are in."),
    setting(
        "SERVICE_REGISTRY_URL",
        false,
        None,
        false,
        "The Service Registry API's base URL, for the `service-registry:*` commands. See docs/REGISTRY.md.",
    ),
    setting("SERVICE_REGISTRY_API_KEY", false, None, true, "Bearer key for the Service Registry, when it requires one."),
    setting(
        "SERVICE_REGISTRY_ID",
        false,
        None,
        false,
        "This service's id in the registry (a DNS name); unset: the host of PUBLIC_BASE_URL.",
    ),
    setting(
        "PACKAGE_SITE_URL",
        false,
        Some("https://packages.novij.tech/services/telegram"),
        false,
        "The package site `update` reads (docs/PACKAGES.md); `update` also finds it in /etc/novij-telegram/env.",
    ),
    setting(
        "PACKAGE_CHANNEL",
        false,
        Some("latest"),
        false,
        "The release channel `update` follows unless --channel names one.",
    ),
    setting(
        "PRICES",
        false,
        Some("text_message=1,nrsv_reminder=1,server_alert_basic=0.5,test_message=0"),
        false,
        "Price per recipient of each template in payment mode `dsr`, `template=amount[,…]`; every template needs one \
         (0 = free). Mode `none` is always free.",
    ),
    setting("QUOTE_TTL_SECONDS", false, Some("900"), false, "How long a quote's payment_code stays valid.").within(60, 86_400),
    setting(
        "PAYMENT_PENDING_DEADLINE_SECONDS",
        false,
        Some("600"),
        false,
        "How long after acceptance a pending (or not yet visible) transaction is re-checked before \
         `tx_pending_timeout`/`tx_not_found` (1–86400).",
    ).within(1, 86_400),
    setting(
        "PAYMENT_RECHECK_BASE_MS",
        false,
        Some("500"),
        false,
        "First re-check delay of a pending transaction; it doubles up to 30 s (50–60000).",
    ).within(50, 60_000),
    setting(
        "PROJECT_DAILY_SEND_QUOTA",
        false,
        Some("100000"),
        false,
        "Sends and reminders one project may create per 24 hours; 0 = unlimited.",
    ).within(0, 100_000_000),
    setting(
        "PROJECT_PENDING_REMINDERS_QUOTA",
        false,
        Some("10000"),
        false,
        "Reminders one project may have waiting at once; 0 = unlimited.",
    ).within(0, 100_000_000),
    setting(
        "REMINDER_PAST_GRACE_SECONDS",
        false,
        Some("60"),
        false,
        "A reminder's send_at may lie this far in the past (it then fires at once); older is rejected (0–3600).",
    ).within(0, 3600),
    setting("REMINDER_MAX_AHEAD_DAYS", false, Some("366"), false, "How far ahead a reminder may be set.").within(1, 3660),
    setting(
        "PAYLOAD_RETENTION_SECONDS",
        false,
        Some("604800"),
        false,
        "How long a message payload stays readable after it was due; cleanup then deletes its key (1–31536000).",
    ).within(1, 31_536_000),
    setting(
        "PAYLOAD_KEY_EPOCH_SECONDS",
        false,
        Some("3600"),
        false,
        "Payloads expiring within one epoch share a data key, deleted when the epoch ends: the shredding granularity (1–3600).",
    ).within(1, 3600),
    setting(
        "AUDIT_RETENTION_DAYS",
        false,
        Some("90"),
        false,
        "How long finished sends and their history stay in the projections (1–3650).",
    ).within(1, 3650),
    setting(
        "CLEANUP_CRON",
        false,
        Some("0 */10 * * * *"),
        false,
        "When the scheduler runs cleanup (cron with seconds: `sec min hour day month weekday`).",
    ),
];

/// Every problem found, each naming its setting.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.iter().map(|p| format!("{}: {}", p.setting, p.problem)).collect::<Vec<_>>().join("; "))]
pub struct ConfigErrors {
    pub problems: Vec<ConfigProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub setting: String,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Telegram's limits per bot token, as the dispatcher keeps them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelegramLimits {
    pub per_bot_per_second: u32,
    pub per_chat_per_second: u32,
    pub per_group_per_minute: u32,
    /// All calls of a bot with paid broadcast, free and paid together.
    pub paid_broadcast_per_second: u32,
}

/// Retries while Telegram is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_ms: u64,
    pub max_ms: u64,
}

/// Paid sends (DSR): where to verify, what to charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payments {
    /// `None` when DSR is not configured (no service wallet or no Relay URL).
    pub service_wallet_id: Option<String>,
    pub relay_api_base_url: Option<String>,
    pub relay_api_key: Option<String>,
    pub asset: String,
    /// Price per recipient in mode `dsr`, for every template.
    pub prices: BTreeMap<String, Amount>,
    pub quote_ttl_seconds: u32,
    pub pending_deadline_seconds: u32,
    pub recheck_base_ms: u64,
}

impl Payments {
    /// True when paid sends can be verified.
    pub fn dsr_enabled(&self) -> bool {
        self.service_wallet_id.is_some() && self.relay_api_base_url.is_some()
    }

    /// What one recipient of `template` costs in `mode` (`None`: unknown template).
    pub fn price(&self, template: &str, mode: PaymentMode) -> Option<Amount> {
        match mode {
            PaymentMode::None => novij_templates::find(template).map(|_| Amount::ZERO),
            PaymentMode::Dsr => self.prices.get(template).copied(),
        }
    }
}

/// Per-project limits; 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Quotas {
    pub daily_sends: u32,
    pub pending_reminders: u32,
}

/// Reminders' time window and what cleanup removes when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub reminder_past_grace_seconds: u32,
    pub reminder_max_ahead_days: u32,
    pub payload_seconds: u32,
    pub payload_key_epoch_seconds: u32,
    pub audit_days: u32,
    pub cleanup_cron: String,
}

#[derive(Clone)]
pub struct Config {
    pub nats_url: String,
    pub nats_stream_replicas: usize,
    /// `NATS_USER` and its password, when the server requires them.
    pub nats_credentials: Option<(String, String)>,
    pub nats_tls_ca_file: Option<String>,
    pub database_url: String,
    pub master_keys: String,
    pub lookup_key: Option<String>,
    pub telegram_api_base_url: String,
    pub common_bot_token: Option<String>,
    pub telegram_updates: UpdatesMode,
    pub public_base_url: String,
    pub http_listen: SocketAddr,
    pub metrics_listen: Option<SocketAddr>,
    /// Where spans go (OTLP/HTTP), if anywhere.
    pub otlp_endpoint: Option<String>,
    pub admin_api_key: String,
    pub project_api_keys: BTreeMap<String, String>,
    /// `None`: every project may choose free sends; else these projects only.
    pub free_projects: Option<std::collections::BTreeSet<String>>,
    /// Project keys' state-changing requests must be signed by the owning wallet.
    pub require_signatures: bool,
    pub api_rate: ApiRate,
    pub limits: TelegramLimits,
    pub retry: RetryPolicy,
    pub webhook_max_connections: u32,
    pub webhook_check_seconds: u32,
    pub connect_code_ttl_seconds: u32,
    pub commands_per_user_per_minute: u32,
    pub inbound_webhooks: InboundWebhooks,
    pub max_body_bytes: u64,
    pub broadcast_max_body_bytes: u64,
    pub upload_max_bytes: u64,
    pub upload_unused_seconds: u32,
    pub log_format: LogFormat,
    pub payments: Payments,
    pub registry: Registry,
    pub quotas: Quotas,
    pub retention: Retention,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("nats_url", &self.nats_url)
            .field("telegram_api_base_url", &self.telegram_api_base_url)
            .field("public_base_url", &self.public_base_url)
            .field("http_listen", &self.http_listen)
            .finish_non_exhaustive()
    }
}

struct Reader<'a> {
    values: BTreeMap<&'static str, String>,
    problems: &'a mut Vec<ConfigProblem>,
}

impl Reader<'_> {
    fn raw(&mut self, env: &'static str) -> Option<String> {
        self.values.get(env).cloned()
    }

    fn problem(&mut self, env: &str, problem: impl Into<String>) {
        self.problems.push(ConfigProblem { setting: env.to_string(), problem: problem.into() });
    }

    fn string(&mut self, env: &'static str) -> String {
        self.raw(env).unwrap_or_default()
    }

    fn parsed<T: std::str::FromStr>(&mut self, env: &'static str, what: &str, ok: impl Fn(&T) -> bool) -> Option<T> {
        let raw = self.raw(env)?;
        match raw.parse::<T>() {
            Ok(v) if ok(&v) => Some(v),
            _ => {
                self.problem(env, format!("`{}` is not {what}", redact(env, &raw)));
                None
            }
        }
    }

    /// A number within the setting's declared range, or a problem naming the
    /// range. The value returned with a problem is never used: the
    /// configuration is rejected.
    fn number<T: TryFrom<u64> + Default>(&mut self, env: &'static str) -> T {
        let Some((min, max)) = SETTINGS.iter().find(|s| s.env == env).and_then(|s| s.range) else {
            self.problem(env, "has no range declared in SETTINGS");
            return T::default();
        };
        let what = format!("a number from {min} to {max}");
        let value = self.parsed::<u64>(env, &what, |v| (min..=max).contains(v)).unwrap_or(min);
        T::try_from(value).unwrap_or_default()
    }

    /// One NATS URL or several, comma-separated (a cluster's seeds).
    fn nats_urls(&mut self, env: &'static str) -> String {
        let raw = self.string(env);
        let schemes = ["nats://", "tls://", "ws://", "wss://"];
        let seeds: Vec<&str> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        if let Some(bad) = seeds.iter().find(|s| !schemes.iter().any(|p| s.starts_with(p))) {
            self.problem(env, format!("`{bad}` is not a nats:// (or tls://, ws://, wss://) URL"));
        } else if seeds.is_empty() {
            self.problem(env, "names no server");
        }
        raw
    }

    fn url(&mut self, env: &'static str) -> String {
        let raw = self.string(env);
        if !(raw.is_empty() || raw.starts_with("http://") || raw.starts_with("https://")) {
            self.problem(env, format!("`{raw}` is not an http(s) URL"));
        }
        raw.trim_end_matches('/').to_string()
    }
}

fn redact(env: &str, raw: &str) -> String {
    match SETTINGS.iter().find(|s| s.env == env) {
        Some(s) if s.secret => "<redacted>".to_string(),
        _ => raw.to_string(),
    }
}

impl Config {
    /// Loads from the process environment and the file named by `NOVIJ_CONFIG`.
    pub fn from_env() -> Result<Config, ConfigErrors> {
        let file = std::env::var("NOVIJ_CONFIG").ok();
        Self::load(file.as_deref().map(Path::new), |k| std::env::var(k).ok())
    }

    /// Loads from an optional file, with `env` taking precedence.
    pub fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        let mut problems = Vec::new();
        let file_values = match file {
            Some(path) => read_file(path, &mut problems),
            None => BTreeMap::new(),
        };
        let mut values = BTreeMap::new();
        for s in SETTINGS {
            let from_file = if s.secret { secret_file(s.env, &env, &mut problems) } else { None };
            let value = env(s.env)
                .filter(|v| !v.is_empty())
                .or(from_file)
                .or_else(|| file_values.get(&s.env.to_ascii_lowercase()).cloned())
                .or_else(|| s.default.map(str::to_string));
            match value {
                // The example file's placeholders must not run a deployment.
                Some(v) if s.secret && v.contains("CHANGE_ME") => problems.push(ConfigProblem {
                    setting: s.env.to_string(),
                    problem: "still holds the example's CHANGE_ME placeholder; generate a real value".into(),
                }),
                Some(v) => {
                    values.insert(s.env, v);
                }
                None if s.required => problems
                    .push(ConfigProblem { setting: s.env.to_string(), problem: "is required but not set".into() }),
                None => {}
            }
        }
        let mut r = Reader { values, problems: &mut problems };

        let master_keys = r.string("NOVIJ_MASTER_KEYS");
        if !master_keys.is_empty() {
            if let Err(e) = Keyring::parse(&master_keys) {
                r.problem("NOVIJ_MASTER_KEYS", e.to_string());
            }
        }
        let lookup_key = r.raw("NOVIJ_LOOKUP_KEY");
        if let (Some(key), Ok(ring)) = (&lookup_key, Keyring::parse(&master_keys)) {
            if let Err(e) = ring.with_lookup_key(key) {
                r.problem("NOVIJ_LOOKUP_KEY", format!("{e}: expected base64 of 32 bytes"));
            }
        }
        let common_bot_token = r.raw("TELEGRAM_COMMON_BOT_TOKEN");
        if let Some(token) = &common_bot_token {
            if !looks_like_bot_token(token) {
                r.problem("TELEGRAM_COMMON_BOT_TOKEN", "is not a bot token (`<digits>:<secret>`)");
            }
        }
        let admin_api_key = r.string("ADMIN_API_KEY");
        if !admin_api_key.is_empty() && admin_api_key.len() < 16 {
            r.problem("ADMIN_API_KEY", "must be at least 16 characters");
        }
        let project_api_keys = parse_project_keys(&r.string("PROJECT_API_KEYS"), &mut r);
        let api_rate = ApiRate { per_second: r.number("API_RATE_PER_SECOND"), burst: r.number("API_RATE_BURST") };
        let nats_credentials = match (r.raw("NATS_USER"), r.raw("NATS_PASSWORD")) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            (Some(_), None) => {
                r.problem("NATS_PASSWORD", "is required with NATS_USER");
                None
            }
            (None, Some(_)) => {
                r.problem("NATS_USER", "is required with NATS_PASSWORD");
                None
            }
        };
        let config = Config {
            nats_url: r.nats_urls("NATS_URL"),
            nats_stream_replicas: r.number("NATS_STREAM_REPLICAS"),
            nats_credentials,
            nats_tls_ca_file: r.raw("NATS_TLS_CA_FILE"),
            database_url: r.string("DATABASE_URL"),
            master_keys,
            lookup_key,
            telegram_api_base_url: r.url("TELEGRAM_API_BASE_URL"),
            common_bot_token,
            telegram_updates: updates::read(&mut r),
            public_base_url: r.url("PUBLIC_BASE_URL"),
            http_listen: r
                .parsed("HTTP_LISTEN", "a socket address like 127.0.0.1:8080", |_| true)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
            metrics_listen: r.parsed("METRICS_LISTEN", "a socket address like 127.0.0.1:9101", |_| true),
            otlp_endpoint: Some(r.url("OTEL_EXPORTER_OTLP_ENDPOINT")).filter(|u| !u.is_empty()),
            admin_api_key,
            project_api_keys,
            free_projects: free_projects(&r.string("FREE_PROJECTS")),
            require_signatures: r.parsed("REQUIRE_SIGNATURES", "true or false", |_: &bool| true).unwrap_or(false),
            api_rate,
            limits: TelegramLimits {
                per_bot_per_second: r.number("TELEGRAM_LIMIT_PER_BOT_PER_SECOND"),
                per_chat_per_second: r.number("TELEGRAM_LIMIT_PER_CHAT_PER_SECOND"),
                per_group_per_minute: r.number("TELEGRAM_LIMIT_PER_GROUP_PER_MINUTE"),
                paid_broadcast_per_second: r.number("TELEGRAM_LIMIT_PAID_BROADCAST_PER_SECOND"),
            },
            retry: RetryPolicy {
                max_attempts: r.number("DISPATCH_MAX_ATTEMPTS"),
                base_ms: r.number("DISPATCH_RETRY_BASE_MS"),
                max_ms: r.number("DISPATCH_RETRY_MAX_MS"),
            },
            webhook_max_connections: r.number("WEBHOOK_MAX_CONNECTIONS"),
            webhook_check_seconds: r.number("WEBHOOK_CHECK_SECONDS"),
            connect_code_ttl_seconds: r.number("CONNECT_CODE_TTL_SECONDS"),
            commands_per_user_per_minute: r.number("COMMANDS_PER_USER_PER_MINUTE"),
            inbound_webhooks: inbound::read(&mut r),
            max_body_bytes: r.number("MAX_BODY_BYTES"),
            broadcast_max_body_bytes: r.number("BROADCAST_MAX_BODY_BYTES"),
            upload_max_bytes: r.number("UPLOAD_MAX_BYTES"),
            upload_unused_seconds: r.number("UPLOAD_UNUSED_SECONDS"),
            log_format: match r.string("LOG_FORMAT").as_str() {
                "json" => LogFormat::Json,
                "pretty" => LogFormat::Pretty,
                other => {
                    r.problem("LOG_FORMAT", format!("`{other}` is neither `json` nor `pretty`"));
                    LogFormat::Json
                }
            },
            payments: Payments {
                service_wallet_id: r.raw("SERVICE_WALLET_ID"),
                relay_api_base_url: Some(r.url("RELAY_API_BASE_URL")).filter(|u| !u.is_empty()),
                relay_api_key: r.raw("RELAY_API_KEY"),
                asset: r.string("PAYMENT_ASSET"),
                prices: prices::parse(&r.string("PRICES"), &mut r),
                quote_ttl_seconds: r.number("QUOTE_TTL_SECONDS"),
                pending_deadline_seconds: r.number("PAYMENT_PENDING_DEADLINE_SECONDS"),
                recheck_base_ms: r.number("PAYMENT_RECHECK_BASE_MS"),
            },
            registry: Registry {
                url: Some(r.url("SERVICE_REGISTRY_URL")).filter(|u| !u.is_empty()),
                api_key: r.raw("SERVICE_REGISTRY_API_KEY"),
                service_id: r.raw("SERVICE_REGISTRY_ID").unwrap_or_else(|| host_of(&r.string("PUBLIC_BASE_URL"))),
            },
            quotas: Quotas {
                daily_sends: r.number("PROJECT_DAILY_SEND_QUOTA"),
                pending_reminders: r.number("PROJECT_PENDING_REMINDERS_QUOTA"),
            },
            retention: Retention {
                reminder_past_grace_seconds: r.number("REMINDER_PAST_GRACE_SECONDS"),
                reminder_max_ahead_days: r.number("REMINDER_MAX_AHEAD_DAYS"),
                payload_seconds: r.number("PAYLOAD_RETENTION_SECONDS"),
                payload_key_epoch_seconds: r.number("PAYLOAD_KEY_EPOCH_SECONDS"),
                audit_days: r.number("AUDIT_RETENTION_DAYS"),
                cleanup_cron: r.string("CLEANUP_CRON"),
            },
        };
        if config.require_signatures && config.payments.relay_api_base_url.is_none() {
            problems.push(ConfigProblem {
                setting: "RELAY_API_BASE_URL".into(),
                problem: "is required with REQUIRE_SIGNATURES=true: wallets' public keys come from the Relay API"
                    .into(),
            });
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors { problems })
        }
    }

    /// The key ring built from `NOVIJ_MASTER_KEYS` and `NOVIJ_LOOKUP_KEY` (validated by `load`).
    pub fn keyring(&self) -> Result<Keyring, novij_crypto::KeyringError> {
        let ring = Keyring::parse(&self.master_keys)?;
        match &self.lookup_key {
            Some(key) => ring.with_lookup_key(key),
            None => Ok(ring),
        }
    }
}

/// A secret's value from the file `<NAME>_FILE` names, as container
/// platforms hand secrets out; a trailing line break is not part of it.
fn secret_file(name: &str, env: &impl Fn(&str) -> Option<String>, problems: &mut Vec<ConfigProblem>) -> Option<String> {
    let setting = format!("{name}_FILE");
    let path = env(&setting).filter(|p| !p.is_empty())?;
    let problem = |problem: String| ConfigProblem { setting: setting.clone(), problem };
    if env(name).is_some_and(|v| !v.is_empty()) {
        problems.push(problem(format!("set either {name} or {name}_FILE, not both")));
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text.trim_end_matches(['\r', '\n']).to_string()),
        Err(e) => {
            problems.push(problem(format!("cannot read {path}: {e}")));
            None
        }
    }
}

/// Where this service is listed (docs/REGISTRY.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub url: Option<String>,
    pub api_key: Option<String>,
    /// Our entry's id: `SERVICE_REGISTRY_ID`, or the host of `PUBLIC_BASE_URL`.
    pub service_id: String,
}

/// The host of an http(s) URL (`https://a.example:8443/x` → `a.example`).
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    host.rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .to_string()
}

/// How fast each project API key may call the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiRate {
    /// 0: no limit.
    pub per_second: u32,
    pub burst: u32,
}

/// `<digits>:<at least 20 url-safe characters>`, the shape of every Bot API token.
pub fn looks_like_bot_token(token: &str) -> bool {
    token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && secret.len() >= 20
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

/// `*` (every project), or the projects named.
fn free_projects(raw: &str) -> Option<std::collections::BTreeSet<String>> {
    let named: std::collections::BTreeSet<String> =
        raw.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect();
    (!named.contains("*")).then_some(named)
}

fn parse_project_keys(raw: &str, r: &mut Reader<'_>) -> BTreeMap<String, String> {
    let mut keys = BTreeMap::new();
    for (i, entry) in raw.split(',').map(str::trim).filter(|e| !e.is_empty()).enumerate() {
        match entry.split_once(':') {
            Some((project, key)) if !project.is_empty() && key.len() >= 16 => {
                keys.insert(key.to_string(), project.to_string());
            }
            _ => r.problem(
                "PROJECT_API_KEYS",
                format!("entry {} is not `project_id:key` with a key of at least 16 characters", i + 1),
            ),
        }
    }
    keys
}

fn read_file(path: &Path, problems: &mut Vec<ConfigProblem>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            problems.push(ConfigProblem {
                setting: "NOVIJ_CONFIG".into(),
                problem: format!("cannot read {}: {e}", path.display()),
            });
            return out;
        }
    };
    match text.parse::<toml::Table>() {
        Ok(table) => {
            for (key, value) in table {
                if !SETTINGS.iter().any(|s| s.env.eq_ignore_ascii_case(&key)) {
                    problems.push(ConfigProblem {
                        setting: key.clone(),
                        problem: format!("unknown setting in {}", path.display()),
                    });
                    continue;
                }
                let value = match value {
                    toml::Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key.to_ascii_lowercase(), value);
            }
        }
        Err(e) => problems.push(ConfigProblem {
            setting: "NOVIJ_CONFIG".into(),
            problem: format!("{} is not valid TOML: {}", path.display(), e.message()),
        }),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_id_is_the_public_host_unless_set() {
        assert_eq!(host_of("https://telegram.example.com"), "telegram.example.com");
        assert_eq!(host_of("http://user:pw@127.0.0.1:8080/base?x#y"), "127.0.0.1");
        assert_eq!(host_of("https://[::1]:8443"), "[::1]");
    }
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    fn minimal() -> Vec<(&'static str, String)> {
        vec![
            ("DATABASE_URL", "postgres://x@127.0.0.1/db".to_string()),
            ("NOVIJ_MASTER_KEYS", Keyring::generate_spec("k1").unwrap()),
            ("PUBLIC_BASE_URL", "https://tg.example.com/".to_string()),
            ("ADMIN_API_KEY", "0123456789abcdef0123".to_string()),
        ]
    }

    #[test]
    fn secrets_may_come_from_files() {
        let dir = std::env::temp_dir().join(format!("novij-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key_file = dir.join("admin_api_key");
        std::fs::write(&key_file, "from-a-file-0123456789\n").unwrap();
        let mut pairs: Vec<(&str, String)> = minimal().into_iter().filter(|(k, _)| *k != "ADMIN_API_KEY").collect();
        pairs.push(("ADMIN_API_KEY_FILE", key_file.display().to_string()));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(Config::load(None, env(&refs)).unwrap().admin_api_key, "from-a-file-0123456789");

        let both: Vec<(&str, &str)> = refs.iter().copied().chain([("ADMIN_API_KEY", "0123456789abcdef0123")]).collect();
        let errors = Config::load(None, env(&both)).unwrap_err();
        assert!(errors.problems.iter().any(|p| p.setting == "ADMIN_API_KEY_FILE" && p.problem.contains("not both")));
        let missing: Vec<(&str, &str)> = refs
            .iter()
            .map(|(k, v)| if *k == "ADMIN_API_KEY_FILE" { (*k, "/nonexistent/key") } else { (*k, *v) })
            .collect();
        let errors = Config::load(None, env(&missing)).unwrap_err();
        assert!(errors.problems.iter().any(|p| p.setting == "ADMIN_API_KEY_FILE" && p.problem.contains("cannot read")));
        // Only secrets: a public setting is never read from a file.
        let public: Vec<(&str, &str)> = refs.iter().copied().chain([("HTTP_LISTEN_FILE", "/nonexistent")]).collect();
        assert!(Config::load(None, env(&public)).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_examples_placeholders_are_refused() {
        let mut pairs = minimal();
        pairs.push(("ADMIN_API_KEY", "CHANGE_ME_AT_LEAST_16_CHARS".into()));
        pairs.push(("DATABASE_URL", "postgres://novij:CHANGE_ME@127.0.0.1:5432/novij".into()));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let errors = Config::load(None, env(&refs)).unwrap_err();
        let named: Vec<&str> = errors.problems.iter().map(|p| p.setting.as_str()).collect();
        assert_eq!(named, ["DATABASE_URL", "ADMIN_API_KEY"], "{:?}", errors.problems);
        assert!(errors.problems.iter().all(|p| p.problem.contains("CHANGE_ME")));
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let pairs = minimal();
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let c = Config::load(None, env(&refs)).unwrap();
        assert_eq!(c.telegram_api_base_url, "https://api.telegram.org");
        assert_eq!(c.public_base_url, "https://tg.example.com");
        assert_eq!(c.webhook_max_connections, 100);
        assert_eq!(c.log_format, LogFormat::Json);
        assert!(c.common_bot_token.is_none());
    }

    #[test]
    fn every_missing_and_invalid_setting_is_named() {
        let errs = Config::load(
            None,
            env(&[("WEBHOOK_MAX_CONNECTIONS", "500"), ("TELEGRAM_COMMON_BOT_TOKEN", "nope"), ("HTTP_LISTEN", "here")]),
        )
        .unwrap_err();
        let named: Vec<&str> = errs.problems.iter().map(|p| p.setting.as_str()).collect();
        for s in [
            "DATABASE_URL",
            "NOVIJ_MASTER_KEYS",
            "PUBLIC_BASE_URL",
            "ADMIN_API_KEY",
            "WEBHOOK_MAX_CONNECTIONS",
            "TELEGRAM_COMMON_BOT_TOKEN",
            "HTTP_LISTEN",
        ] {
            assert!(named.contains(&s), "{s} not named in {named:?}");
        }
        assert!(!errs.to_string().contains("nope"), "a secret value leaked into the error: {errs}");
    }

    #[test]
    fn env_overrides_file_and_unknown_file_keys_are_reported() {
        let dir = std::env::temp_dir().join(format!("novij-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.toml");
        std::fs::write(&path, "nats_url = \"nats://file:4222\"\nhttp_listen = \"0.0.0.0:9000\"\nbogus = 1\n").unwrap();
        let mut pairs = minimal();
        pairs.push(("NATS_URL", "nats://env:4222".to_string()));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let errs = Config::load(Some(&path), env(&refs)).unwrap_err();
        assert_eq!(
            errs.problems,
            vec![ConfigProblem { setting: "bogus".into(), problem: format!("unknown setting in {}", path.display()) }]
        );
        std::fs::write(&path, "nats_url = \"nats://file:4222\"\nhttp_listen = \"0.0.0.0:9000\"\n").unwrap();
        let c = Config::load(Some(&path), env(&refs)).unwrap();
        assert_eq!(c.nats_url, "nats://env:4222");
        assert_eq!(c.http_listen, "0.0.0.0:9000".parse().unwrap());
    }

    #[test]
    fn nats_credentials_come_as_a_pair() {
        let with = |extra: &[(&'static str, &str)]| {
            let mut pairs = minimal();
            pairs.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            Config::load(None, env(&refs))
        };
        let c = with(&[("NATS_USER", "ingress"), ("NATS_PASSWORD", "secret")]).unwrap();
        assert_eq!(c.nats_credentials, Some(("ingress".into(), "secret".into())));
        assert_eq!(with(&[]).unwrap().nats_credentials, None);
        let alone = with(&[("NATS_USER", "ingress")]).unwrap_err();
        assert!(alone.problems.iter().any(|p| p.setting == "NATS_PASSWORD"));
        let alone = with(&[("NATS_PASSWORD", "secret")]).unwrap_err();
        assert!(alone.problems.iter().any(|p| p.setting == "NATS_USER"));
    }

    #[test]
    fn every_setting_is_documented() {
        let doc = include_str!("../../../docs/CONFIGURATION.md");
        for s in SETTINGS {
            let row = doc.lines().find(|l| l.starts_with(&format!("| `{}` |", s.env)));
            let row = row.unwrap_or_else(|| panic!("{} is missing from docs/CONFIGURATION.md", s.env));
            if let Some((min, max)) = s.range {
                assert!(row.contains(&format!("| {min}–{max} |")), "{} documents no range {min}–{max}: {row}", s.env);
            }
        }
    }

    #[test]
    fn prices_cover_every_template_and_are_exact() {
        let mut pairs = minimal();
        pairs.push(("PRICES", "text_message=1.25,nrsv_reminder=2,server_alert_basic=0,test_message=0".into()));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let c = Config::load(None, env(&refs)).unwrap();
        assert_eq!(c.payments.prices["text_message"], "1.25".parse().unwrap());
        assert!(!c.payments.dsr_enabled());

        for (bad, named) in [
            ("text_message=1", "no price for nrsv_reminder"),
            ("text_message=1,nrsv_reminder=1,server_alert_basic=1,test_message=1,fax=2", "unknown template `fax`"),
            ("text_message=-1,nrsv_reminder=1,server_alert_basic=1,test_message=1", "text_message"),
        ] {
            let mut pairs = minimal();
            pairs.push(("PRICES", bad.into()));
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let errs = Config::load(None, env(&refs)).unwrap_err();
            assert!(errs.problems.iter().any(|p| p.setting == "PRICES" && p.problem.contains(named)), "{bad}: {errs}");
        }
    }

    #[test]
    fn bot_token_shape() {
        assert!(looks_like_bot_token("123456:ABCdefGHIjklMNOpqrSTUvwxYZ_-1"));
        assert!(!looks_like_bot_token("123456"));
        assert!(!looks_like_bot_token("abc:ABCdefGHIjklMNOpqrSTUvwxYZ"));
        assert!(!looks_like_bot_token("1:short"));
    }
}
