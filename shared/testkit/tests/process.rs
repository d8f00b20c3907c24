//! Tests for captured service processes, `eventually` and `free_port`.

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use novij_testkit::{eventually, free_port, ServiceProcess};

const SH: &str = "/bin/sh";

#[tokio::test]
async fn captures_stdout_and_stderr_across_restarts() -> anyhow::Result<()> {
    let script = "echo \"hello $GREETING\"; printf '\\033[32mgreen\\033[0m\\n' >&2; echo err-line >&2; exec sleep 30";
    let mut process = ServiceProcess::spawn(
        "sh-test",
        Path::new(SH),
        &["-c", script],
        &[("GREETING".to_owned(), "world".to_owned())],
    )?;
    process.wait_for_line("hello world", Duration::from_secs(5)).await?;
    process.wait_for_line("err-line", Duration::from_secs(5)).await?;
    assert!(process.is_running());
    assert!(process.pid().is_some());
    // Colour sequences are stripped.
    assert!(process.output().lines().any(|l| l == "green"), "{}", process.output());

    process.kill().await;
    assert!(!process.is_running());

    process.restart()?;
    process.wait_for_line("hello world", Duration::from_secs(5)).await?;
    assert!(process.is_running());
    process.kill().await;
    assert_eq!(process.output().matches("hello world").count(), 2);

    let log = std::fs::read_to_string(process.log_path())?;
    assert_eq!(log.matches("hello world").count(), 2, "{log}");
    assert!(log.contains("err-line"));
    Ok(())
}

#[tokio::test]
async fn wait_for_line_only_searches_the_current_run_and_times_out() -> anyhow::Result<()> {
    let mut process = ServiceProcess::spawn("once", Path::new(SH), &["-c", "echo first-run-only; exec sleep 30"], &[])?;
    process.wait_for_line("first-run-only", Duration::from_secs(5)).await?;
    let err = process.wait_for_line("never printed", Duration::from_millis(300)).await.expect_err("must time out");
    assert!(format!("{err:#}").contains("never printed"));
    process.kill().await;
    Ok(())
}

#[tokio::test]
async fn one_shot_commands_can_be_awaited() -> anyhow::Result<()> {
    let mut process = ServiceProcess::spawn("one-shot", Path::new(SH), &["-c", "echo done; exit 3"], &[])?;
    let status = process.wait_for_exit(Duration::from_secs(5)).await?;
    assert_eq!(status.code(), Some(3));
    assert!(process.output().contains("done"));
    assert!(!process.is_running());
    Ok(())
}

#[tokio::test]
async fn spawn_of_missing_program_fails() {
    let err =
        ServiceProcess::spawn("missing", Path::new("/nonexistent/program"), &[], &[]).err().expect("spawn must fail");
    assert!(format!("{err:#}").contains("missing"));
}

#[tokio::test]
async fn eventually_polls_until_some() -> anyhow::Result<()> {
    let calls = Arc::new(AtomicU32::new(0));
    let value = eventually(Duration::from_secs(5), || {
        let calls = Arc::clone(&calls);
        async move {
            let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
            (n >= 3).then_some(n * 10)
        }
    })
    .await?;
    assert_eq!(value, 30);

    let err = eventually(Duration::from_millis(100), || async { None::<()> }).await.expect_err("must time out");
    assert!(err.to_string().contains("not met"));
    Ok(())
}

#[test]
fn free_port_is_bindable() {
    let port = free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).expect("port is free");
}
