//! Helpers shared by the end-to-end tests: a running ledger and HTTP calls.

use relay_sandbox::{RelayConfig, RunningRelay};
use serde_json::{json, Value};

pub const KEY: &str = "sandbox-test-key";

pub struct Env {
    pub relay: RunningRelay,
    pub http: reqwest::Client,
    pub base: String,
}

/// A ledger with `payer` holding 100 and an empty `service` wallet.
pub async fn start(api_key: Option<&str>) -> Env {
    let relay = relay_sandbox::start(RelayConfig {
        api_key: api_key.map(str::to_string),
        wallets: vec![("payer".into(), "100".parse().unwrap()), ("service".into(), "0".parse().unwrap())],
        ..RelayConfig::default()
    })
    .await
    .expect("relay starts");
    let base = relay.base_url();
    Env { relay, http: reqwest::Client::new(), base }
}

async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("JSON body");
    (status, body)
}

impl Env {
    pub async fn get(&self, path: &str) -> (u16, Value) {
        decode(self.http.get(format!("{}{path}", self.base)).send().await.expect("request")).await
    }

    pub async fn get_with_key(&self, path: &str, key: &str) -> (u16, Value) {
        let request = self.http.get(format!("{}{path}", self.base)).bearer_auth(key);
        decode(request.send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        decode(self.http.post(format!("{}{path}", self.base)).json(&body).send().await.expect("request")).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        decode(self.http.put(format!("{}{path}", self.base)).json(&body).send().await.expect("request")).await
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> (u16, Value) {
        let request = self.http.post(format!("{}{path}", self.base)).header("content-type", "application/json");
        decode(request.body(body).send().await.expect("request")).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        decode(self.http.delete(format!("{}{path}", self.base)).send().await.expect("request")).await
    }

    /// Creates a transfer and returns its hash, asserting 201.
    pub async fn transfer(&self, body: Value) -> String {
        let (status, body) = self.post("/relay/transfers", body).await;
        assert_eq!(status, 201, "{body}");
        body["tx_hash"].as_str().expect("tx_hash").to_string()
    }

    pub async fn balance(&self, wallet_id: &str) -> String {
        let (status, body) = self.get(&format!("/relay/wallets/{wallet_id}")).await;
        assert_eq!(status, 200, "{body}");
        body["balance"].as_str().expect("balance").to_string()
    }

    /// The transaction as the control API shows it (not counted as a lookup).
    pub async fn tx(&self, tx_hash: &str) -> Value {
        let (status, body) = self.get(&format!("/relay/transactions/{tx_hash}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

pub fn pay(amount: &str) -> Value {
    json!({"from_wallet_id": "payer", "to_wallet_id": "service", "amount": amount, "memo": "code-1"})
}
