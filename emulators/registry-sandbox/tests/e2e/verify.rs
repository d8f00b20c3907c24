//! Verifications: the registry fetches a service's manifest and health itself.

use std::time::Instant;

use serde_json::{json, Value};

use crate::support::{start, Site, KEY};

#[tokio::test]
async fn a_matching_manifest_and_ok_health_verify() {
    let env = start(Some(KEY)).await;
    let site = Site::start().await;
    env.register(&site.entry("svc.test")).await;
    let verification = env.verify("svc.test").await;
    assert_eq!((&verification["status"], &verification["problems"]), (&json!("verified"), &json!([])));
    let checked_at = verification["checked_at"].as_str().expect("checked_at");
    assert!(chrono::DateTime::parse_from_rfc3339(checked_at).is_ok(), "{checked_at}");

    let (status, stored) = env.get("/v1/services/svc.test").await;
    assert_eq!((status, &stored["last_verification"]), (200, &verification), "{stored}");
}

#[tokio::test]
async fn each_difference_is_one_problem_line() {
    let env = start(None).await;
    let site = Site::start().await;
    env.register(&site.entry("svc.test")).await;
    let mut manifest = site.manifest_json();
    manifest["version"] = json!("0.2.0");
    manifest["wallet_id"] = Value::Null;
    site.set_manifest(200, manifest);
    let verification = env.verify("svc.test").await;
    assert_eq!(verification["status"], "mismatch", "{verification}");
    assert_eq!(
        verification["problems"],
        json!([
            "version: the entry says 0.1.0, the manifest 0.2.0",
            "wallet_id: the entry says svc_wallet, the manifest none",
        ])
    );
}

#[tokio::test]
async fn a_null_wallet_id_matches_a_manifest_without_one() {
    let env = start(None).await;
    let site = Site::start().await;
    let mut entry = site.entry("svc.test");
    entry["wallet_id"] = Value::Null;
    env.register(&entry).await;
    let mut manifest = site.manifest_json();
    manifest.as_object_mut().expect("an object").remove("wallet_id");
    site.set_manifest(200, manifest);
    assert_eq!(env.verify("svc.test").await["status"], "verified");
}

#[tokio::test]
async fn a_degraded_service_is_a_mismatch_not_unreachable() {
    let env = start(None).await;
    let site = Site::start().await;
    env.register(&site.entry("svc.test")).await;
    site.set_health(
        503,
        json!({"status": "degraded", "version": "0.1.0", "checks": {"nats": "ok", "postgres": "timed_out"}}),
    );
    let verification = env.verify("svc.test").await;
    assert_eq!(
        (&verification["status"], &verification["problems"]),
        (&json!("mismatch"), &json!(["health: the service says degraded"]))
    );
}

#[tokio::test]
async fn a_manifest_that_is_not_found_is_unreachable() {
    let env = start(None).await;
    let site = Site::start().await;
    let mut entry = site.entry("svc.test");
    entry["manifest_url"] = json!(format!("{}/nothing-here", site.base));
    env.register(&entry).await;
    let verification = env.verify("svc.test").await;
    assert_eq!(
        (&verification["status"], &verification["problems"]),
        (&json!("unreachable"), &json!(["manifest_url: answered 404"]))
    );
}

#[tokio::test]
async fn nothing_listening_is_unreachable_for_both_urls() {
    let env = start(None).await;
    let closed = format!("http://127.0.0.1:{}", novij_testkit::free_port());
    let mut entry = Site::start().await.entry("svc.test");
    entry["manifest_url"] = json!(format!("{closed}/manifest"));
    entry["health_url"] = json!(format!("{closed}/health"));
    env.register(&entry).await;
    let started = Instant::now();
    let verification = env.verify("svc.test").await;
    assert_eq!(
        (&verification["status"], &verification["problems"]),
        (&json!("unreachable"), &json!(["manifest_url: connection failed", "health_url: connection failed"]))
    );
    assert!(started.elapsed().as_secs() < 5, "a refused connection is not waited out");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let env = start(None).await;
    let site = Site::start().await;
    let mut entry = site.entry("svc.test");
    entry["manifest_url"] = json!(format!("{}/moved", site.base));
    env.register(&entry).await;
    let verification = env.verify("svc.test").await;
    assert_eq!(
        (&verification["status"], &verification["problems"]),
        (&json!("unreachable"), &json!(["manifest_url: answered 302"]))
    );
}

#[tokio::test]
async fn answers_that_are_not_json_objects_are_unreachable() {
    let env = start(None).await;
    let site = Site::start().await;
    env.register(&site.entry("svc.test")).await;
    site.set_manifest_raw(200, "<html>hello</html>");
    site.set_health_raw(200, "[\"ok\"]");
    let verification = env.verify("svc.test").await;
    assert_eq!(
        (&verification["status"], &verification["problems"]),
        (&json!("unreachable"), &json!(["manifest_url: not JSON", "health_url: not a JSON object"]))
    );
    site.set_manifest(200, site.manifest_json());
    site.set_health(500, json!({"status": "ok"}));
    let verification = env.verify("svc.test").await;
    assert_eq!(verification["problems"], json!(["health_url: answered 500"]), "{verification}");
}

#[tokio::test]
async fn the_last_verification_is_kept_across_updates_and_replaced_by_the_next() {
    let env = start(None).await;
    let site = Site::start().await;
    let entry = site.entry("svc.test");
    env.register(&entry).await;
    let first = env.verify("svc.test").await;
    assert_eq!(first["status"], "verified");

    let mut changed = entry.clone();
    changed["version"] = json!("0.3.0");
    let (status, updated) = env.put("/v1/services/svc.test", changed).await;
    assert_eq!((status, &updated["last_verification"]), (200, &first), "{updated}");

    let second = env.verify("svc.test").await;
    assert_eq!(second["problems"], json!(["version: the entry says 0.3.0, the manifest 0.1.0"]));
    let (_, stored) = env.get("/v1/services/svc.test").await;
    assert_eq!(stored["last_verification"], second);
    let (_, listed) = env.get("/registry/services").await;
    assert_eq!(listed[0]["last_verification"], second);
}
