//! The data-key store. Data keys live in the JetStream key-value bucket
//! `payload_keys` (replicated like the log, and not a projection: `rebuild`
//! never touches it); erasing a key shreds every copy of what it sealed, the
//! event log's included. Keys of earlier releases stay readable in Postgres'
//! `payload_keys` table, whose schema has a migrator of its own. A rotation
//! re-wraps them all and keeps older master keys wrapped here too.

pub mod migration;
mod names;
mod payloads;
mod rotation;

pub use payloads::{PayloadError, Payloads, BUCKET};
pub use rotation::{with_stored_keys, NotRetirable, Rotated};
