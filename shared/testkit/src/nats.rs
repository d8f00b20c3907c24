//! A throwaway `nats-server` with JetStream for one test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::paths::workspace_root;
use crate::util::free_port;

/// Oldest nats-server release the project supports.
pub const MIN_NATS_SERVER_VERSION: (u64, u64, u64) = (2, 11, 0);

const READY_TIMEOUT: Duration = Duration::from_secs(10);
pub(crate) const START_ATTEMPTS: usize = 3;

/// A throwaway nats-server with JetStream: its own free port and temp store dir.
///
/// The server is killed when the value is dropped; the store is removed with it.
pub struct NatsServer {
    // Declared before `root` so the process is killed before its dir is removed.
    node: Node,
    // Holds `store/` (JetStream data) and `nats-server.log`.
    _root: TempDir,
}

impl NatsServer {
    /// Starts a new server and waits until JetStream is ready.
    ///
    /// The binary is taken from `NATS_SERVER_BIN`, else
    /// `<workspace root>/.state/bin/nats-server`, else `nats-server` on `PATH`,
    /// and must be at least version 2.11.
    pub async fn start() -> anyhow::Result<NatsServer> {
        Self::start_configured(None).await
    }

    /// [`NatsServer::start`] with a configuration file of `config` (e.g. an
    /// `authorization` block); the command line sets the ports and the store.
    pub async fn start_with_config(config: &str) -> anyhow::Result<NatsServer> {
        Self::start_configured(Some(config)).await
    }

    async fn start_configured(config: Option<&str>) -> anyhow::Result<NatsServer> {
        let binary = binary().await?;
        let root = temp_root()?;
        let node = Node::new(binary, root.path().to_path_buf())?.configured(config)?;
        let mut server = NatsServer { node, _root: root };
        let mut attempt = 1;
        loop {
            match server.spawn_and_wait().await {
                Ok(()) => return Ok(server),
                Err(err) if attempt < START_ATTEMPTS => {
                    // Most likely a port race with another test: retry on fresh ports.
                    tracing::debug!("nats-server start attempt {attempt} failed: {err:#}");
                    server.node.stop().await;
                    server.node.port = free_port();
                    server.node.monitor_port = free_port();
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.node.url()
    }

    /// Client port.
    pub fn port(&self) -> u16 {
        self.node.port
    }

    /// HTTP monitoring URL, `http://127.0.0.1:PORT`.
    pub fn monitor_url(&self) -> String {
        self.node.monitor_url()
    }

    /// JetStream store directory, e.g. for tests that grep raw stream bytes.
    pub fn store_dir(&self) -> &Path {
        &self.node.store
    }

    /// The server's own log file (stdout and stderr, across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.node.log_path()
    }

    /// Kills the server (SIGKILL) and waits for it to exit. The store is kept.
    pub async fn stop(&mut self) {
        self.node.stop().await
    }

    /// Stops the server if running and starts it again on the same port and store.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await;
        let started = Instant::now();
        loop {
            match self.spawn_and_wait().await {
                Ok(()) => return Ok(()),
                // The port may take a moment to become bindable again.
                Err(err) if started.elapsed() < READY_TIMEOUT => {
                    tracing::debug!("nats-server restart attempt failed: {err:#}");
                    self.stop().await;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn spawn_and_wait(&mut self) -> anyhow::Result<()> {
        self.node.spawn()?;
        let monitor_port = self.node.monitor_port;
        self.node.wait_until(READY_TIMEOUT, || healthz_ok(monitor_port, true)).await
    }
}

/// One nats-server process with JetStream: its ports, its store and its log
/// file in `dir`. [`NatsServer`] runs one on its own; a cluster runs several
/// with `args` naming the server and its routes.
pub(crate) struct Node {
    child: Option<Child>,
    binary: PathBuf,
    dir: PathBuf,
    store: PathBuf,
    pub(crate) port: u16,
    pub(crate) monitor_port: u16,
    /// The configuration file, if the node has one.
    config: Option<PathBuf>,
    /// Arguments after the common ones (client and monitor port, JetStream, store).
    pub(crate) args: Vec<String>,
}

impl Node {
    /// A node (not yet running) on fresh ports, keeping its files in `dir`.
    pub(crate) fn new(binary: PathBuf, dir: PathBuf) -> anyhow::Result<Node> {
        let store = dir.join("store");
        std::fs::create_dir_all(&store).context("creating nats store dir")?;
        Ok(Node {
            child: None,
            binary,
            dir,
            store,
            port: free_port(),
            monitor_port: free_port(),
            config: None,
            args: Vec::new(),
        })
    }

    /// The node with a configuration file holding `config`, if given.
    pub(crate) fn configured(mut self, config: Option<&str>) -> anyhow::Result<Node> {
        if let Some(text) = config {
            let path = self.dir.join("server.conf");
            std::fs::write(&path, text).context("writing nats-server configuration")?;
            self.config = Some(path);
        }
        Ok(self)
    }

    pub(crate) fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub(crate) fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    pub(crate) fn log_path(&self) -> PathBuf {
        self.dir.join("nats-server.log")
    }

    pub(crate) fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the process; its output is appended to [`Node::log_path`].
    pub(crate) fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .context("opening nats-server log")?;
        let mut command = Command::new(&self.binary);
        if let Some(config) = &self.config {
            command.arg("-c").arg(config);
        }
        let child = command
            .args(["-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-js")
            .arg("-sd")
            .arg(&self.store)
            .arg("-m")
            .arg(self.monitor_port.to_string())
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("cloning log handle")?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {}", self.binary.display()))?;
        self.child = Some(child);
        tracing::debug!(port = self.port, "nats-server spawned");
        Ok(())
    }

    /// Polls `ready` until it holds; fails at once if the process exits
    /// (e.g. its port was taken) and after `timeout`.
    pub(crate) async fn wait_until<F, Fut>(&mut self, timeout: Duration, mut ready: F) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_alive()?;
            if ready().await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("nats-server on port {} not ready within {timeout:?}; log tail:\n{}", self.port, self.log_tail());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fails if the process was started and has exited since.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(child) = self.child.as_mut() {
            if let Some(status) = child.try_wait().context("polling nats-server")? {
                self.child = None;
                bail!("nats-server exited early ({status}); log tail:\n{}", self.log_tail());
            }
        }
        Ok(())
    }

    /// Kills the process (SIGKILL) and waits for it to exit. The store is kept.
    pub(crate) async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            // Give the process a moment to exit before the store is removed.
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                match child.try_wait() {
                    Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                    _ => break,
                }
            }
        }
    }
}

/// A temp dir for one server's or one cluster's files.
pub(crate) fn temp_root() -> anyhow::Result<TempDir> {
    tempfile::Builder::new().prefix("novij-nats-").tempdir().context("creating nats temp dir")
}

/// The nats-server binary to run, checked to be recent enough.
pub(crate) async fn binary() -> anyhow::Result<PathBuf> {
    let binary = find_binary()?;
    check_version(&binary).await?;
    Ok(binary)
}

/// `GET /healthz` on the monitoring port answers 200. With `js_enabled_only`
/// only JetStream being on counts; without, a clustered server must also be in
/// contact with the JetStream meta leader.
pub(crate) async fn healthz_ok(monitor_port: u16, js_enabled_only: bool) -> bool {
    let path = if js_enabled_only { "/healthz?js-enabled-only=true" } else { "/healthz" };
    matches!(http_get(monitor_port, path).await, Some((200, _)))
}

/// A plain HTTP/1.0 GET on 127.0.0.1: the status and the body, or `None` if
/// the server did not answer within a second.
pub(crate) async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let probe = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.ok()?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    };
    tokio::time::timeout(Duration::from_secs(1), probe).await.ok().flatten()
}

fn find_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!(
                "NATS_SERVER_BIN={} does not exist; run `./dev test` or `scripts/bootstrap.sh` \
                 to install the pinned nats-server",
                path.display()
            );
        }
        return Ok(path);
    }
    if let Some(root) = workspace_root() {
        let local = root.join(".state/bin/nats-server");
        if local.is_file() {
            return Ok(local);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("nats-server");
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "nats-server not found (NATS_SERVER_BIN unset, no .state/bin/nats-server, none on PATH); \
         run `./dev test` or `scripts/bootstrap.sh` to install the pinned version"
    )
}

async fn check_version(binary: &Path) -> anyhow::Result<()> {
    let out = Command::new(binary)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("running {} --version", binary.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let version =
        parse_version(&text).with_context(|| format!("cannot parse version of {} from {text:?}", binary.display()))?;
    if version < MIN_NATS_SERVER_VERSION {
        let (a, b, c) = MIN_NATS_SERVER_VERSION;
        bail!(
            "{} is nats-server {}.{}.{}, but at least {a}.{b}.{c} is required; \
             run `./dev test` or `scripts/bootstrap.sh` (it installs the pinned version into \
             .state/bin and sets NATS_SERVER_BIN)",
            binary.display(),
            version.0,
            version.1,
            version.2
        );
    }
    Ok(())
}

/// Parses `nats-server: v2.14.6` (or any text with a `vX.Y.Z` token).
fn parse_version(text: &str) -> Option<(u64, u64, u64)> {
    text.split_whitespace().find_map(|word| {
        let word = word.trim_start_matches('v');
        let core = word.split(['-', '+']).next()?;
        let mut parts = core.split('.').map(|p| p.parse::<u64>());
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some((a, b, c)),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn parses_versions() {
        assert_eq!(parse_version("nats-server: v2.14.6\n"), Some((2, 14, 6)));
        assert_eq!(parse_version("nats-server: v2.9.10"), Some((2, 9, 10)));
        assert_eq!(parse_version("nats-server: v2.12.0-beta.1"), Some((2, 12, 0)));
        assert_eq!(parse_version("garbage"), None);
        assert!(parse_version("nats-server: v2.9.10").unwrap() < super::MIN_NATS_SERVER_VERSION);
    }
}
