//! Child processes whose stdout and stderr are captured line by line.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// A child process whose stdout and stderr are captured line by line.
///
/// Every line is kept in memory (see [`output`](Self::output)) and appended to a
/// log file (see [`log_path`](Self::log_path)) under `NOVIJ_TEST_LOG_DIR`, or
/// `<temp dir>/novij-test-logs` when that is unset. ANSI colour sequences are
/// stripped and `NO_COLOR=1` is set for the child unless `envs` overrides it.
/// With `NOVIJ_TEST_ECHO=1` every line is also printed to stderr, prefixed with
/// the process name.
///
/// The process is killed when the value is dropped.
pub struct ServiceProcess {
    name: String,
    program: PathBuf,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    child: Option<Child>,
    readers: Vec<JoinHandle<()>>,
    shared: Arc<Shared>,
    // Byte offset into the captured output where the current run started.
    run_start: usize,
    spawns: usize,
    log_path: PathBuf,
}

struct Shared {
    name: String,
    output: Mutex<String>,
    log: Mutex<Option<File>>,
    changed: Notify,
    echo: bool,
}

impl ServiceProcess {
    /// Spawns `program` with `args`, the inherited environment plus `envs`.
    ///
    /// Must be called from within a Tokio runtime.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(String, String)],
    ) -> anyhow::Result<ServiceProcess> {
        let log_dir = std::env::var_os("NOVIJ_TEST_LOG_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("novij-test-logs"));
        std::fs::create_dir_all(&log_dir).with_context(|| format!("creating log dir {}", log_dir.display()))?;
        let safe_name: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        let log_path = log_dir.join(format!("{safe_name}-{}.log", &uuid::Uuid::new_v4().simple().to_string()[..12]));
        let log = File::create(&log_path).with_context(|| format!("creating log file {}", log_path.display()))?;

        let mut process = ServiceProcess {
            name: name.to_owned(),
            program: program.to_path_buf(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            envs: envs.to_vec(),
            child: None,
            readers: Vec::new(),
            shared: Arc::new(Shared {
                name: name.to_owned(),
                output: Mutex::new(String::new()),
                log: Mutex::new(Some(log)),
                changed: Notify::new(),
                echo: std::env::var("NOVIJ_TEST_ECHO").is_ok_and(|v| v == "1"),
            }),
            run_start: 0,
            spawns: 0,
            log_path,
        };
        process.spawn_child()?;
        Ok(process)
    }

    fn spawn_child(&mut self) -> anyhow::Result<()> {
        self.spawns += 1;
        {
            let mut log = lock(&self.shared.log);
            if let Some(file) = log.as_mut() {
                let _ = writeln!(
                    file,
                    "=== {} run #{}: {} {}",
                    self.name,
                    self.spawns,
                    self.program.display(),
                    self.args.join(" ")
                );
            }
        }
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env("NO_COLOR", "1")
            .envs(self.envs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().with_context(|| {
            format!(
                "spawning {} ({}); was it built? try `cargo build --workspace --bins`",
                self.name,
                self.program.display()
            )
        })?;
        self.run_start = lock(&self.shared.output).len();
        self.readers.retain(|r| !r.is_finished());
        if let Some(stdout) = child.stdout.take() {
            self.readers.push(tokio::spawn(pump(stdout, Arc::clone(&self.shared))));
        }
        if let Some(stderr) = child.stderr.take() {
            self.readers.push(tokio::spawn(pump(stderr, Arc::clone(&self.shared))));
        }
        tracing::debug!(
            name = %self.name,
            pid = child.id(),
            log = %self.log_path.display(),
            "service process spawned"
        );
        self.child = Some(child);
        Ok(())
    }

    /// Waits until a line containing `needle` was printed by the current run
    /// (output from before the last [`restart`](Self::restart) is not searched).
    pub async fn wait_for_line(&self, needle: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let output = lock(&self.shared.output);
                let current = output.get(self.run_start..).unwrap_or("");
                if current.lines().any(|line| line.contains(needle)) {
                    return Ok(());
                }
            }
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                bail!(
                    "{}: no line containing {needle:?} within {timeout:?}; log: {}\nlast output:\n{}",
                    self.name,
                    self.log_path.display(),
                    self.tail(30)
                );
            }
            // Wake up now and then even without output, in case the process died.
            let _ = tokio::time::timeout(remaining.min(Duration::from_millis(500)), notified).await;
        }
    }

    /// Everything captured so far, across restarts.
    pub fn output(&self) -> String {
        lock(&self.shared.output).clone()
    }

    /// The last `n` captured lines.
    pub fn tail(&self, n: usize) -> String {
        let output = lock(&self.shared.output);
        let lines: Vec<&str> = output.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Path of the log file the output is appended to.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// OS process id of the current run, if it is still running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Kills the process (SIGKILL), waits for it and for its output to be drained.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
        self.drain().await;
    }

    /// Waits for the process to exit on its own (e.g. a one-shot command),
    /// then for its output to be drained.
    pub async fn wait_for_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let child = self.child.as_mut().with_context(|| format!("{} is not running", self.name))?;
        let status = match tokio::time::timeout(timeout, child.wait()).await {
            Ok(status) => status.with_context(|| format!("waiting for {}", self.name))?,
            Err(_) => bail!("{} did not exit within {timeout:?}; last output:\n{}", self.name, self.tail(30)),
        };
        self.child = None;
        self.drain().await;
        Ok(status)
    }

    /// Spawns the process again with the same program, arguments and environment.
    /// A still running previous run is killed first (without waiting).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
        self.spawn_child()
    }

    /// Whether the current run is still alive.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    async fn drain(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = tokio::time::timeout(DRAIN_TIMEOUT, reader).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
        }
    }
}

async fn pump<R: AsyncRead + Unpin>(stream: R, shared: Arc<Shared>) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let raw = String::from_utf8_lossy(&buf);
                let line = strip_ansi(raw.trim_end_matches(['\n', '\r']));
                if shared.echo {
                    eprintln!("[{}] {line}", shared.name);
                }
                {
                    let mut log = lock(&shared.log);
                    if let Some(file) = log.as_mut() {
                        let _ = writeln!(file, "{line}");
                    }
                }
                {
                    let mut output = lock(&shared.output);
                    output.push_str(&line);
                    output.push('\n');
                }
                shared.changed.notify_waiters();
            }
        }
    }
}

/// Removes ANSI escape sequences (CSI `ESC [ ... final` and two-byte `ESC x`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        // `ESC [` starts a CSI sequence that runs up to its final byte; for any
        // other `ESC x` only the one following character is dropped.
        if let Some('[') = chars.next() {
            for c in chars.by_ref() {
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
            }
        }
    }
    out
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::strip_ansi;

    #[test]
    fn strips_ansi() {
        assert_eq!(strip_ansi("\u{1b}[2m2024\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m listening"), "2024  INFO listening");
        assert_eq!(strip_ansi("plain"), "plain");
    }
}
