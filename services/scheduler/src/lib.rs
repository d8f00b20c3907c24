//! The scheduler service: fires reminders when due ([`reminders`]), expires
//! commands not answered in time ([`command_deadlines`]), removes uploads no
//! send needs any more ([`uploads`]), withdraws a
//! deleted integration's pending sends ([`withdraw`]), keeps bots' webhooks
//! pointed here ([`webhooks`]) and runs the maintenance jobs on a cron
//! schedule ([`cleanup`]).
//!
//! Every instance fires every reminder: the `send.queued` it appends is fenced
//! on the reminder's `send.scheduled` event, so the first instance wins and the
//! others (and a cancel that came first) make theirs a no-op. Instances can
//! come and go without a reminder being lost or fired twice.

mod broadcasts;
pub mod cleanup;
mod command_deadlines;
mod reminders;
mod uploads;
mod webhooks;
mod withdraw;

use anyhow::Context as _;
use novij_runtime::Runtime;
use tokio::sync::watch;
use tokio_cron_scheduler::{Job, JobScheduler};

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
    let mut cron = JobScheduler::new().await.context("starting the cron scheduler")?;
    let job_rt = rt.clone();
    let job = Job::new_async(rt.config.retention.cleanup_cron.as_str(), move |_, _| {
        let rt = job_rt.clone();
        Box::pin(async move {
            match cleanup::run_once(&rt, &mut |_, _| {}).await {
                Ok(report) => tracing::info!(?report, "cleanup done"),
                Err(e) => tracing::warn!(error = %e, "cleanup failed; it runs again at its next time"),
            }
        })
    })
    .with_context(|| format!("CLEANUP_CRON `{}` is not a cron schedule", rt.config.retention.cleanup_cron))?;
    cron.add(job).await.context("adding the cleanup job")?;
    cron.start().await.context("starting the cron scheduler")?;

    // Boxed: `serve all` runs every service in one future on the main thread's stack.
    tokio::join!(
        Box::pin(reminders::run(rt.clone(), shutdown.clone())),
        Box::pin(command_deadlines::run(rt.clone(), shutdown.clone())),
        Box::pin(broadcasts::run(rt.clone(), shutdown.clone())),
        Box::pin(uploads::run(rt.clone(), shutdown.clone())),
        Box::pin(webhooks::run(rt.clone(), shutdown.clone())),
        Box::pin(withdraw::run(rt, shutdown))
    );
    cron.shutdown().await.context("stopping the cron scheduler")?;
    Ok(())
}
