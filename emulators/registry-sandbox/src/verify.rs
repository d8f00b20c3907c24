//! A verification: fetch an entry's manifest and health as the registry does
//! (no redirects, 5 s each) and compare them with the entry.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value};

use crate::model::{Entry, Verification, VerificationStatus};

/// How long each fetch may take, body included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest manifest or health body read; a bigger one is not a usable answer.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The client the registry fetches with. Redirects are not followed, as the
/// contract says. No proxy either: the services it checks run beside it, and a
/// developer's proxy settings must not change what a verification sees.
pub(crate) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().timeout(FETCH_TIMEOUT).redirect(reqwest::redirect::Policy::none()).no_proxy().build()
}

/// What a URL answered, when it answered at all.
struct Fetched {
    status: u16,
    /// The body as a JSON object, or why it is not one.
    json: Result<Map<String, Value>, &'static str>,
}

/// `Err` carries the problem text, without the field name.
async fn fetch(client: &reqwest::Client, url: &str) -> Result<Fetched, String> {
    let failed = |e: reqwest::Error| {
        if e.is_timeout() {
            format!("no answer within {} s", FETCH_TIMEOUT.as_secs())
        } else if e.is_connect() {
            "connection failed".to_string()
        } else {
            format!("request failed: {e}")
        }
    };
    let mut response = client.get(url).header("accept", "application/json").send().await.map_err(failed)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Ok(Fetched { status, json: Err("more than 1 MiB") });
        }
        body.extend_from_slice(&chunk);
    }
    let json = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err("not a JSON object"),
        Err(_) => Err("not JSON"),
    };
    Ok(Fetched { status, json })
}

/// The manifest, if it answered 200 with a JSON object; else the problem line.
fn usable_manifest(fetched: Result<Fetched, String>) -> Result<Map<String, Value>, String> {
    match fetched {
        Err(problem) => Err(format!("manifest_url: {problem}")),
        Ok(Fetched { status: 200, json: Ok(object) }) => Ok(object),
        Ok(Fetched { status: 200, json: Err(problem) }) => Err(format!("manifest_url: {problem}")),
        Ok(Fetched { status, .. }) => Err(format!("manifest_url: answered {status}")),
    }
}

/// The health, if usable; else the problem line. A degraded service answers
/// 503 with its report (docs/REGISTRY.md), so a 503 JSON object whose status
/// is something other than `ok` is an answer, compared like any other.
fn usable_health(fetched: Result<Fetched, String>) -> Result<Map<String, Value>, String> {
    match fetched {
        Err(problem) => Err(format!("health_url: {problem}")),
        Ok(Fetched { status: 200, json: Ok(object) }) => Ok(object),
        Ok(Fetched { status: 503, json: Ok(object) })
            if object.get("status").and_then(Value::as_str).is_some_and(|s| s != "ok") =>
        {
            Ok(object)
        }
        Ok(Fetched { status: 200, json: Err(problem) }) => Err(format!("health_url: {problem}")),
        Ok(Fetched { status, .. }) => Err(format!("health_url: answered {status}")),
    }
}

/// How a value reads in a problem line: a null or missing value is `none`.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "none".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One problem line per manifest field that differs from the entry, then one
/// if the health's status is not `ok`. Fields are named as the entry names them.
pub fn compare(entry: &Entry, manifest: &Map<String, Value>, health: &Map<String, Value>) -> Vec<String> {
    let wallet_id = entry.wallet_id.clone().map_or(Value::Null, Value::String);
    let pairs = [
        ("kind", Value::String(entry.kind.clone()), "kind"),
        ("name", Value::String(entry.name.clone()), "name"),
        ("version", Value::String(entry.version.clone()), "version"),
        ("base_url", Value::String(entry.base_url.clone()), "public_base_url"),
        ("wallet_id", wallet_id, "wallet_id"),
    ];
    let mut problems = Vec::new();
    for (field, entry_value, manifest_key) in pairs {
        let manifest_value = manifest.get(manifest_key).unwrap_or(&Value::Null);
        if *manifest_value != entry_value {
            problems.push(format!(
                "{field}: the entry says {}, the manifest {}",
                shown(&entry_value),
                shown(manifest_value)
            ));
        }
    }
    let status = health.get("status").unwrap_or(&Value::Null);
    if status.as_str() != Some("ok") {
        problems.push(format!("health: the service says {}", shown(status)));
    }
    problems
}

/// Fetches both URLs at once and judges the entry.
pub(crate) async fn verify(client: &reqwest::Client, entry: &Entry) -> Verification {
    let (manifest, health) = tokio::join!(fetch(client, &entry.manifest_url), fetch(client, &entry.health_url));
    let (status, problems) = match (usable_manifest(manifest), usable_health(health)) {
        (Ok(manifest), Ok(health)) => {
            let problems = compare(entry, &manifest, &health);
            let status = if problems.is_empty() { VerificationStatus::Verified } else { VerificationStatus::Mismatch };
            (status, problems)
        }
        (manifest, health) => {
            let problems = [manifest.err(), health.err()].into_iter().flatten().collect();
            (VerificationStatus::Unreachable, problems)
        }
    };
    Verification { status, checked_at: Utc::now(), problems }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn entry(wallet_id: Option<&str>) -> Entry {
        Entry {
            service_id: "svc.test".into(),
            kind: "telegram-delivery".into(),
            name: "novij-telegram".into(),
            version: "0.1.0".into(),
            base_url: "https://svc.test".into(),
            manifest_url: "https://svc.test/.well-known/novij/service".into(),
            health_url: "https://svc.test/.well-known/novij/service-health".into(),
            wallet_id: wallet_id.map(str::to_string),
        }
    }

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    fn manifest() -> Value {
        json!({"kind": "telegram-delivery", "name": "novij-telegram", "version": "0.1.0",
               "public_base_url": "https://svc.test", "wallet_id": "w1", "templates": ["text_message"]})
    }

    fn ok() -> Map<String, Value> {
        object(json!({"status": "ok", "version": "0.1.0"}))
    }

    #[test]
    fn a_matching_manifest_and_ok_health_have_no_problems() {
        assert_eq!(compare(&entry(Some("w1")), &object(manifest()), &ok()), Vec::<String>::new());
    }

    #[test]
    fn each_difference_is_one_line_named_as_the_entry_names_it() {
        let mut m = manifest();
        m["kind"] = json!("other-kind");
        m["name"] = json!("other");
        m["version"] = json!("0.2.0");
        m["public_base_url"] = json!("https://elsewhere.test");
        let problems = compare(&entry(None), &object(m), &object(json!({"status": "degraded"})));
        assert_eq!(
            problems,
            [
                "kind: the entry says telegram-delivery, the manifest other-kind",
                "name: the entry says novij-telegram, the manifest other",
                "version: the entry says 0.1.0, the manifest 0.2.0",
                "base_url: the entry says https://svc.test, the manifest https://elsewhere.test",
                "wallet_id: the entry says none, the manifest w1",
                "health: the service says degraded",
            ]
        );
    }

    #[test]
    fn a_null_or_missing_wallet_id_is_none_on_either_side() {
        let mut m = manifest();
        m["wallet_id"] = Value::Null;
        assert!(compare(&entry(None), &object(m.clone()), &ok()).is_empty());
        m.as_object_mut().expect("an object").remove("wallet_id");
        assert!(compare(&entry(None), &object(m.clone()), &ok()).is_empty());
        assert_eq!(compare(&entry(Some("w1")), &object(m), &ok()), ["wallet_id: the entry says w1, the manifest none"]);
    }

    #[test]
    fn missing_or_odd_values_are_shown_not_matched() {
        let problems = compare(
            &entry(Some("w1")),
            &object(json!({"kind": "telegram-delivery", "name": "novij-telegram", "version": 1,
                           "public_base_url": "https://svc.test", "wallet_id": "w1"})),
            &object(json!({})),
        );
        assert_eq!(problems, ["version: the entry says 0.1.0, the manifest 1", "health: the service says none"]);
    }

    fn answered(status: u16, body: Value) -> Result<Fetched, String> {
        Ok(Fetched { status, json: body.as_object().cloned().ok_or("not a JSON object") })
    }

    #[test]
    fn only_a_200_json_object_is_a_usable_manifest() {
        assert!(usable_manifest(answered(200, manifest())).is_ok());
        assert_eq!(usable_manifest(answered(500, manifest())), Err("manifest_url: answered 500".into()));
        assert_eq!(usable_manifest(answered(302, json!({}))), Err("manifest_url: answered 302".into()));
        assert_eq!(
            usable_manifest(answered(503, json!({"status": "degraded"}))),
            Err("manifest_url: answered 503".into())
        );
        assert_eq!(usable_manifest(answered(200, json!([1]))), Err("manifest_url: not a JSON object".into()));
        assert_eq!(
            usable_manifest(Ok(Fetched { status: 200, json: Err("not JSON") })),
            Err("manifest_url: not JSON".into())
        );
        assert_eq!(usable_manifest(Err("connection failed".into())), Err("manifest_url: connection failed".into()));
    }

    #[test]
    fn a_degraded_503_is_a_usable_health_but_other_503s_are_not() {
        assert!(usable_health(answered(200, json!({"status": "ok"}))).is_ok());
        assert!(usable_health(answered(503, json!({"status": "degraded"}))).is_ok());
        assert_eq!(usable_health(answered(503, json!({"status": "ok"}))), Err("health_url: answered 503".into()));
        assert_eq!(usable_health(answered(503, json!({}))), Err("health_url: answered 503".into()));
        assert_eq!(usable_health(answered(500, json!({"status": "degraded"}))), Err("health_url: answered 500".into()));
        assert_eq!(
            usable_health(Ok(Fetched { status: 200, json: Err("not JSON") })),
            Err("health_url: not JSON".into())
        );
    }
}
