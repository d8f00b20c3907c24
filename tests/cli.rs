//! The CLI's own commands: what they print, as a person or a script reads it.

mod support;

use support::{Layout, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn version_tells_the_commit_the_build_date_and_rustc_as_the_api_does() {
    let stack = TestStack::start(Layout::Single).await;
    let out = stack.cli(&["version", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let answered = stack.get("/api/v1/version").await;
    assert_eq!((answered.status, &answered.body), (200, &printed), "the CLI and the API tell one build");
    let build = &printed["build"];
    assert!(build["rustc"].as_str().is_some_and(|r| r.starts_with("rustc 1.")), "{printed}");
    assert!(build["built_at"].as_str().is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()), "{printed}");
    let head = std::process::Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().expect("git");
    assert_eq!(build["commit"], String::from_utf8_lossy(&head.stdout).trim(), "built from this checkout");
    let text = stack.cli(&["version"]);
    let line = String::from_utf8_lossy(&text.stdout);
    assert!(line.starts_with("novij-telegram ") && line.contains(build["commit"].as_str().unwrap_or("?")), "{line}");
}
