//! The `package-site` binary: runs the package-site emulator for a local dev stack.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use package_site::PackageSiteConfig;

/// Strict emulator of the package site the `update` command reads.
#[derive(Debug, Parser)]
#[command(name = "package-site", version, about)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "PACKAGE_SITE_LISTEN", default_value = "127.0.0.1:8095")]
    listen: SocketAddr,

    /// Keep package files in DIR/pool instead of a temporary directory.
    #[arg(long, env = "PACKAGE_SITE_DIR", value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Require this key as `Authorization: Bearer <key>` on every /control call.
    #[arg(long, env = "PACKAGE_SITE_CONTROL_KEY", hide_env_values = true)]
    control_key: Option<String>,
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
    let control_key = args.control_key.filter(|k| !k.is_empty());
    let running = package_site::start(PackageSiteConfig { listen: args.listen, dir: args.dir, control_key }).await?;
    tracing::info!("package site at {}/, control API at {}/control", running.base_url(), running.base_url());
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
        let args =
            Args::try_parse_from(["package-site", "--listen", "0.0.0.0:9000", "--dir", "site", "--control-key", "k"])
                .expect("flags parse");
        assert_eq!(args.listen, "0.0.0.0:9000".parse().expect("an address"));
        assert_eq!((args.dir, args.control_key.as_deref()), (Some(PathBuf::from("site")), Some("k")));
        assert!(Args::try_parse_from(["package-site", "--listen", "nowhere"]).is_err());
    }
}
