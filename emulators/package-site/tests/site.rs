//! The package site over HTTP, as the update command and its tests use it.

use novij_package_site_client::{file_url, index_url, ChannelIndex, Release};
use package_site::{PackageSite, PackageSiteConfig};
use reqwest::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, ETAG};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

const DEB: &str = "application/vnd.debian.binary-package";

struct Env {
    site: PackageSite,
    http: reqwest::Client,
    base: Url,
    key: Option<&'static str>,
}

async fn start(config: PackageSiteConfig) -> Env {
    let key = config.control_key.clone().map(|k| &*k.leak());
    let site = package_site::start(config).await.expect("site starts");
    let base = Url::parse(&site.base_url()).expect("a base URL");
    Env { site, http: reqwest::Client::new(), base, key }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// A fake package: the site does not look inside.
fn package(tag: &str) -> Vec<u8> {
    format!("!<arch>\n{tag}\n").repeat(20000).into_bytes()
}

async fn decode(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json", "{status}");
    (status, response.json().await.expect("a JSON body"))
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.site.base_url())
    }

    fn control(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(&format!("/control{path}")));
        match self.key {
            Some(key) => request.bearer_auth(key),
            None => request,
        }
    }

    async fn publish_with(&self, channel: &str, query: &[(&str, &str)], body: Vec<u8>) -> (StatusCode, Value) {
        let response = self
            .control(Method::POST, &format!("/channels/{channel}/packages"))
            .query(query)
            .body(body)
            .send()
            .await
            .expect("publish answers");
        decode(response).await
    }

    async fn publish(&self, channel: &str, version: &str, body: &[u8]) -> Release {
        let (status, release) =
            self.publish_with(channel, &[("version", version), ("architecture", "amd64")], body.to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{release}");
        serde_json::from_value(release).expect("a release")
    }

    async fn get(&self, method: Method, path: &str) -> reqwest::Response {
        self.http.request(method, self.url(path)).send().await.expect("answers")
    }

    async fn index(&self, channel: &str) -> ChannelIndex {
        let response = self.http.get(index_url(&self.base, channel).expect("url")).send().await.expect("answers");
        let (status, index) = decode(response).await;
        assert_eq!(status, StatusCode::OK, "{index}");
        serde_json::from_value(index).expect("an index")
    }

    async fn downloads(&self) -> Vec<String> {
        let (status, body) = decode(self.control(Method::GET, "/downloads").send().await.expect("answers")).await;
        assert_eq!(status, StatusCode::OK);
        let downloads = body["downloads"].as_array().expect("a list");
        for download in downloads {
            download["at"].as_str().expect("a time").parse::<chrono::DateTime<chrono::Utc>>().expect("RFC 3339");
        }
        downloads.iter().map(|d| d["file"].as_str().expect("a file").to_string()).collect()
    }

    /// A request sent as written, for paths an HTTP client would normalize.
    async fn raw(&self, head: &str) -> (u16, Value) {
        let mut stream = tokio::net::TcpStream::connect(self.site.addr).await.expect("connects");
        stream.write_all(head.as_bytes()).await.expect("sent");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("answer read");
        let answer = String::from_utf8(answer).expect("text");
        let status = answer[9..12].parse().expect("a status");
        let (_, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        (status, serde_json::from_str(body).expect("a JSON body"))
    }
}

#[tokio::test]
async fn releases_are_listed_newest_first_with_their_real_checksums() {
    let env = start(PackageSiteConfig::default()).await;
    let (old, new) = (package("old"), package("new"));
    let first = env.publish("stable", "0.1.0-1", &old).await;
    let second = env.publish("stable", "0.2.0-1", &new).await;
    env.publish("beta", "0.3.0~rc1-1", &package("rc")).await;

    let index = env.index("stable").await;
    assert_eq!((index.channel.as_str(), index.package.as_str()), ("stable", "novij-telegram"));
    assert_eq!(index.releases, vec![second.clone(), first.clone()]);
    assert_eq!(second.file, "pool/novij-telegram_0.2.0-1_amd64.deb");
    assert_eq!((second.sha256.clone(), second.size), (sha256_hex(&new), new.len() as u64));
    assert_eq!((first.sha256.clone(), first.size), (sha256_hex(&old), old.len() as u64));
    assert_eq!(first.architecture, "amd64");
    assert!(first.published_at <= second.published_at);
    assert_eq!(env.index("beta").await.releases.len(), 1);

    // The raw JSON is exactly the documented shape.
    let raw: Value = env.get(Method::GET, "/channels/stable.json").await.json().await.expect("JSON");
    let keys: Vec<&str> = raw["releases"][0].as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert_eq!(raw["releases"][0]["size"], json!(new.len()));
}

#[tokio::test]
async fn files_are_served_with_their_length_and_etag_and_head_has_no_body() {
    let env = start(PackageSiteConfig::default()).await;
    let bytes = package("served");
    let release = env.publish("stable", "0.2.0-1", &bytes).await;
    let url = file_url(&env.base, &release).expect("file url");

    let got = env.http.get(url.clone()).send().await.expect("answers");
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.headers()[CONTENT_TYPE], DEB);
    assert_eq!(got.headers()[CONTENT_LENGTH], bytes.len().to_string().as_str());
    assert_eq!(got.headers()[ETAG], format!("\"sha256:{}\"", sha256_hex(&bytes)).as_str());
    assert_eq!(got.bytes().await.expect("body"), bytes);

    let head = env.http.head(url).send().await.expect("answers");
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()[CONTENT_TYPE], DEB);
    assert_eq!(head.headers()[CONTENT_LENGTH], bytes.len().to_string().as_str());
    assert_eq!(head.headers()[ETAG], format!("\"sha256:{}\"", sha256_hex(&bytes)).as_str());
    assert!(head.bytes().await.expect("body").is_empty());

    let head = env.get(Method::HEAD, "/channels/stable.json").await;
    assert_eq!(
        (head.status(), head.headers()[CONTENT_TYPE].to_str().expect("text")),
        (StatusCode::OK, "application/json")
    );
    assert!(head.bytes().await.expect("body").is_empty());
}

#[tokio::test]
async fn the_download_log_counts_gets_only() {
    let env = start(PackageSiteConfig::default()).await;
    let a = env.publish("stable", "0.1.0-1", &package("a")).await;
    let b = env.publish("stable", "0.2.0-1", &package("b")).await;
    assert_eq!(env.downloads().await, Vec::<String>::new());

    env.index("stable").await;
    env.get(Method::HEAD, &format!("/{}", b.file)).await;
    assert_eq!(env.downloads().await, Vec::<String>::new(), "an index read or a HEAD is no download");

    for file in [&b.file, &a.file, &b.file] {
        assert_eq!(env.get(Method::GET, &format!("/{file}")).await.status(), StatusCode::OK);
    }
    env.get(Method::GET, "/pool/novij-telegram_9_amd64.deb").await;
    assert_eq!(env.downloads().await, vec![b.file.clone(), a.file.clone(), b.file.clone()]);
}

#[tokio::test]
async fn unknown_and_invalid_paths_are_refused_as_documented() {
    let env = start(PackageSiteConfig::default()).await;
    env.publish("stable", "0.2.0-1", &package("x")).await;

    for (path, status, body) in [
        ("/channels/beta.json", 404, json!({"error": "channel_not_found", "channel": "beta"})),
        ("/channels/Stable.json", 400, json!({"error": "invalid_channel"})),
        ("/channels/1st.json", 400, json!({"error": "invalid_channel"})),
        ("/channels/stable", 404, json!({"error": "not_found"})),
        ("/channels/stable.json/", 404, json!({"error": "not_found"})),
        ("/pool/novij-telegram_0.3.0-1_amd64.deb", 404, json!({"error": "file_not_found"})),
        ("/pool/a/novij-telegram_0.2.0-1_amd64.deb", 400, json!({"error": "invalid_file"})),
        ("/pool/a%2Fb.deb", 400, json!({"error": "invalid_file"})),
        ("/pool/", 400, json!({"error": "invalid_file"})),
        ("/pool/.upload-0", 400, json!({"error": "invalid_file"})),
        ("/", 404, json!({"error": "not_found"})),
        ("/pool", 404, json!({"error": "not_found"})),
    ] {
        let (got_status, got_body) = decode(env.get(Method::GET, path).await).await;
        assert_eq!((got_status.as_u16(), got_body), (status, body), "{path}");
    }

    // Sent as written: an HTTP client would resolve the dot segments itself.
    for path in [
        "/pool/../channels/stable.json",
        "/pool/..",
        "/pool/%2E%2E",
        "/pool/%2e%2e/channels/stable.json",
        "/pool/novij-telegram_0.2.0-1_amd64.deb/..",
    ] {
        let (status, body) = env.raw(&format!("GET {path} HTTP/1.1\r\nHost: site\r\nConnection: close\r\n\r\n")).await;
        assert_eq!((status, body), (400, json!({"error": "invalid_file"})), "{path}");
    }

    for (method, path) in [
        (Method::POST, "/channels/stable.json"),
        (Method::PUT, "/channels/beta.json"),
        (Method::DELETE, "/pool/novij-telegram_0.2.0-1_amd64.deb"),
        (Method::POST, "/pool/anything.deb"),
    ] {
        let response = env.get(method.clone(), path).await;
        assert_eq!(response.headers().get(ALLOW).map(|v| v.to_str().expect("text")), Some("GET, HEAD"), "{path}");
        let (status, body) = decode(response).await;
        assert_eq!(
            (status, body),
            (StatusCode::METHOD_NOT_ALLOWED, json!({"error": "method_not_allowed"})),
            "{method} {path}"
        );
    }
    assert_eq!(env.downloads().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_checksum_override_is_published_but_the_real_bytes_are_served() {
    let env = start(PackageSiteConfig::default()).await;
    let bytes = package("tampered");
    let wrong = "0".repeat(64);
    let (status, release) = env
        .publish_with("stable", &[("version", "0.2.0-1"), ("architecture", "amd64"), ("sha256", &wrong)], bytes.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (release["sha256"].as_str(), release["size"].as_u64()),
        (Some(wrong.as_str()), Some(bytes.len() as u64))
    );
    assert_eq!(env.index("stable").await.releases[0].sha256, wrong);

    let got = env.get(Method::GET, "/pool/novij-telegram_0.2.0-1_amd64.deb").await;
    assert_eq!(got.headers()[ETAG], format!("\"sha256:{}\"", sha256_hex(&bytes)).as_str());
    assert_eq!(got.bytes().await.expect("body"), bytes);
}

#[tokio::test]
async fn publications_are_validated_and_name_the_field_at_fault() {
    let env = start(PackageSiteConfig::default()).await;
    let body = package("x");
    for (channel, query, field) in [
        ("stable", vec![("version", "v1"), ("architecture", "amd64")], "version"),
        ("stable", vec![("version", "1.0_1"), ("architecture", "amd64")], "version"),
        ("stable", vec![("version", "1"), ("architecture", "AMD64")], "architecture"),
        ("stable", vec![("architecture", "amd64")], "version"),
        ("stable", vec![("version", "1")], "architecture"),
        ("stable", vec![("version", "1"), ("architecture", "amd64"), ("sha256", "abc")], "sha256"),
        ("stable", vec![("version", "1"), ("architecture", "amd64"), ("channel", "beta")], "channel"),
        ("Stable", vec![("version", "1"), ("architecture", "amd64")], "channel"),
    ] {
        let (status, error) = env.publish_with(channel, &query, body.clone()).await;
        assert_eq!(
            (status, &error["error"], &error["field"]),
            (StatusCode::BAD_REQUEST, &json!("invalid_parameter"), &json!(field)),
            "{query:?}"
        );
    }
    let (status, error) = env.publish_with("stable", &[("version", "1"), ("architecture", "amd64")], Vec::new()).await;
    assert_eq!((status, &error["field"]), (StatusCode::BAD_REQUEST, &json!("body")));

    // A `+` in a version survives the query when encoded, as any HTTP client does.
    let release = env.publish("stable", "0.2.0-1+b1", &body).await;
    assert_eq!(release.file, "pool/novij-telegram_0.2.0-1+b1_amd64.deb");
    assert_eq!(env.get(Method::GET, "/pool/novij-telegram_0.2.0-1+b1_amd64.deb").await.status(), StatusCode::OK);

    let (status, error) =
        env.publish_with("stable", &[("version", "0.2.0-1+b1"), ("architecture", "amd64")], body).await;
    assert_eq!((status, &error["error"]), (StatusCode::CONFLICT, &json!("release_exists")));
    let (status, error) =
        env.publish_with("beta", &[("version", "0.2.0-1+b1"), ("architecture", "amd64")], package("other")).await;
    assert_eq!((status, &error["error"]), (StatusCode::CONFLICT, &json!("file_conflict")));

    let (status, error) =
        decode(env.control(Method::GET, "/channels/stable/packages").send().await.expect("answers")).await;
    assert_eq!((status, &error["error"]), (StatusCode::METHOD_NOT_ALLOWED, &json!("method_not_allowed")));
    let (status, error) = decode(env.control(Method::GET, "/nothing").send().await.expect("answers")).await;
    assert_eq!((status, error), (StatusCode::NOT_FOUND, json!({"error": "not_found"})));
}

#[tokio::test]
async fn a_package_over_the_limit_is_refused_before_it_is_stored() {
    let env = start(PackageSiteConfig::default()).await;
    let too_long = package_site::MAX_PACKAGE_BYTES + 1;
    let (status, body) = env
        .raw(&format!(
            "POST /control/channels/stable/packages?version=1&architecture=amd64 HTTP/1.1\r\nHost: site\r\n\
             Content-Length: {too_long}\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!((status, &body["error"]), (413, &json!("body_too_large")));
    let (status, _) = decode(env.get(Method::GET, "/channels/stable.json").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reset_empties_everything() {
    let dir = tempfile::tempdir().expect("a directory");
    let env = start(PackageSiteConfig { dir: Some(dir.path().to_path_buf()), ..Default::default() }).await;
    let release = env.publish("stable", "0.2.0-1", &package("x")).await;
    let on_disk = dir.path().join(&release.file);
    assert!(on_disk.is_file(), "the package is kept in the given directory");
    env.get(Method::GET, &format!("/{}", release.file)).await;
    assert_eq!(env.downloads().await.len(), 1);

    let response = env.control(Method::DELETE, "/reset").send().await.expect("answers");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(!on_disk.exists());
    let (status, body) = decode(env.get(Method::GET, "/channels/stable.json").await).await;
    assert_eq!((status, body), (StatusCode::NOT_FOUND, json!({"error": "channel_not_found", "channel": "stable"})));
    let (status, _) = decode(env.get(Method::GET, &format!("/{}", release.file)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(env.downloads().await, Vec::<String>::new());
    let (status, _) = decode(env.control(Method::POST, "/reset").send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);

    env.publish("stable", "0.2.0-1", &package("y")).await;
    assert_eq!(env.index("stable").await.releases.len(), 1);
}

#[tokio::test]
async fn a_control_key_guards_the_control_api_only() {
    let env = start(PackageSiteConfig { control_key: Some("ctl-key".into()), ..Default::default() }).await;
    let release = env.publish("stable", "0.2.0-1", &package("x")).await;
    assert_eq!(env.index("stable").await.releases, vec![release]);

    for key in [None, Some("wrong")] {
        let mut request = env.http.get(env.url("/control/downloads"));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let (status, body) = decode(request.send().await.expect("answers")).await;
        assert_eq!((status, &body["error"]), (StatusCode::UNAUTHORIZED, &json!("unauthorized")), "{key:?}");
    }
    let (status, _) = decode(env.http.delete(env.url("/control/nothing")).send().await.expect("answers")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no route is revealed without the key");
}

#[tokio::test]
async fn the_installer_is_served_as_this_repository_has_it() {
    let env = start(PackageSiteConfig::default()).await;
    let url = env.base.join("install.sh").expect("url");
    let response = env.http.get(url.clone()).send().await.expect("get");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/x-shellscript; charset=utf-8");
    let text = response.text().await.expect("text");
    let ours = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/install.sh")).expect("read");
    assert_eq!(text, ours);
    let post = env.http.post(url).send().await.expect("post");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.headers()[ALLOW], "GET, HEAD");
}
