//! The read side: Postgres projections of the event log.
//!
//! - [`model`]: the sea-orm entities (one table per projection).
//! - [`migration`]: the schema, applied by `novij-telegram migrate`.
//! - [`projector`]: applies events in log order, a batch per transaction; the
//!   last applied stream sequence is committed in the same transaction as the
//!   rows it changed, so a crash never applies an event twice or skips one.
//! - `send_changes`: a batch's send rows and history, coalesced into a few
//!   statements.
//! - [`rebuild`]: drops every projection row and replays the whole log.
//!
//! Projections answer queries; decisions that need consistency are made on the
//! log (fenced appends), never on these tables.

pub mod migration;
pub mod model;
pub mod projector;
pub mod queries;
pub mod rebuild;
mod send_changes;

pub use projector::{ApplyError, Projector};

/// Connects to Postgres with a pool sized for a service. The pool connects
/// on first use: a service starts while Postgres is away (it decides from
/// the log), and its reads and projections wait for it.
pub async fn connect(url: &str) -> Result<sea_orm::DatabaseConnection, sea_orm::DbErr> {
    let mut opts = sea_orm::ConnectOptions::new(url.to_string());
    opts.max_connections(10)
        .min_connections(1)
        .connect_lazy(true)
        .connect_timeout(std::time::Duration::from_secs(5))
        .acquire_timeout(std::time::Duration::from_secs(5))
        .sqlx_logging(false);
    sea_orm::Database::connect(opts).await
}
