//! Helpers shared by the end-to-end tests: a running sandbox, HTTP calls and
//! a tiny webhook receiver.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use telegram_sandbox::{Limits, RunningSandbox, SandboxConfig};
use warp::Filter;

pub struct Env {
    pub sandbox: RunningSandbox,
    pub http: reqwest::Client,
    pub base: String,
}

pub async fn start() -> Env {
    start_with(SandboxConfig { webhook_retry_base: Duration::from_millis(50), ..SandboxConfig::default() }).await
}

pub async fn start_with(config: SandboxConfig) -> Env {
    let sandbox = telegram_sandbox::start(config).await.expect("sandbox starts");
    let base = sandbox.base_url();
    Env { sandbox, http: reqwest::Client::new(), base }
}

async fn decode(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("JSON body");
    (status, body)
}

impl Env {
    pub async fn call(&self, token: &str, method: &str, params: Value) -> (u16, Value) {
        let response =
            self.http.post(format!("{}/bot{token}/{method}", self.base)).json(&params).send().await.expect("request");
        decode(response).await
    }

    pub async fn call_raw(&self, token: &str, method: &str, params: Value) -> reqwest::Response {
        self.http.post(format!("{}/bot{token}/{method}", self.base)).json(&params).send().await.expect("request")
    }

    /// Calls a method with a `multipart/form-data` body: `fields` as text
    /// parts (objects and arrays as JSON), then `files` as (part name, file
    /// name, bytes).
    pub async fn upload(
        &self,
        token: &str,
        method: &str,
        fields: Value,
        files: &[(&str, &str, &[u8])],
    ) -> (u16, Value) {
        let (content_type, body) = multipart(&fields, files);
        let response = self
            .http
            .post(format!("{}/bot{token}/{method}", self.base))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request");
        decode(response).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.expect("request");
        decode(response).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self.http.post(format!("{}{path}", self.base)).json(&body).send().await.expect("request");
        decode(response).await
    }

    /// Creates a bot; returns (token, id).
    pub async fn create_bot(&self, username: &str) -> (String, i64) {
        let (status, body) = self.post("/sandbox/bots", json!({"username": username, "first_name": "Test Bot"})).await;
        assert_eq!(status, 201, "{body}");
        (body["token"].as_str().expect("token").to_string(), body["id"].as_i64().expect("id"))
    }

    pub async fn create_user(&self, first_name: &str) -> i64 {
        let (status, body) = self.post("/sandbox/users", json!({"first_name": first_name})).await;
        assert_eq!(status, 201, "{body}");
        body["user_id"].as_i64().expect("user_id")
    }

    pub async fn press_start(&self, user_id: i64, bot: &str, payload: Option<&str>) -> Value {
        let (status, body) = self
            .post(&format!("/sandbox/users/{user_id}/start"), json!({"bot_username": bot, "payload": payload}))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// All pending updates through getUpdates (without confirming them).
    pub async fn updates(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.call(token, "getUpdates", json!({})).await;
        assert_eq!(status, 200, "{body}");
        body["result"].as_array().cloned().unwrap_or_default()
    }
}

/// A `multipart/form-data` body: (content type, bytes).
/// A sandbox without flood limits and a user who started `bot`: (env, token, user).
pub async fn started_unlimited(bot: &str) -> (Env, String, i64) {
    let env = start_with(SandboxConfig { limits: Limits::unlimited(), ..SandboxConfig::default() }).await;
    let (token, _) = env.create_bot(bot).await;
    let user = env.create_user("Mia").await;
    env.press_start(user, bot, None).await;
    (env, token, user)
}

pub fn multipart(fields: &Value, files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "sandbox-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields.as_object().into_iter().flatten() {
        let text = value.as_str().map_or_else(|| value.to_string(), str::to_string);
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{text}\r\n").as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

pub fn api_error(code: u16, description: &str) -> Value {
    json!({"ok": false, "error_code": code, "description": description})
}

/// Waits until `check` returns Some, polling for up to 10 seconds.
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("condition not reached in time");
}

/// (secret header, body) of every request a receiver got.
pub type RequestLog = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A webhook endpoint that records requests and answers with scripted statuses.
pub struct Receiver {
    pub addr: SocketAddr,
    pub received: RequestLog,
}

impl Receiver {
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn received(&self) -> Vec<(Option<String>, Value)> {
        self.received.lock().expect("lock").clone()
    }
}

/// Starts a receiver answering the given statuses first, then 200.
pub fn spawn_receiver(statuses: Vec<u16>) -> Receiver {
    let received: RequestLog = Arc::default();
    let script = Arc::new(Mutex::new(VecDeque::from(statuses)));
    let log = received.clone();
    let route = warp::post()
        .and(warp::path("hook"))
        .and(warp::header::optional::<String>("x-telegram-bot-api-secret-token"))
        .and(warp::body::json())
        .map(move |secret: Option<String>, body: Value| {
            log.lock().expect("lock").push((secret, body));
            let status = script.lock().expect("lock").pop_front().unwrap_or(200);
            warp::reply::with_status("", warp::http::StatusCode::from_u16(status).expect("status"))
        });
    let (addr, server) = warp::serve(route).bind_ephemeral(([127, 0, 0, 1], 0));
    tokio::spawn(server);
    Receiver { addr, received }
}

impl Env {
    /// Creates a group; returns its chat id.
    pub async fn create_group(&self, title: &str, kind: &str, members: &[i64]) -> i64 {
        let (status, body) =
            self.post("/sandbox/groups", json!({"title": title, "kind": kind, "members": members})).await;
        assert_eq!(status, 201, "{body}");
        body["chat_id"].as_i64().expect("chat_id")
    }

    /// Adds a bot to a group; returns the control API's answer.
    pub async fn add_bot_to_group(&self, chat_id: i64, bot: &str, payload: Option<&str>) -> Value {
        let (status, body) = self
            .post(&format!("/sandbox/groups/{chat_id}/bots"), json!({"bot_username": bot, "start_payload": payload}))
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Confirms every pending update of a bot (getUpdates with an offset past them).
    pub async fn drain_updates(&self, token: &str) {
        let pending = self.updates(token).await;
        if let Some(last) = pending.last().and_then(|u| u["update_id"].as_i64()) {
            let (status, body) = self.call(token, "getUpdates", json!({"offset": last + 1})).await;
            assert_eq!(status, 200, "{body}");
        }
    }
}

/// The `User` object of a bot created by [`Env::create_bot`].
pub fn bot_user(id: i64, username: &str) -> Value {
    json!({"id": id, "is_bot": true, "first_name": "Test Bot", "username": username})
}

/// The `User` object of a user created by [`Env::create_user`].
pub fn plain_user(id: i64, first_name: &str) -> Value {
    json!({"id": id, "is_bot": false, "first_name": first_name})
}

/// A copy with every "date" set to 0 (after checking it is a plausible unix
/// time), so whole bodies can be compared exactly.
pub fn without_dates(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    if key == "date" {
                        assert!(v.as_i64().is_some_and(|d| d > 1_600_000_000), "bad date {v}");
                        (key.clone(), json!(0))
                    } else {
                        (key.clone(), without_dates(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_dates).collect()),
        other => other.clone(),
    }
}
