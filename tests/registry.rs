//! The Service Registry (docs/REGISTRY.md): the well-known URLs the registry
//! reads, and `service-registry:register|status|update|verify` against the
//! registry emulator, which fetches those URLs itself.

mod support;

use registry_sandbox::RegistryConfig;
use serde_json::{json, Value};
use support::{Layout, TestStack};

const KEY: &str = "registry-key-0123456789";

#[tokio::test(flavor = "multi_thread")]
async fn the_entry_is_registered_verified_and_a_disagreement_is_named() {
    let emulator = registry_sandbox::start(RegistryConfig { api_key: Some(KEY.into()), ..Default::default() })
        .await
        .expect("registry-sandbox");
    let url = emulator.base_url();
    let mut stack = TestStack::start_with(
        Layout::Single,
        &[("SERVICE_REGISTRY_URL", url.as_str()), ("SERVICE_REGISTRY_API_KEY", KEY)],
    )
    .await;

    // What the registry reads: public, GET only, no internal detail.
    let http = reqwest::Client::new();
    let manifest: Value = http
        .get(format!("{}/.well-known/novij/service", stack.api))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(manifest["kind"], "telegram-delivery", "{manifest}");
    assert_eq!(manifest["public_base_url"], json!(stack.api), "{manifest}");
    assert_eq!(manifest["wallet_id"], json!(support::SERVICE_WALLET), "{manifest}");
    assert!(manifest["templates"].as_array().is_some_and(|t| t.contains(&json!("text_message"))), "{manifest}");
    let health = http.get(format!("{}/.well-known/novij/service-health", stack.api)).send().await.expect("get");
    assert_eq!(health.status().as_u16(), 200);
    let health: Value = health.json().await.expect("json");
    assert_eq!((&health["status"], &health["checks"]["nats"]), (&json!("ok"), &json!("ok")), "{health}");
    let post = http.post(format!("{}/.well-known/novij/service", stack.api)).send().await.expect("post");
    assert_eq!(post.status().as_u16(), 405);
    assert_eq!(post.headers().get("allow").and_then(|v| v.to_str().ok()), Some("GET"));

    // Not registered yet; then registered, once.
    let status = stack.cli_run(&["service-registry:status", "--json"]);
    let seen = (status.code, &status.json["entry"], &status.json["current"]);
    assert_eq!(seen, (Some(0), &Value::Null, &json!(false)), "{} {}", status.json, status.stderr);
    let registered = stack.cli_run(&["service-registry:register", "--json"]);
    assert_eq!(registered.code, Some(0), "{}", registered.stderr);
    assert_eq!(registered.json["service_id"], "127.0.0.1", "{}", registered.json);
    assert_eq!(registered.json["manifest_url"], json!(format!("{}/.well-known/novij/service", stack.api)));
    let again = stack.cli_run(&["service-registry:register", "--json"]);
    assert!(again.code == Some(1) && again.stderr.contains("already registered"), "{:?} {}", again.code, again.stderr);
    assert_eq!(stack.cli_run(&["service-registry:status", "--json"]).json["current"], json!(true));
    let verified = stack.cli_run(&["service-registry:verify", "--json"]);
    let outcome = (verified.code, &verified.json["status"]);
    assert_eq!(outcome, (Some(0), &json!("verified")), "{} {}", verified.json, verified.stderr);

    // The registry's entry drifts from what the service says: verify names each field.
    let mut drifted = registered.json.clone();
    // An entry as sent has none of what the registry adds.
    if let Some(fields) = drifted.as_object_mut() {
        for added in ["registered_at", "updated_at", "last_verification"] {
            fields.remove(added);
        }
    }
    drifted["version"] = json!("0.0.1");
    drifted["wallet_id"] = json!("another_wallet");
    let put = http.put(format!("{url}/v1/services/127.0.0.1")).bearer_auth(KEY).json(&drifted).send().await;
    assert_eq!(put.expect("put").status().as_u16(), 200);
    let verify = stack.cli_run(&["service-registry:verify", "--json"]);
    let err = &verify.stderr;
    assert_eq!(verify.code, Some(1), "{err}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(err.contains(&format!("version: the entry says 0.0.1, the manifest {version}")), "{err}");
    assert!(err.contains("wallet_id: the entry says another_wallet"), "{err}");
    assert_eq!(stack.cli_run(&["service-registry:status", "--json"]).json["current"], json!(false));
    let update = stack.cli_run(&["service-registry:update", "--json"]);
    assert_eq!(update.code, Some(0), "{}", update.stderr);
    assert_eq!(stack.cli_run(&["service-registry:verify", "--json"]).json["status"], json!("verified"));

    // A wrong key is refused; a registry that does not answer is a dependency down (exit 3).
    stack.set_env("SERVICE_REGISTRY_API_KEY", "not-the-key");
    let refused = stack.cli_run(&["service-registry:status", "--json"]);
    let (code, err) = (refused.code, &refused.stderr);
    assert!(code == Some(1) && err.contains("refused the API key"), "{code:?} {err}");
    stack.set_env("SERVICE_REGISTRY_URL", &format!("http://127.0.0.1:{}", novij_testkit::free_port()));
    assert_eq!(stack.cli_run(&["service-registry:status", "--json"]).code, Some(3));
}
