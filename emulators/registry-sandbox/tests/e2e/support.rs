//! Helpers shared by the end-to-end tests: a running registry, HTTP calls, and
//! a small site serving a manifest and a health for verifications to fetch.

use std::sync::{Arc, Mutex};

use registry_sandbox::{RegistryConfig, RunningRegistry};
use serde_json::{json, Value};
use warp::http::{Response, StatusCode};
use warp::hyper::Body;
use warp::Filter;

pub const KEY: &str = "sandbox-test-key";

pub struct Env {
    pub registry: RunningRegistry,
    pub http: reqwest::Client,
    pub base: String,
    /// Sent as `Authorization: Bearer <key>` on `/v1` calls, when set.
    pub key: Option<&'static str>,
}

/// An empty registry; with a key, the helpers below send it on `/v1` calls.
pub async fn start(api_key: Option<&'static str>) -> Env {
    let registry =
        registry_sandbox::start(RegistryConfig { api_key: api_key.map(str::to_string), ..Default::default() })
            .await
            .expect("registry starts");
    let base = registry.base_url();
    Env { registry, http: reqwest::Client::new(), base, key: api_key }
}

async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("JSON body");
    (status, body)
}

impl Env {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match self.key {
            Some(key) if path.starts_with("/v1") => request.bearer_auth(key),
            _ => request,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        decode(self.request(reqwest::Method::GET, path).send().await.expect("request")).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        decode(self.request(reqwest::Method::POST, path).json(&body).send().await.expect("request")).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        decode(self.request(reqwest::Method::PUT, path).json(&body).send().await.expect("request")).await
    }

    pub async fn send_raw(&self, method: reqwest::Method, path: &str, body: &'static str) -> (u16, Value) {
        let request = self.request(method, path).header("content-type", "application/json").body(body);
        decode(request.send().await.expect("request")).await
    }

    /// Registers an entry, asserting 201.
    pub async fn register(&self, entry: &Value) -> Value {
        let (status, body) = self.post("/v1/services", entry.clone()).await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Asks for a verification of `service_id`, asserting 200.
    pub async fn verify(&self, service_id: &str) -> Value {
        let (status, body) = self.post(&format!("/v1/services/{service_id}/verify"), json!({})).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

/// An entry as the service sends it.
pub fn entry(service_id: &str) -> Value {
    json!({
        "service_id": service_id, "kind": "telegram-delivery", "name": "novij-telegram", "version": "0.1.0",
        "base_url": format!("https://{service_id}"),
        "manifest_url": format!("https://{service_id}/.well-known/novij/service"),
        "health_url": format!("https://{service_id}/.well-known/novij/service-health"),
        "wallet_id": "svc_wallet"
    })
}

/// What one path of the site answers.
#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
}

/// A service's public side, as a verification sees it: `/manifest`, `/health`,
/// and `/moved`, which redirects to `/manifest`. Tests change the answers.
pub struct Site {
    pub base: String,
    manifest: Arc<Mutex<Reply>>,
    health: Arc<Mutex<Reply>>,
}

impl Site {
    /// A healthy service whose manifest agrees with [`Site::entry`].
    pub async fn start() -> Site {
        let manifest = Arc::new(Mutex::new(Reply { status: 200, body: String::new() }));
        let health = Arc::new(Mutex::new(Reply { status: 200, body: json!({"status": "ok"}).to_string() }));
        let (m, h) = (manifest.clone(), health.clone());
        let route = warp::path::full().map(move |path: warp::path::FullPath| {
            let reply = match path.as_str() {
                "/manifest" => m.lock().expect("lock").clone(),
                "/health" => h.lock().expect("lock").clone(),
                "/moved" => {
                    return Response::builder()
                        .status(StatusCode::FOUND)
                        .header("location", "/manifest")
                        .body(Body::empty())
                        .expect("a response");
                }
                _ => Reply { status: 404, body: json!({"error": "not_found"}).to_string() },
            };
            Response::builder()
                .status(reply.status)
                .header("content-type", "application/json")
                .body(Body::from(reply.body))
                .expect("a response")
        });
        let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
        tokio::spawn(server);
        let site = Site { base: format!("http://{addr}"), manifest, health };
        site.set_manifest(200, site.manifest_json());
        site
    }

    /// An entry pointing at this site, agreeing with its initial manifest.
    pub fn entry(&self, service_id: &str) -> Value {
        json!({
            "service_id": service_id, "kind": "telegram-delivery", "name": "novij-telegram", "version": "0.1.0",
            "base_url": self.base, "manifest_url": format!("{}/manifest", self.base),
            "health_url": format!("{}/health", self.base), "wallet_id": "svc_wallet"
        })
    }

    /// The manifest the site serves at first.
    pub fn manifest_json(&self) -> Value {
        json!({
            "kind": "telegram-delivery", "name": "novij-telegram", "version": "0.1.0",
            "public_base_url": self.base, "health_url": format!("{}/health", self.base),
            "openapi_url": format!("{}/openapi.json", self.base), "nats_service": "novij-telegram",
            "wallet_id": "svc_wallet", "templates": ["text_message"],
            "prices": [{"template": "text_message", "payment_mode": "dsr", "amount": "0.5", "asset": "NVJ"}]
        })
    }

    pub fn set_manifest(&self, status: u16, body: Value) {
        *self.manifest.lock().expect("lock") = Reply { status, body: body.to_string() };
    }

    pub fn set_manifest_raw(&self, status: u16, body: &str) {
        *self.manifest.lock().expect("lock") = Reply { status, body: body.to_string() };
    }

    pub fn set_health(&self, status: u16, body: Value) {
        *self.health.lock().expect("lock") = Reply { status, body: body.to_string() };
    }

    pub fn set_health_raw(&self, status: u16, body: &str) {
        *self.health.lock().expect("lock") = Reply { status, body: body.to_string() };
    }
}
