//! Maintenance: what `novij-telegram cleanup` runs once and the scheduler
//! runs on `CLEANUP_CRON`. Every step is an idempotent delete, so several
//! scheduler instances running it at once do no harm.
//!
//! - expired payloads: the data keys of ended epochs are erased, which shreds
//!   every copy of what they sealed, the event log's included;
//! - expired connect codes that were never redeemed;
//! - audit data: finished sends (and their history) older than the retention.

use chrono::{DateTime, Duration, Utc};
use novij_events::status::{ConnectCodeStatus, SendStatus};
use novij_runtime::{PayloadError, Runtime};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, TransactionTrait};
use serde::Serialize;

/// Sends that reached an end state before `$1` (the labels are constants).
fn finished_before() -> String {
    let finals: Vec<String> =
        SendStatus::ALL.iter().filter(|s| s.is_final()).map(|s| format!("'{}'", s.as_str())).collect();
    format!("status IN ({}) AND updated_at <= $1", finals.join(", "))
}

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error(transparent)]
    Keys(#[from] PayloadError),
    #[error("projection database: {0}")]
    Db(#[from] DbErr),
}

/// What one run removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CleanupReport {
    /// Data keys erased (each sealed every payload of one epoch on one instance).
    pub payload_keys_erased: u64,
    pub connect_codes_removed: u64,
    pub sends_removed: u64,
}

/// Runs every job once; `progress(done, of)` hears of each job finished.
pub async fn run_once(
    rt: &Runtime,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<CleanupReport, CleanupError> {
    run_at(rt, Utc::now(), progress).await
}

/// The jobs [`run_once`] runs, for its progress.
const JOBS: u64 = 3;

async fn run_at(
    rt: &Runtime,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<CleanupReport, CleanupError> {
    let payload_keys_erased = rt.payloads.shred_expired(now).await?;
    progress(1, JOBS);
    let connect_codes_removed = rt
        .db
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM connect_codes WHERE status = $2 AND expires_at <= $1",
            [now.into(), ConnectCodeStatus::Issued.as_str().into()],
        ))
        .await?
        .rows_affected();
    progress(2, JOBS);
    let horizon = now - Duration::days(rt.config.retention.audit_days.into());
    let finished = finished_before();
    let txn = rt.db.begin().await?;
    txn.execute(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("DELETE FROM send_history WHERE send_id IN (SELECT send_id FROM sends WHERE {finished})"),
        [horizon.into()],
    ))
    .await?;
    let sends_removed = txn
        .execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            format!("DELETE FROM sends WHERE {finished}"),
            [horizon.into()],
        ))
        .await?
        .rows_affected();
    txn.commit().await?;
    progress(JOBS, JOBS);
    Ok(CleanupReport { payload_keys_erased, connect_codes_removed, sends_removed })
}
