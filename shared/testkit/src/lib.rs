//! Test support shared by every novij-telegram integration test.
//!
//! * [`NatsServer`]: a throwaway `nats-server` with JetStream on its own free port and store.
//! * [`NatsCluster`]: several of them routed into one JetStream cluster, to lose a node.
//! * [`TestDatabase`]: a fresh, empty Postgres database that is dropped afterwards.
//! * [`TcpProxy`]: a TCP proxy a test can cut, to take a server (Postgres) away.
//! * [`ServiceProcess`]: a child process whose output is captured line by line.
//! * [`eventually`], [`free_port`], [`workspace_root`], [`target_bin`]: small helpers.

mod database;
mod nats;
mod nats_cluster;
mod paths;
mod process;
pub mod tcp_proxy;
mod util;

pub use database::{TestDatabase, DEFAULT_TEST_DATABASE_URL};
pub use nats::{NatsServer, MIN_NATS_SERVER_VERSION};
pub use nats_cluster::NatsCluster;
pub use paths::{target_bin, workspace_root};
pub use process::ServiceProcess;
pub use tcp_proxy::TcpProxy;
pub use util::{eventually, free_port};
