//! The `registry-sandbox` binary: runs the registry emulator for a local dev stack.

use std::net::SocketAddr;

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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    emulator_kit::init_logging();
    let args = Args::parse();
    // An empty key (an unset variable in a compose file) means no key, not "the empty key".
    let api_key = args.api_key.filter(|k| !k.is_empty());
    let running = registry_sandbox::start(RegistryConfig { listen: args.listen, api_key }).await?;
    tracing::info!("Registry API at {}/v1, control API at {}/registry", running.base_url(), running.base_url());
    emulator_kit::serve_until_stopped(running.shutdown()).await
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
