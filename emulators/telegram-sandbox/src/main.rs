//! The `telegram-sandbox` binary: runs the emulator for a local dev stack.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use telegram_sandbox::{BotSeed, Limits, SandboxConfig};

/// Strict emulator of the Telegram Bot API.
#[derive(Debug, Parser)]
#[command(name = "telegram-sandbox", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,

    /// A bot that exists from the start, as TOKEN=USERNAME (repeatable; the
    /// environment variable takes a comma-separated list).
    #[arg(long = "bot", env = "SANDBOX_BOTS", value_delimiter = ',')]
    bots: Vec<String>,

    /// Accept http:// webhook URLs (any port) on loopback hosts.
    #[arg(long, env = "SANDBOX_ALLOW_INSECURE_WEBHOOKS")]
    allow_insecure_webhooks: bool,

    /// Multiply every flood-limit allowance by this factor.
    #[arg(long, env = "SANDBOX_LIMITS_SCALE", default_value_t = 1.0)]
    limits_scale: f64,

    /// Messages per group per minute before 429 (Telegram: 20), before scaling.
    #[arg(long, env = "SANDBOX_GROUP_LIMIT_PER_MINUTE", default_value_t = 20)]
    group_limit_per_minute: u32,

    /// Disable flood limits entirely.
    #[arg(long, env = "SANDBOX_UNLIMITED")]
    unlimited: bool,

    /// First retry delay of failed webhook deliveries, in milliseconds.
    #[arg(long, env = "SANDBOX_WEBHOOK_RETRY_BASE_MS", default_value_t = 200)]
    webhook_retry_base_ms: u64,

    /// How long a callback query may be answered, in milliseconds (Telegram: about 15 s).
    #[arg(long, env = "SANDBOX_CALLBACK_QUERY_TTL_MS", default_value_t = 15_000)]
    callback_query_ttl_ms: u64,
}

fn parse_bot(spec: &str) -> anyhow::Result<BotSeed> {
    let (token, username) =
        spec.trim().split_once('=').with_context(|| "a bot must be given as TOKEN=USERNAME".to_string())?;
    let username = username.trim().trim_start_matches('@').to_string();
    Ok(BotSeed { token: token.trim().to_string(), first_name: username.clone(), username })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    emulator_kit::init_logging();
    let args = Args::parse();
    if !(args.limits_scale.is_finite() && args.limits_scale > 0.0) {
        anyhow::bail!("--limits-scale must be a positive number");
    }
    let bots = args
        .bots
        .iter()
        .filter(|spec| !spec.trim().is_empty())
        .map(|spec| parse_bot(spec))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let limits = if args.unlimited {
        Limits::unlimited()
    } else {
        Limits { scale: args.limits_scale, per_group_per_minute: args.group_limit_per_minute, ..Limits::telegram() }
    };
    let config = SandboxConfig {
        listen: args.listen,
        allow_insecure_webhooks: args.allow_insecure_webhooks,
        limits,
        bots,
        webhook_retry_base: Duration::from_millis(args.webhook_retry_base_ms),
        callback_query_ttl: Duration::from_millis(args.callback_query_ttl_ms),
    };
    let running = telegram_sandbox::start(config).await?;
    tracing::info!(
        "Bot API at {base}/bot<token>/<method>, control API at {base}/sandbox, page at {base}/",
        base = running.base_url()
    );
    emulator_kit::serve_until_stopped(running.shutdown()).await
}
