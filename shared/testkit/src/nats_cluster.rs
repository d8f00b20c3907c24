//! A throwaway cluster of nats-servers with JetStream, for tests that lose a node.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use tempfile::TempDir;

use crate::nats::{binary, healthz_ok, http_get, temp_root, Node, START_ATTEMPTS};
use crate::util::free_port;

/// Electing the JetStream meta leader takes a few seconds on top of the starts.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
const CLUSTER_NAME: &str = "novij-test";

/// `n` nats-servers on loopback, routed to each other as one cluster with
/// JetStream: each with its own client, cluster and monitor port and its own
/// store dir. Node `i` is named `n<i>` (the name JetStream reports as a
/// stream's leader or a peer).
///
/// Every node is killed when the value is dropped; the stores are removed with them.
pub struct NatsCluster {
    // Declared before `root` so the processes are killed before their dirs are removed.
    nodes: Vec<Node>,
    cluster_ports: Vec<u16>,
    root: TempDir,
}

impl NatsCluster {
    /// Starts `n` nodes at once and waits until every one of them is healthy
    /// and sees the same JetStream meta leader over all `n` peers.
    pub async fn start(n: usize) -> anyhow::Result<NatsCluster> {
        Self::start_configured(n, None).await
    }

    /// [`NatsCluster::start`] with every node configured by `config` (e.g. an
    /// `authorization` block).
    pub async fn start_with_config(n: usize, config: &str) -> anyhow::Result<NatsCluster> {
        Self::start_configured(n, Some(config)).await
    }

    async fn start_configured(n: usize, config: Option<&str>) -> anyhow::Result<NatsCluster> {
        ensure!(n >= 2, "a cluster needs at least two nodes, not {n}");
        let binary = binary().await?;
        let mut cluster = NatsCluster { nodes: Vec::new(), cluster_ports: Vec::new(), root: temp_root()? };
        let mut attempt = 1;
        loop {
            // Fresh ports and fresh stores: a half-formed cluster's state must not carry over.
            cluster.stop_all().await;
            let dir = cluster.root.path().join(format!("attempt-{attempt}"));
            cluster.nodes = (0..n)
                .map(|i| Node::new(binary.clone(), dir.join(node_name(i)))?.configured(config))
                .collect::<anyhow::Result<_>>()?;
            cluster.cluster_ports = (0..n).map(|_| free_port()).collect();
            match cluster.spawn_and_wait().await {
                Ok(()) => return Ok(cluster),
                Err(err) if attempt < START_ATTEMPTS => {
                    // Most likely a port race with another test.
                    tracing::debug!("nats cluster start attempt {attempt} failed: {err:#}");
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// How many nodes the cluster has (running or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: a cluster has at least two nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node's client URL as a seed list, `nats://127.0.0.1:A,nats://127.0.0.1:B,…`.
    pub fn urls(&self) -> String {
        self.nodes.iter().map(Node::url).collect::<Vec<_>>().join(",")
    }

    /// Node `i`'s client URL.
    pub fn url(&self, i: usize) -> String {
        self.nodes[i].url()
    }

    /// Node `i`'s HTTP monitoring URL.
    pub fn monitor_url(&self, i: usize) -> String {
        self.nodes[i].monitor_url()
    }

    /// Node `i`'s server name, `n<i>`.
    pub fn name(&self, i: usize) -> String {
        node_name(i)
    }

    /// The index of the node named `name` (as JetStream reports leaders).
    pub fn index_of(&self, name: &str) -> Option<usize> {
        (0..self.nodes.len()).find(|i| node_name(*i) == name)
    }

    /// Node `i`'s own log file.
    pub fn log_path(&self, i: usize) -> PathBuf {
        self.nodes[i].log_path()
    }

    /// Whether node `i` runs (was not killed).
    pub fn is_running(&self, i: usize) -> bool {
        self.nodes[i].is_running()
    }

    /// Kills node `i` (SIGKILL) and waits for it to exit. Its store is kept.
    pub async fn kill(&mut self, i: usize) {
        self.nodes[i].stop().await
    }

    /// The JetStream meta leader's name as the first running node that knows
    /// one reports it.
    pub async fn meta_leader(&self) -> Option<String> {
        for node in self.nodes.iter().filter(|n| n.is_running()) {
            if let Some(meta) = meta_cluster(node.monitor_port).await {
                if !meta.leader.is_empty() {
                    return Some(meta.leader);
                }
            }
        }
        None
    }

    /// The last lines of every node's log, for failure messages.
    pub fn log_tails(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, node)| format!("--- {}\n{}", node_name(i), node.log_tail()))
            .collect::<Vec<_>>()
            .join("\n")
    }

    async fn spawn_and_wait(&mut self) -> anyhow::Result<()> {
        let n = self.nodes.len();
        for i in 0..n {
            let routes: Vec<String> =
                (0..n).filter(|j| *j != i).map(|j| format!("nats://127.0.0.1:{}", self.cluster_ports[j])).collect();
            self.nodes[i].args = vec![
                "--server_name".into(),
                node_name(i),
                "--cluster_name".into(),
                CLUSTER_NAME.into(),
                "--cluster".into(),
                format!("nats://127.0.0.1:{}", self.cluster_ports[i]),
                "--routes".into(),
                routes.join(","),
            ];
            self.nodes[i].spawn()?;
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            for node in &mut self.nodes {
                node.check_alive()?;
            }
            if self.ready().await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("nats cluster not ready within {READY_TIMEOUT:?}; logs:\n{}", self.log_tails());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every node is healthy (in contact with the meta leader) and reports
    /// the same leader over all the nodes as peers.
    async fn ready(&self) -> bool {
        let mut leaders = Vec::new();
        for node in &self.nodes {
            if !healthz_ok(node.monitor_port, false).await {
                return false;
            }
            match meta_cluster(node.monitor_port).await {
                Some(meta) if !meta.leader.is_empty() && meta.cluster_size == self.nodes.len() => {
                    leaders.push(meta.leader)
                }
                _ => return false,
            }
        }
        leaders.windows(2).all(|w| w[0] == w[1])
    }

    async fn stop_all(&mut self) {
        for node in &mut self.nodes {
            node.stop().await;
        }
    }
}

fn node_name(i: usize) -> String {
    format!("n{i}")
}

#[derive(serde::Deserialize)]
struct MetaCluster {
    #[serde(default)]
    leader: String,
    #[serde(default)]
    cluster_size: usize,
}

/// The `meta_cluster` section of a node's `/jsz`.
async fn meta_cluster(monitor_port: u16) -> Option<MetaCluster> {
    #[derive(serde::Deserialize)]
    struct Jsz {
        meta_cluster: Option<MetaCluster>,
    }
    let (status, body) = http_get(monitor_port, "/jsz").await?;
    if status != 200 {
        return None;
    }
    serde_json::from_str::<Jsz>(&body).ok()?.meta_cluster
}
