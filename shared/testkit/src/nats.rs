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
const START_ATTEMPTS: usize = 3;

/// A throwaway nats-server with JetStream: its own free port and temp store dir.
///
/// The server is killed when the value is dropped; the store is removed with it.
pub struct NatsServer {
    child: Option<Child>,
    binary: PathBuf,
    port: u16,
    monitor_port: u16,
    // Holds `store/` (JetStream data) and `nats-server.log`.
    root: TempDir,
    store: PathBuf,
}

impl NatsServer {
    /// Starts a new server and waits until JetStream is ready.
    ///
    /// The binary is taken from `NATS_SERVER_BIN`, else
    /// `<workspace root>/.state/bin/nats-server`, else `nats-server` on `PATH`,
    /// and must be at least version 2.11.
    pub async fn start() -> anyhow::Result<NatsServer> {
        let binary = find_binary()?;
        check_version(&binary).await?;
        let root = tempfile::Builder::new().prefix("novij-nats-").tempdir().context("creating nats temp dir")?;
        let store = root.path().join("store");
        std::fs::create_dir_all(&store).context("creating nats store dir")?;

        let mut server = NatsServer { child: None, binary, port: free_port(), monitor_port: free_port(), root, store };
        let mut attempt = 1;
        loop {
            match server.spawn_and_wait().await {
                Ok(()) => return Ok(server),
                Err(err) if attempt < START_ATTEMPTS => {
                    // Most likely a port race with another test: retry on fresh ports.
                    tracing::debug!("nats-server start attempt {attempt} failed: {err:#}");
                    server.stop().await;
                    server.port = free_port();
                    server.monitor_port = free_port();
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// HTTP monitoring URL, `http://127.0.0.1:PORT`.
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// JetStream store directory, e.g. for tests that grep raw stream bytes.
    pub fn store_dir(&self) -> &Path {
        &self.store
    }

    /// The server's own log file (stdout and stderr, across restarts).
    pub fn log_path(&self) -> PathBuf {
        self.root.path().join("nats-server.log")
    }

    /// Kills the server (SIGKILL) and waits for it to exit. The store is kept.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
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
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .context("opening nats-server log")?;
        let child = Command::new(&self.binary)
            .args(["-a", "127.0.0.1", "-p"])
            .arg(self.port.to_string())
            .arg("-js")
            .arg("-sd")
            .arg(&self.store)
            .arg("-m")
            .arg(self.monitor_port.to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("cloning log handle")?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("spawning {}", self.binary.display()))?;
        self.child = Some(child);
        tracing::debug!(port = self.port, "nats-server spawned");

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().context("polling nats-server")? {
                    self.child = None;
                    bail!("nats-server exited early ({status}); log tail:\n{}", self.log_tail());
                }
            }
            if healthz_ok(self.monitor_port).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "nats-server on port {} not healthy within {READY_TIMEOUT:?}; log tail:\n{}",
                    self.port,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for NatsServer {
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

/// `GET /healthz?js-enabled-only=true` on the monitoring port answers 200.
async fn healthz_ok(monitor_port: u16) -> bool {
    let probe = async {
        let mut stream = TcpStream::connect(("127.0.0.1", monitor_port)).await.ok()?;
        stream
            .write_all(b"GET /healthz?js-enabled-only=true HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut buf = [0u8; 64];
        let mut len = 0;
        while len < 12 {
            let n = stream.read(&mut buf[len..]).await.ok()?;
            if n == 0 {
                break;
            }
            len += n;
        }
        let head = std::str::from_utf8(&buf[..len]).ok()?;
        Some(head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"))
    };
    tokio::time::timeout(Duration::from_secs(1), probe).await.ok().flatten().unwrap_or(false)
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
