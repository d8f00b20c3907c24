//! The data-key store, in Postgres beside the projections but not one of
//! them: `payload_keys` holds the only copy of each data key, so `rebuild`
//! never touches it, and deleting a row shreds every copy of what the key
//! sealed, the event log's included. Its schema has a migrator of its own.

pub mod migration;
mod payloads;

pub use payloads::{PayloadError, Payloads};
