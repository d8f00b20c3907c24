//! The payment-verifier service: every accepted send passes here on its way to
//! the dispatcher. Sends that need no payment are cleared at once; paid sends
//! (DSR) will be verified against the Relay ledger before they are cleared.

mod consumers;

use novij_runtime::Runtime;
use tokio::sync::watch;

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    consumers::accepted::run(rt, shutdown).await;
    Ok(())
}
