//! `audit export` holds one project's events and nothing sealed; `audit
//! verify` passes on it and names the line that was removed, edited or added.

mod support;

use serde_json::Value;
use support::{Layout, TestStack};

#[tokio::test(flavor = "multi_thread")]
async fn an_export_holds_exactly_its_projects_events_and_verify_names_what_changed() {
    let stack = TestStack::start(Layout::Single).await;
    let ours = stack.create_integration("p_audit", None).await;
    let theirs = stack.create_integration("p_other", None).await;
    stack.connect_user("p_audit", &ours, "ann").await;
    stack.connect_user("p_other", &theirs, "bo").await;
    let sent = stack.send_text("p_audit", &ours, "ann", "private words", "a-1").await;
    let send_id = sent.body["send_id"].as_str().expect("send_id").to_string();
    let other = stack.send_text("p_other", &theirs, "bo", "their words", "b-1").await;
    let other_id = other.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_send(&send_id, "sent").await;
    stack.wait_send(&other_id, "sent").await;
    stack.wait_idle().await;

    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("trail.jsonl");
    let path = file.to_str().expect("path");
    let export = stack.cli_run(&["audit", "export", "--project", "p_audit", "--out", path, "--json"]);
    assert!(export.ok(), "{}", export.stderr);
    let text = std::fs::read_to_string(&file).expect("trail");
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines[0]["audit"]["project"], "p_audit", "{}", lines[0]);
    let events: Vec<&Value> = lines[1..].iter().map(|l| &l["event"]).collect();

    // Its integration, its recipient's binding, and its send from start to end; nothing of the other.
    let of = |aggregate: &str| -> Vec<String> {
        let matching = events.iter().filter(|e| e["aggregate_id"] == aggregate);
        matching.map(|e| e["event_type"].as_str().unwrap_or_default().to_string()).collect()
    };
    assert_eq!(of(&send_id), ["send.accepted", "send.queued", "send.sent"], "{text}");
    assert_eq!(of(&ours).first().map(String::as_str), Some("integration.created"), "{text}");
    assert!(events.iter().any(|e| e["event_type"] == "recipient.bound"), "{text}");
    assert!(of(&other_id).is_empty() && of(&theirs).is_empty(), "the other project's events: {text}");
    for needle in ["p_other", "\"ct\"", "\"nonce\"", "private words"] {
        assert!(!text.contains(needle), "the trail holds {needle}");
    }
    let sequences: Vec<u64> = lines[1..].iter().map(|l| l["sequence"].as_u64().expect("sequence")).collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "in log order: {sequences:?}");
    assert!(export.stderr.contains(&format!("\"events\":{}", events.len())), "{}", export.stderr);

    let verify = stack.cli_run(&["audit", "verify", path]);
    assert!(verify.ok() && verify.stdout.contains("verified"), "{}{}", verify.stdout, verify.stderr);

    // A line removed, one edited, one added: each named by its line.
    let all: Vec<&str> = text.lines().collect();
    let write = |lines: Vec<String>| std::fs::write(&file, lines.join("\n") + "\n").expect("write");
    let mut removed: Vec<String> = all.iter().map(|l| l.to_string()).collect();
    removed.remove(3);
    write(removed);
    let verify = stack.cli_run(&["audit", "verify", path]);
    assert!(!verify.ok() && verify.stderr.contains("line 4 is missing"), "{}", verify.stderr);
    let mut edited: Vec<String> = all.iter().map(|l| l.to_string()).collect();
    edited[2] = edited[2].replace("\"version\":1", "\"version\":2");
    write(edited);
    let verify = stack.cli_run(&["audit", "verify", path]);
    assert!(!verify.ok() && verify.stderr.contains("line 3 differs"), "{}", verify.stderr);
    let mut added: Vec<String> = all.iter().map(|l| l.to_string()).collect();
    added.insert(2, all[all.len() - 1].to_string());
    write(added);
    let verify = stack.cli_run(&["audit", "verify", path]);
    assert!(!verify.ok() && verify.stderr.contains("line 3 was added"), "{}", verify.stderr);
}
