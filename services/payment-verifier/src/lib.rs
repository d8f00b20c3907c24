//! The payment-verifier service: every accepted send passes here on its way to
//! the dispatcher (or, for a reminder, to the scheduler). Free sends are
//! cleared at once; paid sends (DSR) are verified against the Relay ledger and
//! their transaction claimed on the log before they are cleared. An unpaid
//! send never reaches the dispatcher. Paid alert cards are cleared the same
//! way before their first message.

mod checks;
mod consumers;
mod ledger;

use std::time::Duration;

use anyhow::Context as _;
use novij_relay_client::RelayClient;
use novij_runtime::Runtime;
use tokio::sync::watch;

/// How long one ledger lookup may take.
const RELAY_TIMEOUT: Duration = Duration::from_secs(10);

/// The Relay client of this configuration, if paid sends are configured.
pub fn relay_client(config: &novij_config::Config) -> anyhow::Result<Option<RelayClient>> {
    let payments = &config.payments;
    payments
        .relay_api_base_url
        .as_deref()
        .map(|url| RelayClient::new(url, payments.relay_api_key.clone(), RELAY_TIMEOUT))
        .transpose()
        .context("building the Relay API client")
}

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let relay = relay_client(&rt.config)?;
    let verifier = ledger::Verifier::new(rt, relay);
    // Boxed: `serve all` runs every service in one future on the main thread's stack.
    tokio::join!(
        Box::pin(consumers::accepted::run(verifier.clone(), shutdown.clone())),
        Box::pin(consumers::cards::run(verifier.clone(), shutdown.clone())),
        Box::pin(consumers::broadcasts::run(verifier, shutdown))
    );
    Ok(())
}
