//! The API is exactly what `/openapi.json` says: Schemathesis (pinned by
//! scripts/bootstrap.sh) generates requests from the document, valid and
//! not, with a fixed seed, and every check it has must hold: no server
//! error, only documented statuses, bodies and headers as documented,
//! schema-valid requests taken and invalid ones refused, a 405 with `Allow`.
//! Its settings are tests/schemathesis.toml.

mod support;

use std::process::Command;

use support::{Layout, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_failure() {
    let stack = TestStack::start(Layout::Single).await;
    // A little data to act on, so not every operation ends at a 404.
    let integration = stack.create_integration("p_schema", None).await;
    stack.connect_user("p_schema", &integration, "ann").await;

    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let root = env!("CARGO_MANIFEST_DIR");
    let cli =
        "import sys; from schemathesis.cli import schemathesis; sys.argv[0] = 'schemathesis'; sys.exit(schemathesis())";
    let out = Command::new(&python)
        .current_dir(std::env::temp_dir())
        .args(["-c", cli])
        .args(["--config-file", &format!("{root}/tests/schemathesis.toml"), "--no-color", "run"])
        .arg(format!("{}/openapi.json", stack.api))
        .args(["--checks", "all", "--seed", "1", "--max-examples", "10", "--generation-database", "none"])
        // One worker: Hypothesis parses source with `ast` to describe its
        // filters, and CPython 3.11's `ast` keeps its recursion depth in
        // module-wide state, which two threads parsing at once corrupt
        // ("AST constructor recursion depth mismatch").
        .args(["--request-timeout", "20", "--workers", "1"])
        .args(["--header", &format!("Authorization: Bearer {}", stack.admin_key)])
        .env("PYTHONPATH", std::env::var("TEST_PYTHONPATH").unwrap_or_default())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (TEST_PYTHON; scripts/bootstrap.sh sets it): {e}"));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found failures:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
}
