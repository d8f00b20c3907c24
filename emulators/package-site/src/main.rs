//! The `package-site` binary: runs the package-site emulator for a local dev stack.

use std::net::SocketAddr;
use std::path::PathBuf;

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    emulator_kit::init_logging();
    let args = Args::parse();
    // An empty key (an unset variable in a compose file) means no key, not "the empty key".
    let control_key = args.control_key.filter(|k| !k.is_empty());
    let running = package_site::start(PackageSiteConfig { listen: args.listen, dir: args.dir, control_key }).await?;
    tracing::info!("package site at {}/, control API at {}/control", running.base_url(), running.base_url());
    emulator_kit::serve_until_stopped(running.shutdown()).await
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
