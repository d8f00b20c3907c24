//! The scheduler service: fires reminders when due and runs maintenance jobs.
//!
//! This version has no scheduled work yet (reminders and cleanup arrive with
//! the templates-and-payments slice); the process runs, joins the projector,
//! and stops cleanly, so deployments already have their final shape.

use novij_runtime::Runtime;
use tokio::sync::watch;

pub async fn run(_rt: Runtime, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    tracing::info!("scheduler started; no scheduled work in this version");
    let _ = shutdown.wait_for(|s| *s).await;
    Ok(())
}
