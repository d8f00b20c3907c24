//! Signed requests (`REQUIRE_SIGNATURES=true`): a project key's
//! state-changing request must be signed by the wallet that owns what it
//! acts on, with the public key Relay has for that wallet. A refused request
//! writes nothing. The same holds over NATS, and a signature spent on one
//! transport cannot be replayed on the other.

mod support;

use std::process::Command;

use base64::Engine as _;
use novij_events::subjects::EVENTS_STREAM;
use novij_ingress::signatures::{message, SIGNATURE_HEADER, TIMESTAMP_HEADER, WALLET_HEADER};
use ring::signature::{Ed25519KeyPair, KeyPair as _};
use serde_json::{json, Value};
use support::{Layout, Response, TestStack, WAIT};
use warp::http::Method;

const PROJECT: &str = "p_signed";
const KEY: &str = "signed-project-key-0123456789";
const OWNER: &str = "w_owner";
const STRANGER: &str = "w_stranger";
const OWNER_SEED: [u8; 32] = [7; 32];
const STRANGER_SEED: [u8; 32] = [8; 32];

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pair(seed: &[u8; 32]) -> Ed25519KeyPair {
    Ed25519KeyPair::from_seed_unchecked(seed).expect("seed")
}

/// The signature headers of `method path body` by `wallet` with `seed`, at `timestamp`.
fn signed(
    wallet: &str,
    seed: &[u8; 32],
    method: &Method,
    path: &str,
    body: &[u8],
    timestamp: i64,
) -> Vec<(String, String)> {
    let signature = pair(seed).sign(message(method, path, timestamp, body).as_bytes());
    vec![
        (WALLET_HEADER.into(), wallet.into()),
        (TIMESTAMP_HEADER.into(), timestamp.to_string()),
        (SIGNATURE_HEADER.into(), b64(signature.as_ref())),
    ]
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn post(stack: &TestStack, path: &str, body: &[u8], headers: &[(String, String)]) -> Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", stack.api))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    Response { status, body: response.json().await.unwrap_or(Value::Null) }
}

fn code(r: &Response) -> &str {
    r.body["error"]["code"].as_str().unwrap_or_default()
}

async fn stack() -> TestStack {
    let keys = format!("{PROJECT}:{KEY}");
    let stack =
        TestStack::start_with(Layout::Single, &[("REQUIRE_SIGNATURES", "true"), ("PROJECT_API_KEYS", &keys)]).await;
    for (wallet, seed) in [(OWNER, &OWNER_SEED), (STRANGER, &STRANGER_SEED)] {
        let public_key = b64(pair(seed).public_key().as_ref());
        stack.relay_post("/relay/wallets", json!({"wallet_id": wallet, "public_key": public_key})).await;
    }
    stack
}

fn send_body(integration: &str, key: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "project_id": PROJECT, "integration_id": integration, "recipient_ref": "ann",
        "template": "text_message", "template_vars": {"text": "signed hello"}, "idempotency_key": key
    }))
    .expect("json")
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_owners_fresh_signature_of_this_very_request_is_accepted() {
    let stack = stack().await;
    // The admin key needs no signature.
    let integration = stack.create_integration_with(PROJECT, None, json!({"owner_wallet_id": OWNER})).await;
    stack.connect_user(PROJECT, &integration, "ann").await;
    stack.wait_settled().await;

    let path = "/api/v1/send";
    let body = send_body(&integration, "k1");
    let valid = signed(OWNER, &OWNER_SEED, &Method::POST, path, &body, now());
    let before = stack.stream_last_sequence(EVENTS_STREAM).await;

    let refusals = [
        ("unsigned", post(&stack, path, &body, &[]).await, 401, "signature_required"),
        (
            "wrong key",
            post(&stack, path, &body, &signed(OWNER, &STRANGER_SEED, &Method::POST, path, &body, now())).await,
            401,
            "signature_invalid",
        ),
        (
            "stale timestamp",
            post(&stack, path, &body, &signed(OWNER, &OWNER_SEED, &Method::POST, path, &body, now() - 301)).await,
            401,
            "signature_expired",
        ),
        ("body changed", post(&stack, path, &send_body(&integration, "k2"), &valid).await, 401, "signature_invalid"),
        (
            "another wallet",
            post(&stack, path, &body, &signed(STRANGER, &STRANGER_SEED, &Method::POST, path, &body, now())).await,
            403,
            "wallet_not_owner",
        ),
        (
            "unknown wallet",
            post(&stack, path, &body, &signed("w_nobody", &OWNER_SEED, &Method::POST, path, &body, now())).await,
            401,
            "wallet_unknown",
        ),
    ];
    for (case, response, status, expected) in &refusals {
        assert_eq!((response.status, code(response)), (*status, *expected), "{case}: {}", response.body);
        assert!(response.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{case}");
    }
    stack.wait_idle().await;
    assert_eq!(stack.stream_last_sequence(EVENTS_STREAM).await, before, "a refused request wrote something");

    let accepted = post(&stack, path, &body, &valid).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let send_id = accepted.body["send_id"].as_str().expect("send_id").to_string();
    stack.wait_send(&send_id, "sent").await;
    stack.wait_idle().await;

    let after = stack.stream_last_sequence(EVENTS_STREAM).await;
    let replayed = post(&stack, path, &body, &valid).await;
    assert_eq!((replayed.status, code(&replayed)), (401, "signature_replayed"), "{}", replayed.body);
    stack.wait_idle().await;
    assert_eq!(stack.stream_last_sequence(EVENTS_STREAM).await, after, "a replay wrote something");

    // A read needs no signature.
    let read = stack.request(reqwest::Method::GET, &format!("/api/v1/sends/{send_id}"), None, Some(KEY)).await;
    assert_eq!(read.status, 200, "{}", read.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_integration_is_signed_by_the_wallet_it_names() {
    let stack = stack().await;
    let path = "/api/v1/integrations";
    let body = |wallet: &str| {
        serde_json::to_vec(&json!({
            "project_id": PROJECT, "owner_wallet_id": wallet, "bot_mode": "common", "payment_mode": "none",
            "default_reminder_minutes": 30
        }))
        .expect("json")
    };
    let by_stranger = signed(STRANGER, &STRANGER_SEED, &Method::POST, path, &body(OWNER), now());
    let refused = post(&stack, path, &body(OWNER), &by_stranger).await;
    assert_eq!((refused.status, code(&refused)), (403, "wallet_not_owner"), "{}", refused.body);
    let by_owner = signed(OWNER, &OWNER_SEED, &Method::POST, path, &body(OWNER), now());
    let created = post(&stack, path, &body(OWNER), &by_owner).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["integration_id"].as_str().expect("integration_id").to_string();

    // Changing it takes the owner's signature too; the admin key none.
    let patch = format!("/api/v1/integrations/{id}");
    let change = serde_json::to_vec(&json!({"default_reminder_minutes": 45})).expect("json");
    let mut request =
        reqwest::Client::new().patch(format!("{}{patch}", stack.api)).bearer_auth(KEY).body(change.clone());
    for (name, value) in signed(STRANGER, &STRANGER_SEED, &Method::PATCH, &patch, &change, now()) {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("patch");
    assert_eq!(response.status().as_u16(), 403);
    let by_admin = stack.patch(&patch, json!({"default_reminder_minutes": 50})).await;
    assert_eq!(by_admin.status, 200, "{}", by_admin.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn over_nats_the_same_signature_holds_once_across_both_transports() {
    let stack = stack().await;
    let integration = stack.create_integration_with(PROJECT, None, json!({"owner_wallet_id": OWNER})).await;
    stack.connect_user(PROJECT, &integration, "ann").await;
    let nats = stack.nats_as(&novij_bus::auth::project_user(PROJECT)).await;
    let body = send_body(&integration, "nats-1");
    // The REST path is what is signed, whichever transport carries it.
    let headers = signed(OWNER, &OWNER_SEED, &Method::POST, "/api/v1/send", &body, now());

    let ask = |headers: Vec<(String, String)>, body: Vec<u8>| {
        let nats = nats.clone();
        async move {
            let mut map = async_nats::HeaderMap::new();
            map.insert("Authorization", format!("Bearer {KEY}").as_str());
            for (name, value) in &headers {
                map.insert(name.as_str(), value.as_str());
            }
            let reply =
                tokio::time::timeout(WAIT, nats.request_with_headers("nt.api.v1.sends.create", map, body.into()))
                    .await
                    .expect("answered in time")
                    .expect("request");
            let status = reply.headers.as_ref().and_then(|h| h.get("Novij-Status")).map(|v| v.as_str().to_string());
            let body: Value = serde_json::from_slice(&reply.payload).expect("json");
            (status.and_then(|s| s.parse::<u16>().ok()).expect("Novij-Status"), body)
        }
    };
    let (status, unsigned) = ask(Vec::new(), body.clone()).await;
    assert_eq!((status, unsigned["error"]["code"].as_str()), (401, Some("signature_required")), "{unsigned}");
    let (status, accepted) = ask(headers.clone(), body.clone()).await;
    assert_eq!(status, 202, "{accepted}");
    let (status, replayed) = ask(headers.clone(), body.clone()).await;
    assert_eq!((status, replayed["error"]["code"].as_str()), (401, Some("signature_replayed")), "{replayed}");
    let over_rest = post(&stack, "/api/v1/send", &body, &headers).await;
    assert_eq!((over_rest.status, code(&over_rest)), (401, "signature_replayed"), "{}", over_rest.body);
}

/// docs/examples/signed_request.py, the README's client, signs a real request.
#[tokio::test(flavor = "multi_thread")]
async fn a_python_client_with_the_cryptography_package_signs_a_send() {
    let stack = stack().await;
    let integration = stack.create_integration_with(PROJECT, None, json!({"owner_wallet_id": OWNER})).await;
    stack.connect_user(PROJECT, &integration, "ann").await;
    let python = std::env::var("TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples/signed_request.py");
    let body = String::from_utf8(send_body(&integration, "from-python")).expect("utf-8");
    let run = |body: &str| {
        let out = Command::new(&python)
            .args([script, &stack.api, KEY, OWNER, &hex(&OWNER_SEED), "POST", "/api/v1/send", body])
            .env("PYTHONPATH", std::env::var("TEST_PYTHONPATH").unwrap_or_default())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {python} (TEST_PYTHON; scripts/bootstrap.sh sets it): {e}"));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Value>(&out.stdout).expect("the client's json")
    };
    let answer = run(&body);
    assert_eq!(answer["status"], 202, "{answer}");
    let send_id = answer["body"]["send_id"].as_str().expect("send_id");
    stack.wait_send(send_id, "sent").await;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A flood of state-changing requests is throttled by the key's rate before
/// any signature is looked at: nothing reaches Relay or the replay bucket
/// unthrottled.
#[tokio::test(flavor = "multi_thread")]
async fn the_keys_rate_is_counted_before_the_signature_is_checked() {
    let keys = format!("{PROJECT}:{KEY}");
    let env = [
        ("REQUIRE_SIGNATURES", "true"),
        ("PROJECT_API_KEYS", keys.as_str()),
        ("API_RATE_PER_SECOND", "1"),
        ("API_RATE_BURST", "2"),
    ];
    let stack = TestStack::start_with(Layout::Single, &env).await;
    let body = send_body("int_0", "flood");
    let mut refusals = Vec::new();
    for _ in 0..6 {
        refusals.push(post(&stack, "/api/v1/send", &body, &[]).await);
    }
    let codes: Vec<(u16, &str)> = refusals.iter().map(|r| (r.status, code(r))).collect();
    assert_eq!(codes[0], (401, "signature_required"), "{codes:?}");
    assert!(codes.iter().any(|c| c.0 == 429), "never throttled: {codes:?}");
}
