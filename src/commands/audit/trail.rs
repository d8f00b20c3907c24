//! The audit trail of one project: which events of the log are its, what of
//! them may leave (no sealed field ever does), and the chain of line hashes
//! that makes an edit, a removal or an addition visible.

use std::collections::HashMap;

use ring::digest::{digest, SHA256};
use serde_json::{json, Value};

/// Fields that name another aggregate an event belongs with, when its own
/// payload names no project (a `tx.claimed` names its send).
const RELATED: &[&str] = &["send_id", "integration_id", "recipient_id", "broadcast_id", "upload_id"];

/// Which project each aggregate belongs to, learned from the events that
/// name it: reading the log in order, an aggregate's first event comes first.
#[derive(Default)]
pub struct Attribution {
    projects: HashMap<String, String>,
}

impl Attribution {
    /// The project of `envelope` (a log message as JSON), if any.
    pub fn project_of(&mut self, envelope: &Value) -> Option<String> {
        let payload = &envelope["payload"];
        let aggregate = envelope["aggregate_id"].as_str()?;
        let project = payload["project_id"]
            .as_str()
            .map(String::from)
            .or_else(|| self.projects.get(aggregate).cloned())
            .or_else(|| {
                RELATED.iter().find_map(|f| payload[f].as_str().and_then(|id| self.projects.get(id).cloned()))
            })?;
        self.projects.entry(aggregate.to_string()).or_insert_with(|| project.clone());
        Some(project)
    }
}

/// A sealed value: ciphertext with its key id and nonce.
fn is_sealed(value: &Value) -> bool {
    value.get("ct").is_some() && value.get("nonce").is_some() && value.get("kid").is_some()
}

/// `value` without its sealed fields (and sealed items of lists).
pub fn without_sealed(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !is_sealed(v));
            map.values_mut().for_each(without_sealed);
        }
        Value::Array(items) => {
            items.retain(|v| !is_sealed(v));
            items.iter_mut().for_each(without_sealed);
        }
        _ => {}
    }
}

/// The chain hash of a line: SHA-256 over the previous line's chain and
/// this line's sequence and event.
pub fn chain(previous: &str, sequence: u64, event: &Value) -> String {
    let body = json!({ "sequence": sequence, "event": event }).to_string();
    hex(digest(&SHA256, format!("{previous}\n{body}").as_bytes()).as_ref())
}

/// Where the chain starts: the hash of the header line.
pub fn start(header: &str) -> String {
    hex(digest(&SHA256, header.as_bytes()).as_ref())
}

/// One line of the trail: the event at `sequence`, chained to `previous`.
pub fn line(previous: &str, sequence: u64, event: Value) -> (String, String) {
    let hash = chain(previous, sequence, &event);
    let text = json!({ "sequence": sequence, "event": event, "chain": hash }).to_string();
    (text, hash)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How a trail differs from the log's, by the first line (1-based, the
/// header is line 1) where they part.
#[derive(Debug, PartialEq, Eq)]
pub enum Difference {
    Missing(usize),
    Added(usize),
    Differs(usize),
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Missing(n) => write!(f, "line {n} is missing: the log has an event there that the file lacks"),
            Difference::Added(n) => write!(f, "line {n} was added: the log has no such event"),
            Difference::Differs(n) => write!(f, "line {n} differs from the log"),
        }
    }
}

/// The first place `file` parts from `expected` (both whole lines), if any.
pub fn compare(file: &[String], expected: &[String]) -> Option<Difference> {
    let i = file.iter().zip(expected).position(|(a, b)| a != b).unwrap_or(file.len().min(expected.len()));
    let n = i + 1;
    match (file.get(i), expected.get(i)) {
        (None, None) => None,
        (None, Some(_)) => Some(Difference::Missing(n)),
        (Some(_), None) => Some(Difference::Added(n)),
        (Some(_), Some(_)) if file.get(i + 1) == expected.get(i) => Some(Difference::Added(n)),
        (Some(_), Some(_)) if file.get(i) == expected.get(i + 1) => Some(Difference::Missing(n)),
        (Some(_), Some(_)) => Some(Difference::Differs(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aggregate_is_attributed_through_the_event_that_named_its_project() {
        let mut a = Attribution::default();
        let accepted = json!({"aggregate_id": "snd_1", "payload": {"project_id": "p1", "send_id": "snd_1"}});
        let sent = json!({"aggregate_id": "snd_1", "payload": {"send_id": "snd_1"}});
        let claimed = json!({"aggregate_id": "tx_9", "payload": {"send_id": "snd_1"}});
        let system = json!({"aggregate_id": "snd_2", "payload": {"project_id": null}});
        assert_eq!(a.project_of(&accepted).as_deref(), Some("p1"));
        assert_eq!(a.project_of(&sent).as_deref(), Some("p1"));
        assert_eq!(a.project_of(&claimed).as_deref(), Some("p1"));
        assert_eq!(a.project_of(&system), None);
    }

    #[test]
    fn sealed_fields_never_leave() {
        let sealed = json!({"kid": "dk:x", "nonce": "n", "ct": "c"});
        let mut event = json!({"payload": {"chat": sealed, "chat_hash": "h", "items": [sealed, {"kind": "photo"}]}});
        without_sealed(&mut event);
        assert_eq!(event, json!({"payload": {"chat_hash": "h", "items": [{"kind": "photo"}]}}));
    }

    #[test]
    fn each_line_chains_to_the_one_before() {
        let head = start("{\"audit\":{}}");
        let (first, h1) = line(&head, 5, json!({"a": 1}));
        let (_, h2) = line(&h1, 9, json!({"b": 2}));
        assert!(first.contains(&h1));
        assert_ne!(line(&head, 5, json!({"a": 2})).1, h1, "an edit changes the hash");
        assert_ne!(line(&head, 9, json!({"b": 2})).1, h2, "so does a removal before");
    }

    #[test]
    fn a_difference_is_named_by_its_line() {
        let lines = |s: &[&str]| s.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        let log = lines(&["h", "a", "b", "c"]);
        assert_eq!(compare(&log, &log), None);
        assert_eq!(compare(&lines(&["h", "a", "c"]), &log), Some(Difference::Missing(3)));
        assert_eq!(compare(&lines(&["h", "a", "x", "b", "c"]), &log), Some(Difference::Added(3)));
        assert_eq!(compare(&lines(&["h", "a", "B", "c"]), &log), Some(Difference::Differs(3)));
        assert_eq!(compare(&lines(&["h", "a", "b"]), &log), Some(Difference::Missing(4)));
        assert_eq!(compare(&lines(&["h", "a", "b", "c", "d"]), &log), Some(Difference::Added(5)));
    }
}
