//! The payment-verifier service: every accepted send passes here on its way to
//! the dispatcher (or, for a reminder, to the scheduler). Free sends are
//! cleared at once; paid sends (DSR) are verified against the Relay ledger and
//! their transaction claimed on the log before they are cleared. An unpaid
//! send never reaches the dispatcher. Paid alert cards are cleared the same
//! way before their first message.

mod checks;
mod consumers;
mod ledger;

use novij_runtime::Runtime;
use tokio::sync::watch;

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let relay = novij_runtime::relay_client(&rt.config)?;
    let verifier = ledger::Verifier::new(rt, relay);
    // Boxed: `serve all` runs every service in one future on the main thread's stack.
    tokio::join!(
        Box::pin(consumers::accepted::run(verifier.clone(), shutdown.clone())),
        Box::pin(consumers::cards::run(verifier.clone(), shutdown.clone())),
        Box::pin(consumers::broadcasts::run(verifier, shutdown))
    );
    Ok(())
}
