//! The services' only way to talk: NATS JetStream.
//!
//! - [`topology`]: the streams and consumers of `nats/`, applied idempotently.
//! - [`log`]: appending events to the log with optimistic-concurrency fences, and
//!   reading an aggregate's events back.
//! - [`consume`]: the loop that feeds a durable consumer's messages to a handler
//!   and turns its outcome into the right acknowledgement.

pub mod consume;
pub mod log;
pub mod topology;

pub use consume::{decode_event, run_consumer, undecodable, Handled};
pub use log::{publish_acked, AppendError, Appended, EventLog, Expect, ReadError};

/// Connects to NATS with a client name that shows up in server monitoring.
pub async fn connect(url: &str, name: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
    async_nats::ConnectOptions::new()
        .name(format!("novij-telegram-{name}"))
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
}
