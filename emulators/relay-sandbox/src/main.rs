//! The `relay-sandbox` binary: runs the ledger emulator for a local dev stack.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use novij_events::money::Amount;
use relay_sandbox::RelayConfig;

/// Strict emulator of the Relay ledger API.
#[derive(Debug, Parser)]
#[command(name = "relay-sandbox", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "RELAY_SANDBOX_LISTEN", default_value = "127.0.0.1:8082")]
    listen: SocketAddr,

    /// Require this key as `Authorization: Bearer <key>` on every /v1 call.
    #[arg(long, env = "RELAY_SANDBOX_API_KEY", hide_env_values = true)]
    api_key: Option<String>,

    /// A wallet that exists from the start, as ID=BALANCE (repeatable; the
    /// environment variable takes a comma-separated list).
    #[arg(long = "wallet", env = "RELAY_SANDBOX_WALLETS", value_delimiter = ',')]
    wallets: Vec<String>,

    /// The ledger's asset.
    #[arg(long, env = "RELAY_SANDBOX_ASSET", default_value = "NVJ")]
    asset: String,
}

fn parse_wallet(spec: &str) -> anyhow::Result<(String, Amount)> {
    let (id, balance) = spec.trim().split_once('=').context("a wallet must be given as ID=BALANCE")?;
    let balance: Amount =
        balance.trim().parse().with_context(|| format!("the balance of wallet {:?} is not an amount", id.trim()))?;
    Ok((id.trim().to_string(), balance))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    emulator_kit::init_logging();
    let args = Args::parse();
    let wallets = args
        .wallets
        .iter()
        .filter(|spec| !spec.trim().is_empty())
        .map(|spec| parse_wallet(spec))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let api_key = args.api_key.filter(|k| !k.is_empty());
    let config = RelayConfig { listen: args.listen, api_key, asset: args.asset, wallets };
    let running = relay_sandbox::start(config).await?;
    tracing::info!("Relay API at {}/v1, control API at {}/relay", running.base_url(), running.base_url());
    emulator_kit::serve_until_stopped(running.shutdown()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallets_are_given_as_id_equals_balance() {
        assert_eq!(parse_wallet(" payer = 12.5 ").unwrap(), ("payer".to_string(), "12.5".parse().unwrap()));
        assert!(parse_wallet("payer").is_err());
        assert!(parse_wallet("payer=-1").is_err());
    }
}
