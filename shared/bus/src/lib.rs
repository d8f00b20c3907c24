//! The services' only way to talk: NATS JetStream.
//!
//! - [`topology`]: the streams and consumers of `nats/`, applied idempotently.
//! - [`log`]: appending events to the log with optimistic-concurrency fences, and
//!   reading an aggregate's events back.
//! - [`alone`]: work one process at a time does, under a lease.
//! - [`auth`]: the NATS users and what each may publish and subscribe.
//! - [`follow`]: following the log from a position, across failures.
//! - [`cache`]: aggregates kept in memory, followed on the log.
//! - [`consume`]: the loop that feeds a durable consumer's messages to a handler
//!   and turns its outcome into the right acknowledgement.

pub mod alone;
pub mod auth;
pub mod cache;
pub mod consume;
pub mod follow;
pub mod log;
pub mod startup;
pub mod topology;

pub use consume::{decode_event, run_consumer, run_event_consumer, undecodable, Delivered, Handled};
pub use log::{publish_acked, traced, AppendError, Appended, EventLog, Expect, ReadError, TRACEPARENT_HEADER};

/// The servers of a `NATS_URL`: one URL, or a cluster's seeds separated by
/// commas (`nats://a:4222,nats://b:4222`), the usual convention.
pub fn servers(nats_url: &str) -> Result<Vec<async_nats::ServerAddr>, String> {
    nats_url
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<async_nats::ServerAddr>().map_err(|e| format!("`{s}` is not a NATS URL: {e}")))
        .collect::<Result<Vec<_>, _>>()
        .and_then(|servers| if servers.is_empty() { Err("no NATS server given".into()) } else { Ok(servers) })
}

/// Where a process connects and as whom.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// One URL or a cluster's seeds (see [`servers`]).
    pub url: String,
    /// User and password, when the server requires them ([`auth`]).
    pub credentials: Option<(String, String)>,
    /// The CA of the servers' certificates: set, the connection must use TLS.
    pub tls_ca_file: Option<std::path::PathBuf>,
    /// Fail at once when no server answers (a command), instead of trying
    /// on in the background (a service).
    pub fail_fast: bool,
}

impl Target {
    /// A server that asks for no credentials.
    pub fn anonymous(url: impl Into<String>) -> Target {
        Target { url: url.into(), ..Target::default() }
    }

    pub fn as_user(mut self, user: &str, password: &str) -> Target {
        self.credentials = Some((user.to_string(), password.to_string()));
        self
    }
}

/// Connects to NATS (any of the seeds; the client learns the rest of the
/// cluster from them) with a client name that shows up in server monitoring.
/// A user's replies come to its own inbox prefix, the only one it may read.
pub async fn connect(target: &Target, name: &str) -> Result<async_nats::Client, async_nats::ConnectError> {
    let servers = servers(&target.url)
        .map_err(|e| async_nats::ConnectError::with_source(async_nats::ConnectErrorKind::ServerParse, e))?;
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("novij-telegram-{name}"))
        .connection_timeout(std::time::Duration::from_secs(5));
    if !target.fail_fast {
        options = options.retry_on_initial_connect();
    }
    if let Some((user, password)) = &target.credentials {
        options =
            options.user_and_password(user.clone(), password.clone()).custom_inbox_prefix(auth::inbox_prefix(user));
    }
    if let Some(ca) = &target.tls_ca_file {
        options = options.add_root_certificates(ca.clone()).require_tls(true);
    }
    options.connect(servers).await
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_nats_url_is_one_server_or_a_list_of_seeds() {
        assert_eq!(super::servers("nats://127.0.0.1:4222").unwrap().len(), 1);
        let seeds = super::servers("nats://a:4222, nats://b:4223,nats://c:4224").unwrap();
        assert_eq!(seeds.len(), 3);
        assert!(super::servers("nats://a:4222,::not a url").is_err());
        assert!(super::servers(" , ").is_err());
    }
}
