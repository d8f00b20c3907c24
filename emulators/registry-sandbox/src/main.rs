//! The `registry-sandbox` binary: runs the registry emulator for a local dev stack.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Parser;
use registry_sandbox::RegistryConfig;

/// Strict emulator of the Service Registry API.
#[derive(Debug, Parser)]
#[command(name = "registry-sandbox", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "REGISTRY_SANDBOX_LISTEN", default_value = "127.0.0.1:8083")]
    listen: SocketAddr,

    /// Require this key as `Authorization: Bearer <key>` on every /v1 call.
    #[arg(long, env = "REGISTRY_SANDBOX_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one (containers).
async fn wait_for_stop_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("installing the SIGTERM handler")?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    // An empty key (an unset variable in a compose file) means no key, not "the empty key".
    let api_key = args.api_key.filter(|k| !k.is_empty());
    let running = registry_sandbox::start(RegistryConfig { listen: args.listen, api_key }).await?;
    tracing::info!("Registry API at {}/v1, control API at {}/registry", running.base_url(), running.base_url());
    wait_for_stop_signal().await?;
    tracing::info!("shutting down");
    running.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_flags_are_well_formed() {
        Args::command().debug_assert();
        let args = Args::try_parse_from(["registry-sandbox", "--listen", "0.0.0.0:9000", "--api-key", "k"])
            .expect("flags parse");
        assert_eq!((args.listen, args.api_key.as_deref()), ("0.0.0.0:9000".parse().expect("an address"), Some("k")));
        assert!(Args::try_parse_from(["registry-sandbox", "--listen", "nowhere"]).is_err());
    }
}
