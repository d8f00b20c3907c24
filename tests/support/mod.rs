//! `TestStack`: a whole deployment for one test — a throwaway nats-server (or
//! a cluster of them), a fresh Postgres database, the Telegram sandbox, and the services as
//! separate `novij-telegram serve …` processes — plus helpers that act through
//! the public surfaces (HTTP API, sandbox control API).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use novij_testkit::{
    eventually, free_port, tcp_proxy, NatsCluster, NatsServer, ServiceProcess, TcpProxy, TestDatabase,
};
use relay_sandbox::{RelayConfig, RunningRelay};
use serde_json::{json, Value};
use telegram_sandbox::{BotSeed, Limits, RunningSandbox, SandboxConfig};

pub mod nats_users;
pub mod receiver;

pub use nats_users::NatsUsers;

pub const SERVICES: &[&str] = &["ingress", "dispatcher", "connect", "payment-verifier", "scheduler"];
pub const COMMON_BOT: &str = "novij_test_bot";
pub const WAIT: Duration = Duration::from_secs(20);
/// The service's wallet on the Relay emulator, and a payer with funds.
pub const SERVICE_WALLET: &str = "svc_wallet";
pub const PAYER_WALLET: &str = "payer_wallet";
/// The streams whose durable consumers [`TestStack::wait_idle`] waits for:
/// the event log, the dispatch queue, and the Telegram updates (a `/stop`
/// reaches the log through them).
pub const WORK_STREAMS: &[&str] = &["EVENTS", "DISPATCH", "TG_UPDATES"];
/// The consumers that only read what happened (the projections, the project
/// feeds): [`TestStack::wait_idle`] does not wait for them, [`TestStack::wait_settled`] does.
pub const READ_SIDE: &[&str] = &["feed"];
/// Durable consumers that hold their messages by design until a time comes
/// (`scheduler-commands`: each open command until its deadline); their
/// messages in flight are not work waiting to be done.
const HOLDING: &[&str] = &["scheduler-commands"];
/// How long [`TestStack::wait_idle`] waits: longer than the longest ack wait
/// (30 s), so a message held by a killed process is redelivered and finished
/// within it.
pub const IDLE_WAIT: Duration = Duration::from_secs(45);
/// The gap between the two idle looks that must agree.
const IDLE_RECHECK: Duration = Duration::from_millis(250);

/// How the services run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// One process per service.
    Separate,
    /// `serve all` in one process.
    Single,
}

/// The NATS a stack runs on.
pub enum Nats {
    // Boxed: a server is several times the size of a cluster's handle.
    Single(Box<NatsServer>),
    Cluster(NatsCluster),
}

impl Nats {
    /// What the services get as `NATS_URL`: the server, or the cluster's seeds.
    pub fn url(&self) -> String {
        match self {
            Nats::Single(server) => server.url(),
            Nats::Cluster(cluster) => cluster.urls(),
        }
    }

    pub fn server(&self) -> &NatsServer {
        match self {
            Nats::Single(server) => server,
            Nats::Cluster(_) => panic!("the stack runs on a NATS cluster, not a single server"),
        }
    }

    pub fn server_mut(&mut self) -> &mut NatsServer {
        match self {
            Nats::Single(server) => server,
            Nats::Cluster(_) => panic!("the stack runs on a NATS cluster, not a single server"),
        }
    }

    pub fn cluster(&self) -> &NatsCluster {
        match self {
            Nats::Cluster(cluster) => cluster,
            Nats::Single(_) => panic!("the stack runs on a single NATS server, not a cluster"),
        }
    }

    pub fn cluster_mut(&mut self) -> &mut NatsCluster {
        match self {
            Nats::Cluster(cluster) => cluster,
            Nats::Single(_) => panic!("the stack runs on a single NATS server, not a cluster"),
        }
    }
}

pub struct TestStack {
    pub nats: Nats,
    pub db: TestDatabase,
    /// Between the services and Postgres, when the stack was started behind one.
    pub pg_proxy: Option<TcpProxy>,
    pub sandbox: RunningSandbox,
    pub relay: RunningRelay,
    pub services: BTreeMap<String, ServiceProcess>,
    /// The NATS users; `env` connects as `admin`, each service as its own.
    pub nats_users: NatsUsers,
    pub env: Vec<(String, String)>,
    pub api: String,
    pub admin_key: String,
    pub common_token: String,
    http: reqwest::Client,
}

pub struct Response {
    pub status: u16,
    pub body: Value,
}

fn common_token() -> String {
    format!("7{:09}:AAtest{}", rand_digits(), uuid::Uuid::new_v4().simple())
}

fn rand_digits() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32 % 1_000_000_000
}

/// One throwaway nats-server that knows `users`.
async fn single(users: &NatsUsers) -> Nats {
    Nats::Single(Box::new(NatsServer::start_with_config(&users.config).await.expect("nats-server")))
}

impl TestStack {
    pub async fn start(layout: Layout) -> TestStack {
        Self::start_with(layout, &[]).await
    }

    /// A stack whose services get `extra` settings on top of the defaults.
    pub async fn start_with(layout: Layout, extra: &[(&str, &str)]) -> TestStack {
        Self::start_custom(layout, 1, Limits::telegram(), extra).await
    }

    /// A stack with `dispatchers` dispatcher processes (named `dispatcher`,
    /// `dispatcher-2`, …) and the sandbox enforcing `limits`.
    pub async fn start_custom(layout: Layout, dispatchers: usize, limits: Limits, extra: &[(&str, &str)]) -> TestStack {
        let users = NatsUsers::new(extra);
        Self::start_on(single(&users).await, users, layout, dispatchers, limits, extra, false).await
    }

    /// A stack whose services reach Postgres through a [`TcpProxy`] the test
    /// can cut ([`TestStack::pg_proxy`]); the test itself connects directly.
    pub async fn start_behind_pg_proxy(layout: Layout, extra: &[(&str, &str)]) -> TestStack {
        let users = NatsUsers::new(extra);
        Self::start_on(single(&users).await, users, layout, 1, Limits::telegram(), extra, true).await
    }

    /// [`TestStack::start_custom`] with separate processes on a cluster of
    /// `nodes` NATS servers: the services get every node as a seed and
    /// replicate every stream and bucket three times (or on every node, if fewer).
    pub async fn start_on_cluster(
        nodes: usize,
        dispatchers: usize,
        limits: Limits,
        extra: &[(&str, &str)],
    ) -> TestStack {
        let users = NatsUsers::new(extra);
        let cluster = NatsCluster::start_with_config(nodes, &users.config).await.expect("nats cluster");
        let replicas = nodes.min(3).to_string();
        let extra: Vec<(&str, &str)> =
            [("NATS_STREAM_REPLICAS", replicas.as_str())].into_iter().chain(extra.iter().copied()).collect();
        Self::start_on(Nats::Cluster(cluster), users, Layout::Separate, dispatchers, limits, &extra, false).await
    }

    async fn start_on(
        nats: Nats,
        nats_users: NatsUsers,
        layout: Layout,
        dispatchers: usize,
        limits: Limits,
        extra: &[(&str, &str)],
        proxy_pg: bool,
    ) -> TestStack {
        let db = TestDatabase::create().await.expect("test database");
        let pg_proxy = match proxy_pg {
            true => Some(TcpProxy::start(&tcp_proxy::target_of(db.url()).expect("url")).await.expect("proxy")),
            false => None,
        };
        let services_db_url = match &pg_proxy {
            Some(proxy) => tcp_proxy::through(db.url(), proxy).expect("url"),
            None => db.url().to_string(),
        };
        let common_token = common_token();
        let sandbox = telegram_sandbox::start(SandboxConfig {
            bots: vec![BotSeed {
                token: common_token.clone(),
                username: COMMON_BOT.into(),
                first_name: "Novij".into(),
            }],
            limits,
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox");
        let relay = relay_sandbox::start(RelayConfig {
            wallets: vec![
                (SERVICE_WALLET.into(), "0".parse().expect("amount")),
                (PAYER_WALLET.into(), "1000000".parse().expect("amount")),
            ],
            ..RelayConfig::default()
        })
        .await
        .expect("relay sandbox");
        let port = free_port();
        let api = format!("http://127.0.0.1:{port}");
        let admin_key = format!("admin-{}", uuid::Uuid::new_v4().simple());
        let master_keys = novij_crypto::Keyring::generate_spec("k1").expect("key");
        // A lookup key of its own, as a deployment has: not the master key's.
        let lookup_key = novij_crypto::Keyring::generate_spec("lookup").expect("key").replace("lookup:", "");
        let env: Vec<(String, String)> = [
            ("NATS_URL", nats.url()),
            ("DATABASE_URL", services_db_url),
            ("NOVIJ_MASTER_KEYS", master_keys),
            ("NOVIJ_LOOKUP_KEY", lookup_key),
            ("TELEGRAM_API_BASE_URL", sandbox.base_url()),
            ("TELEGRAM_COMMON_BOT_TOKEN", common_token.clone()),
            ("PUBLIC_BASE_URL", api.clone()),
            ("HTTP_LISTEN", format!("127.0.0.1:{port}")),
            ("ADMIN_API_KEY", admin_key.clone()),
            ("SERVICE_WALLET_ID", SERVICE_WALLET.into()),
            ("RELAY_API_BASE_URL", relay.base_url()),
            ("LOG_FORMAT", "json".into()),
            ("RUST_LOG", "debug".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .chain(nats_users.settings(novij_bus::auth::ADMIN))
        .chain(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .collect();
        let mut stack = TestStack {
            nats,
            db,
            pg_proxy,
            sandbox,
            relay,
            services: BTreeMap::new(),
            nats_users,
            env,
            api,
            admin_key,
            common_token,
            http: reqwest::Client::new(),
        };
        let out = stack.cli(&["migrate"]);
        assert!(out.status.success(), "migrate failed: {}", String::from_utf8_lossy(&out.stderr));
        // Every process at once, as an orchestrator starts them: none waits for
        // another to have applied the topology.
        match layout {
            Layout::Separate => {
                for svc in SERVICES {
                    stack.spawn(svc, &["serve", svc]);
                }
                for n in 2..=dispatchers {
                    stack.spawn(&format!("dispatcher-{n}"), &["serve", "dispatcher"]);
                }
            }
            Layout::Single => stack.spawn("all", &["serve", "all"]),
        }
        stack.wait_ready().await;
        stack
    }

    /// Waits until every service process is started and the API is healthy.
    /// The services' key ring, as their environment gives it.
    pub fn keyring(&self) -> novij_crypto::Keyring {
        let setting = |name: &str| self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let ring = novij_crypto::Keyring::parse(&setting("NOVIJ_MASTER_KEYS").expect("master keys")).expect("keys");
        match setting("NOVIJ_LOOKUP_KEY") {
            Some(key) => ring.with_lookup_key(&key).expect("lookup key"),
            None => ring,
        }
    }

    /// Sets a service setting for the processes spawned from now on.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_string(), value.to_string()));
    }

    pub async fn wait_ready(&self) {
        for (name, process) in &self.services {
            let line = if name.starts_with("dispatcher") || name == "all" {
                "answering bot.verify requests"
            } else {
                "\"started\""
            };
            if let Err(e) = process.wait_for_line(line, WAIT).await {
                panic!("{name} did not start ({e}):\n{}", process.output());
            }
        }
        self.wait_healthy().await;
    }

    /// Spawns `novij-telegram <args>` as `name`; `serve <service>` connects
    /// to NATS as that service's user.
    pub fn spawn(&mut self, name: &str, args: &[&str]) {
        let bin = std::path::Path::new(env!("CARGO_BIN_EXE_novij-telegram"));
        let mut env = self.env.clone();
        if let ["serve", service] = args {
            env.retain(|(k, _)| k != "NATS_USER" && k != "NATS_PASSWORD");
            env.extend(self.nats_users.settings(service));
        }
        let process = ServiceProcess::spawn(name, bin, args, &env).expect("spawn service");
        self.services.insert(name.to_string(), process);
    }

    pub fn service(&mut self, name: &str) -> &mut ServiceProcess {
        self.services.get_mut(name).expect("no such service")
    }

    /// Runs a CLI command with the stack's environment.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_novij-telegram"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .expect("run novij-telegram")
    }

    /// Runs a CLI command with the stack's environment and collects what it said.
    pub fn cli_run(&self, args: &[&str]) -> CliRun {
        let out = self.cli(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
        CliRun { code: out.status.code(), stderr: String::from_utf8_lossy(&out.stderr).into_owned(), stdout, json }
    }
}

/// What a CLI command did ([`TestStack::cli_run`]).
pub struct CliRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// stdout as JSON; `Null` when it is not JSON.
    pub json: Value,
}

impl CliRun {
    /// Whether it exited with 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

impl TestStack {
    pub async fn wait_healthy(&self) {
        let url = format!("{}/api/v1/health", self.api);
        let http = self.http.clone();
        let ok = eventually(WAIT, || {
            let (http, url) = (http.clone(), url.clone());
            async move { http.get(&url).send().await.ok().filter(|r| r.status().is_success()).map(|_| ()) }
        })
        .await;
        if ok.is_err() {
            panic!("API never became healthy; output:\n{}", self.output());
        }
    }

    /// Everything every service process printed.
    pub fn output(&self) -> String {
        self.services.values().map(|p| p.output()).collect::<Vec<_>>().join("\n")
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Response {
        let mut req = self.http.request(method, format!("{}{path}", self.api));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Response { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    pub async fn patch(&self, path: &str, body: Value) -> Response {
        self.request(reqwest::Method::PATCH, path, Some(body), Some(&self.admin_key)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Response {
        self.request(reqwest::Method::POST, path, Some(body), Some(&self.admin_key)).await
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path, None, Some(&self.admin_key)).await
    }

    /// POSTs raw bytes with a content type (for malformed bodies).
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> Response {
        let resp = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(&self.admin_key)
            .header("content-type", "application/json")
            // The server may answer (413) without reading the body; such a
            // connection must not be reused by the next request.
            .header("connection", "close")
            .body(body)
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Response { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    /// `POST /api/v1/uploads` of `bytes` as the file `name` of type `content_type`.
    pub async fn upload(&self, project_id: &str, bytes: Vec<u8>, name: &str, content_type: &str) -> Response {
        let file = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()).mime_str(content_type);
        let form = reqwest::multipart::Form::new()
            .text("project_id", project_id.to_string())
            .part("file", file.expect("content type"));
        let resp = self
            .http
            .post(format!("{}/api/v1/uploads", self.api))
            .bearer_auth(&self.admin_key)
            .header("connection", "close")
            .multipart(form)
            .send()
            .await
            .expect("upload");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        Response { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) }
    }

    pub async fn sandbox_post(&self, path: &str, body: Value) -> Value {
        let resp =
            self.http.post(format!("{}{path}", self.sandbox.base_url())).json(&body).send().await.expect("sandbox");
        assert!(resp.status().is_success(), "sandbox {path}: {}", resp.status());
        resp.json().await.expect("sandbox json")
    }

    pub async fn sandbox_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.sandbox.base_url()))
            .send()
            .await
            .expect("sandbox")
            .json()
            .await
            .expect("json")
    }

    /// Messages the bot sent, as the sandbox recorded them.
    pub async fn sent(&self, bot_username: &str) -> Vec<Value> {
        self.sandbox_get(&format!("/sandbox/bots/{bot_username}/sent")).await.as_array().cloned().unwrap_or_default()
    }

    /// What the common bot sent or edited in `chat`, in order.
    pub async fn sent_to(&self, chat: i64) -> Vec<Value> {
        let path = format!("/sandbox/bots/{COMMON_BOT}/sent?chat_id={chat}");
        self.sandbox_get(&path).await.as_array().cloned().unwrap_or_default()
    }

    pub async fn create_integration(&self, project_id: &str, custom_token: Option<&str>) -> String {
        self.create_integration_with(project_id, custom_token, json!({})).await
    }

    /// An integration with `overrides` (e.g. `{"payment_mode": "dsr"}`) on top of the defaults.
    pub async fn create_integration_with(
        &self,
        project_id: &str,
        custom_token: Option<&str>,
        overrides: Value,
    ) -> String {
        let mut body = json!({
            "project_id": project_id, "owner_wallet_id": "wallet_1", "bot_mode": "common",
            "payment_mode": "none", "default_reminder_minutes": 30
        });
        for (k, v) in overrides.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        if let Some(token) = custom_token {
            body["bot_mode"] = json!("custom");
            body["custom_bot_token"] = json!(token);
        }
        let r = self.post("/api/v1/integrations", body).await;
        assert_eq!(r.status, 201, "create integration: {}", r.body);
        r.body["integration_id"].as_str().expect("integration_id").to_string()
    }

    /// A sandbox user opens a fresh connect link; returns their chat id once bound.
    pub async fn connect_user(&self, project_id: &str, integration_id: &str, user_ref: &str) -> i64 {
        let r = self
            .post(
                "/api/v1/telegram/connect-codes",
                json!({"project_id": project_id, "integration_id": integration_id, "public_user_ref": user_ref}),
            )
            .await;
        assert_eq!(r.status, 201, "connect code: {}", r.body);
        let link = r.body["deep_link"].as_str().expect("deep_link").to_string();
        let (bot, code) =
            link.strip_prefix("https://t.me/").and_then(|rest| rest.split_once("?start=")).expect("deep link shape");
        let user = self.sandbox_post("/sandbox/users", json!({"first_name": "Ann"})).await;
        let user_id = user["user_id"].as_i64().expect("user_id");
        self.sandbox_post(&format!("/sandbox/users/{user_id}/start"), json!({"bot_username": bot, "payload": code}))
            .await;
        let path = format!("/api/v1/integrations/{integration_id}/recipients?public_user_ref={user_ref}");
        let bound = eventually(WAIT, || async {
            let r = self.get(&path).await;
            r.body.as_array()?.iter().any(|x| x["public_user_ref"] == user_ref && x["status"] == "active").then_some(())
        })
        .await;
        assert!(bound.is_ok(), "user never bound; output:\n{}", self.output());
        let welcomed = eventually(WAIT, || async {
            let sent = self.sent(bot).await;
            sent.iter()
                .any(|m| m["chat_id"] == user_id && m["text"].as_str().is_some_and(|t| t.starts_with("✅ Connected")))
                .then_some(())
        })
        .await;
        assert!(welcomed.is_ok(), "the welcome never arrived; output:\n{}", self.output());
        user_id
    }

    /// A sandbox group of `members` (sandbox user ids), bound as `user_ref`
    /// through `?startgroup=` by its first member; the group's chat id once
    /// it is bound and welcomed.
    pub async fn connect_group(&self, project_id: &str, integration_id: &str, user_ref: &str, members: &[i64]) -> i64 {
        let group = self.sandbox_post("/sandbox/groups", json!({"title": "Ops", "members": members})).await;
        let group_id = group["chat_id"].as_i64().expect("chat_id");
        let code = self
            .post(
                "/api/v1/telegram/connect-codes",
                json!({"project_id": project_id, "integration_id": integration_id, "public_user_ref": user_ref}),
            )
            .await;
        assert_eq!(code.status, 201, "connect code: {}", code.body);
        let link = code.body["group_deep_link"].as_str().expect("group_deep_link").to_string();
        let (bot, payload) = link
            .strip_prefix("https://t.me/")
            .and_then(|rest| rest.split_once("?startgroup="))
            .expect("group deep link shape");
        self.sandbox_post(
            &format!("/sandbox/groups/{group_id}/bots"),
            json!({"bot_username": bot, "start_payload": payload, "from_user_id": members[0]}),
        )
        .await;
        let path = format!("/api/v1/integrations/{integration_id}/recipients?public_user_ref={user_ref}");
        let bound = eventually(WAIT, || async {
            let r = self.get(&path).await;
            r.body
                .as_array()?
                .iter()
                .any(|x| x["public_user_ref"] == user_ref && x["chat_kind"] == "group")
                .then_some(())
        })
        .await;
        assert!(bound.is_ok(), "the group was never bound; output:\n{}", self.output());
        let welcomed =
            eventually(WAIT, || async { self.sent(bot).await.iter().any(|m| m["chat_id"] == group_id).then_some(()) })
                .await;
        assert!(welcomed.is_ok(), "the group never got its welcome; output:\n{}", self.output());
        group_id
    }

    /// The newest message of the project's feed on `nt.feed.<project>.<event_type>`, once there is one.
    pub async fn last_on_feed(&self, project_id: &str, event_type: &str) -> Value {
        let js = self.jetstream().await;
        let subject =
            format!("{}.{}.{event_type}", novij_events::feed::FEED_ROOT, novij_events::feed::project_token(project_id));
        let found = eventually(WAIT, || async {
            let stream = js.get_stream(novij_events::feed::FEED_STREAM).await.ok()?;
            let message = stream.get_last_raw_message_by_subject(&subject).await.ok()?;
            serde_json::from_slice::<Value>(&message.payload).ok()
        })
        .await;
        found.unwrap_or_else(|_| panic!("nothing on {subject}\n{}", self.output_tail()))
    }

    /// Connects many users at once; returns their chat ids in order.
    pub async fn connect_users(&self, project_id: &str, integration_id: &str, refs: &[String]) -> Vec<i64> {
        use futures::StreamExt;
        futures::stream::iter(refs.iter().map(|r| self.connect_user(project_id, integration_id, r)))
            .buffered(16)
            .collect()
            .await
    }

    /// Runs the sends concurrently; every one must be accepted.
    pub async fn send_all(&self, sends: Vec<Value>) -> Vec<String> {
        use futures::StreamExt;
        futures::stream::iter(sends.into_iter().map(|body| async move {
            let r = self.post("/api/v1/send", body).await;
            assert_eq!(r.status, 202, "{}", r.body);
            r.body["send_id"].as_str().unwrap_or_default().to_string()
        }))
        .buffer_unordered(32)
        .collect()
        .await
    }

    /// [`TestStack::send_all`] on a task of its own, so the test can act on
    /// the stack (e.g. kill a NATS node) while the sends go in. As the API
    /// asks, a send answered 503 (`unavailable`, "retry later") is sent again,
    /// same idempotency key, until accepted. Gives the send ids and how many
    /// 503s there were.
    pub fn spawn_send_all(&self, sends: Vec<Value>) -> tokio::task::JoinHandle<(Vec<String>, usize)> {
        use futures::StreamExt;
        let (http, url, key) = (self.http.clone(), format!("{}/api/v1/send", self.api), self.admin_key.clone());
        tokio::spawn(async move {
            let outcomes: Vec<(String, usize)> = futures::stream::iter(sends.into_iter().map(|body| {
                let (http, url, key) = (http.clone(), url.clone(), key.clone());
                async move {
                    let started = Instant::now();
                    let mut unavailable = 0;
                    loop {
                        let resp = http.post(&url).bearer_auth(&key).json(&body).send().await.expect("request");
                        let status = resp.status().as_u16();
                        let answer: Value = resp.json().await.unwrap_or(Value::Null);
                        if status == 503 && started.elapsed() < WAIT {
                            unavailable += 1;
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                        assert_eq!(status, 202, "{answer}");
                        return (answer["send_id"].as_str().unwrap_or_default().to_string(), unavailable);
                    }
                }
            }))
            .buffer_unordered(32)
            .collect()
            .await;
            let unavailable = outcomes.iter().map(|(_, n)| n).sum();
            (outcomes.into_iter().map(|(id, _)| id).collect(), unavailable)
        })
    }

    /// The sandbox's counters for the common bot.
    pub async fn stats(&self) -> Value {
        self.sandbox_get(&format!("/sandbox/stats?bot_username={COMMON_BOT}")).await
    }

    /// Waits until the common bot has delivered `n` messages in all.
    pub async fn wait_delivered(&self, n: u64, timeout: Duration) {
        let reached =
            eventually(timeout, || async { (self.stats().await["delivered"].as_u64()? >= n).then_some(()) }).await;
        if reached.is_err() {
            panic!("only {} of {n} delivered; output tail:\n{}", self.stats().await, self.output_tail());
        }
    }

    /// The last lines of every process, for failure messages.
    pub fn output_tail(&self) -> String {
        self.services.iter().map(|(n, p)| format!("--- {n}\n{}", p.tail(30))).collect::<Vec<_>>().join("\n")
    }

    pub async fn send_text(
        &self,
        project_id: &str,
        integration_id: &str,
        user_ref: &str,
        text: &str,
        key: &str,
    ) -> Response {
        self.post(
            "/api/v1/send",
            json!({
                "project_id": project_id, "integration_id": integration_id, "recipient_ref": user_ref,
                "template": "text_message", "template_vars": {"text": text}, "idempotency_key": key
            }),
        )
        .await
    }

    /// Waits until the send reaches `status`; returns its view.
    pub async fn wait_send(&self, send_id: &str, status: &str) -> Value {
        let path = format!("/api/v1/sends/{send_id}");
        match eventually(WAIT, || async {
            let r = self.get(&path).await;
            (r.body["status"] == status).then_some(r.body)
        })
        .await
        {
            Ok(v) => v,
            Err(_) => panic!("send {send_id} never became {status}: {}\n{}", self.get(&path).await.body, self.output()),
        }
    }

    pub async fn relay_post(&self, path: &str, body: Value) -> Value {
        let resp = self.http.post(format!("{}{path}", self.relay.base_url())).json(&body).send().await.expect("relay");
        assert!(resp.status().is_success(), "relay {path}: {}", resp.status());
        resp.json().await.expect("relay json")
    }

    /// A quote for one recipient of `template`.
    pub async fn quote(&self, project_id: &str, template: &str) -> Value {
        let r = self.post("/api/v1/payments/quote", json!({"project_id": project_id, "template": template})).await;
        assert_eq!(r.status, 200, "quote: {}", r.body);
        r.body
    }

    /// A ledger transfer (`status` confirmed, pending or failed); returns its hash.
    pub async fn transfer(&self, from: &str, to: &str, amount: &str, memo: &str, status: &str) -> String {
        let body =
            json!({"from_wallet_id": from, "to_wallet_id": to, "amount": amount, "memo": memo, "status": status});
        let tx = self.relay_post("/relay/transfers", body).await;
        tx["tx_hash"].as_str().expect("tx_hash").to_string()
    }

    pub async fn jetstream(&self) -> async_nats::jetstream::Context {
        async_nats::jetstream::new(self.nats_as(novij_bus::auth::ADMIN).await)
    }

    /// A connection as one of the stack's NATS users. Through the services'
    /// own connect: `url()` may be a cluster's seed list.
    pub async fn nats_as(&self, user: &str) -> async_nats::Client {
        let target = novij_bus::Target::anonymous(self.nats.url()).as_user(user, self.nats_users.password(user));
        novij_bus::connect(&target, "test").await.expect("nats")
    }

    /// The last sequence of a stream: unchanged means nothing was stored.
    pub async fn stream_last_sequence(&self, stream: &str) -> u64 {
        let mut s = self.jetstream().await.get_stream(stream).await.expect("stream");
        s.info().await.expect("info").state.last_sequence
    }

    /// Waits (at most [`IDLE_WAIT`]) until the services have nothing left to
    /// do; see [`TestStack::wait_idle_for`]. Call it before counting anything
    /// that must have happened exactly once.
    pub async fn wait_idle(&self) {
        self.wait_idle_for(IDLE_WAIT, false).await
    }

    /// [`TestStack::wait_idle`], and the read side caught up too (before
    /// comparing projections).
    pub async fn wait_settled(&self) {
        self.wait_idle_for(IDLE_WAIT * 4, true).await
    }

    /// Waits until every durable consumer on the [`WORK_STREAMS`] (those of
    /// the [`READ_SIDE`], and the projections' checkpoint, only with
    /// `read_side`) has nothing pending and nothing in flight (`num_pending == 0`, `num_ack_pending ==
    /// 0`; the [`HOLDING`] ones may hold theirs), seen twice in a row [`IDLE_RECHECK`] apart with nothing moved in
    /// between (same last sequences, same consumer positions), so an event
    /// appended by the last handled message is seen too. Panics after
    /// `timeout`, naming the consumers still busy.
    pub async fn wait_idle_for(&self, timeout: Duration, read_side: bool) {
        let js = self.jetstream().await;
        let started = Instant::now();
        let mut idle_at: Option<Vec<Position>> = None;
        let db = if read_side { Some(self.db.connect().await.expect("db")) } else { None };
        loop {
            let last = match activity(&js, db.as_ref()).await {
                Ok(now) if now.busy.is_empty() => {
                    if idle_at.as_ref() == Some(&now.positions) {
                        return;
                    }
                    let before = idle_at.unwrap_or_default();
                    let moved = |from: &[Position], to: &[Position]| {
                        to.iter().filter(|p| !from.contains(p)).map(|p| format!("{p:?}")).collect::<Vec<_>>().join(", ")
                    };
                    let change =
                        format!("now {}; before {}", moved(&before, &now.positions), moved(&now.positions, &before));
                    idle_at = Some(now.positions);
                    format!("idle, but still moving: {change}")
                }
                Ok(now) => {
                    idle_at = None;
                    now.busy.join("; ")
                }
                Err(e) => {
                    idle_at = None;
                    e
                }
            };
            if started.elapsed() >= timeout {
                panic!("the consumers never became idle within {timeout:?}: {last}\n{}", self.output_tail());
            }
            let pause = if idle_at.is_some() { IDLE_RECHECK } else { Duration::from_millis(50) };
            tokio::time::sleep(pause).await;
        }
    }
}

/// `(stream or stream/consumer, first, second)`: a stream's last sequence, or
/// a consumer's delivered stream sequence and ack floor.
type Position = (String, u64, u64);

/// Where the work streams and their durable consumers stand.
struct Activity {
    /// Sorted; unchanged between two looks means nothing moved.
    positions: Vec<Position>,
    /// The consumers with work pending or in flight, described.
    busy: Vec<String>,
}

/// With `projections` (the read side), the checkpoint must be at the log's end too.
async fn activity(
    js: &async_nats::jetstream::Context,
    projections: Option<&sea_orm::DatabaseConnection>,
) -> Result<Activity, String> {
    use futures::TryStreamExt;
    let read_side = projections.is_some();
    let mut out = Activity { positions: Vec::new(), busy: Vec::new() };
    if let Some(db) = projections {
        let checkpoint = novij_projections::queries::checkpoint(db).await.map_err(|e| format!("checkpoint: {e}"))?;
        let mut events = js.get_stream("EVENTS").await.map_err(|e| format!("stream EVENTS: {e}"))?;
        let last = events.info().await.map_err(|e| format!("stream EVENTS info: {e}"))?.state.last_sequence;
        if checkpoint < last {
            out.busy.push(format!("projections: checkpoint {checkpoint} of {last}"));
        }
        out.positions.push(("projections".into(), checkpoint, last));
    }
    for name in WORK_STREAMS {
        let mut stream = js.get_stream(*name).await.map_err(|e| format!("stream {name}: {e}"))?;
        let last = stream.info().await.map_err(|e| format!("stream {name} info: {e}"))?.state.last_sequence;
        out.positions.push((name.to_string(), last, 0));
        let consumers: Vec<async_nats::jetstream::consumer::Info> =
            stream.consumers().try_collect().await.map_err(|e| format!("consumers of {name}: {e}"))?;
        // Durable consumers only: the services' ordered (ephemeral) readers
        // of the log are not work queues.
        let watched = |c: &&async_nats::jetstream::consumer::Info| {
            c.config.durable_name.as_deref().is_some_and(|n| read_side || !READ_SIDE.contains(&n))
        };
        for c in consumers.iter().filter(watched) {
            let id = format!("{name}/{}", c.name);
            let held = if HOLDING.contains(&c.name.as_str()) { c.num_ack_pending } else { 0 };
            if c.num_pending > 0 || c.num_ack_pending > held {
                out.busy.push(format!("{id}: {} pending, {} in flight", c.num_pending, c.num_ack_pending));
            }
            out.positions.push((id, c.delivered.stream_sequence, c.ack_floor.stream_sequence));
        }
    }
    out.positions.sort();
    Ok(out)
}

/// Every file under `dir`, concatenated (the raw bytes of the JetStream store).
pub fn raw_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.extend(bytes);
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Waits until the sandbox has delivered `n` messages over all bots.
pub async fn wait_total(stack: &TestStack, n: u64, timeout: Duration) {
    let reached = eventually(timeout, || async {
        (stack.sandbox_get("/sandbox/stats").await["delivered"].as_u64()? >= n).then_some(())
    })
    .await;
    assert!(reached.is_ok(), "only {} of {n} delivered", stack.sandbox_get("/sandbox/stats").await);
}

/// Waits until a send is `sent` or `failed`; returns its view.
pub async fn wait_final(stack: &TestStack, send_id: &str) -> Value {
    let path = format!("/api/v1/sends/{send_id}");
    let done = eventually(WAIT, || async {
        let r = stack.get(&path).await;
        matches!(r.body["status"].as_str(), Some("sent" | "failed")).then_some(r.body)
    })
    .await;
    match done {
        Ok(v) => v,
        Err(_) => panic!("send {send_id} never finished: {}\n{}", stack.get(&path).await.body, stack.output_tail()),
    }
}

/// The projection tables, every row as text, in a stable order: two dumps
/// are equal when the projections are.
pub async fn projection_rows(db: &sea_orm::DatabaseConnection) -> Vec<(String, Vec<String>)> {
    use sea_orm::ConnectionTrait;
    const TABLES: &[&str] = &[
        "integrations",
        "connect_codes",
        "recipients",
        "sends",
        "send_history",
        "alert_cards",
        "projection_checkpoint",
    ];
    let mut out = Vec::new();
    for table in TABLES {
        let rows = db
            .query_all(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT t::text AS row FROM {table} t ORDER BY 1"),
            ))
            .await
            .expect("dump");
        out.push((table.to_string(), rows.iter().map(|r| r.try_get::<String>("", "row").expect("row")).collect()));
    }
    out
}

/// Drops the projections with their schema, migrates and rebuilds them from
/// the log (the services stopped first); returns what `rebuild` said.
pub async fn rebuild_from_scratch(stack: &TestStack, db: &sea_orm::DatabaseConnection) -> String {
    use sea_orm::ConnectionTrait;
    let tables = novij_projections::migration::PROJECTION_TABLES.join(", ");
    db.execute_unprepared(&format!("DROP TABLE {tables}, projection_checkpoint, seaql_migrations"))
        .await
        .expect("drop");
    let migrate = stack.cli(&["migrate"]);
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    let rebuild = stack.cli(&["rebuild"]);
    assert!(rebuild.status.success(), "{}", String::from_utf8_lossy(&rebuild.stderr));
    String::from_utf8_lossy(&rebuild.stdout).to_string()
}
