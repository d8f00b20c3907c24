//! The Service Registry (docs/REGISTRY.md): the well-known URLs the registry
//! reads, and `service-registry:register|status|update|verify` against the
//! registry emulator, which fetches those URLs itself.

mod support;

use registry_sandbox::RegistryConfig;
use serde_json::{json, Value};
use support::{Layout, TestStack};

const KEY: &str = "registry-key-0123456789";

/// `service-registry:<command> --json`: success, parsed stdout, stderr.
fn registry(stack: &TestStack, command: &str) -> (Option<i32>, Value, String) {
    let out = stack.cli(&[&format!("service-registry:{command}"), "--json"]);
    let parsed = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code(), parsed, String::from_utf8_lossy(&out.stderr).into_owned())
}

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
    let (code, status, _) = registry(&stack, "status");
    assert_eq!((code, &status["entry"], &status["current"]), (Some(0), &Value::Null, &json!(false)), "{status}");
    let (code, registered, err) = registry(&stack, "register");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(registered["service_id"], "127.0.0.1", "{registered}");
    assert_eq!(registered["manifest_url"], json!(format!("{}/.well-known/novij/service", stack.api)));
    let (code, _, err) = registry(&stack, "register");
    assert!(code == Some(1) && err.contains("already registered"), "{code:?} {err}");
    assert_eq!(registry(&stack, "status").1["current"], json!(true));
    let (code, verified, err) = registry(&stack, "verify");
    assert_eq!((code, &verified["status"]), (Some(0), &json!("verified")), "{verified} {err}");

    // The registry's entry drifts from what the service says: verify names each field.
    let mut drifted = registered.clone();
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
    let (code, _, err) = registry(&stack, "verify");
    assert_eq!(code, Some(1), "{err}");
    let version = env!("CARGO_PKG_VERSION");
    assert!(err.contains(&format!("version: the entry says 0.0.1, the manifest {version}")), "{err}");
    assert!(err.contains("wallet_id: the entry says another_wallet"), "{err}");
    assert_eq!(registry(&stack, "status").1["current"], json!(false));
    let (code, _, err) = registry(&stack, "update");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(registry(&stack, "verify").1["status"], json!("verified"));

    // A wrong key is refused; a registry that does not answer is a dependency down (exit 3).
    stack.set_env("SERVICE_REGISTRY_API_KEY", "not-the-key");
    let (code, _, err) = registry(&stack, "status");
    assert!(code == Some(1) && err.contains("refused the API key"), "{code:?} {err}");
    stack.set_env("SERVICE_REGISTRY_URL", &format!("http://127.0.0.1:{}", novij_testkit::free_port()));
    assert_eq!(registry(&stack, "status").0, Some(3));
}
