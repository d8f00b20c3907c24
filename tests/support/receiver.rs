//! A project's webhook receiver: `tests/receivers/standard_webhooks.py`,
//! which checks signatures with the reference library (PyPI
//! `standardwebhooks`), not with the service's own code.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Receiver {
    child: Child,
    /// `http://<host>:<port>`.
    pub base: String,
    http: reqwest::Client,
}

impl Receiver {
    /// Starts one on `host` (a free port) that verifies with each of `secrets`.
    pub async fn start(host: &str, secrets: &[&str]) -> Receiver {
        let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/receivers/standard_webhooks.py");
        let mut child = Command::new(&python)
            .args([script, "--host", host, "--port", "0", "--secrets", &secrets.join(",")])
            .env("PYTHONPATH", std::env::var("TEST_PYTHONPATH").unwrap_or_default())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {python} (TEST_PYTHON; scripts/bootstrap.sh sets it): {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver did not start in time")
            .expect("receiver stdout")
            .expect("the receiver exited: is standardwebhooks installed (scripts/bootstrap.sh)?");
        let address = line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Receiver { child, base: format!("http://{address}"), http: reqwest::Client::new() }
    }

    /// What it was sent, in arrival order.
    pub async fn received(&self) -> Vec<Value> {
        let answer = self.http.get(format!("{}/received", self.base)).send().await.expect("receiver");
        answer.json::<Vec<Value>>().await.expect("receiver json")
    }

    /// Answers `status` to every delivery from now on (`None`: verifies again).
    pub async fn force(&self, status: Option<u16>) {
        let answer = self
            .http
            .post(format!("{}/control", self.base))
            .json(&json!({ "status": status }))
            .send()
            .await
            .expect("receiver");
        assert_eq!(answer.status().as_u16(), 204);
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
