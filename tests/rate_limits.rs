//! Each project API key has its own request rate: above it, 429 with
//! `Retry-After`; another key, and the admin key, are not held up by it.

mod support;

use support::{Layout, TestStack};

const KEY_A: &str = "key-of-project-a-0123456789";
const KEY_B: &str = "key-of-project-b-0123456789";

#[tokio::test(flavor = "multi_thread")]
async fn a_key_above_its_rate_gets_429_with_retry_after_and_other_keys_go_on() {
    let keys = format!("p_a:{KEY_A},p_b:{KEY_B}");
    let env = [("PROJECT_API_KEYS", keys.as_str()), ("API_RATE_PER_SECOND", "5"), ("API_RATE_BURST", "5")];
    let stack = TestStack::start_with(Layout::Single, &env).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/v1/sends/snd_0123456789abcdef0123456789abcdef", stack.api);
    let call = |key: &'static str| {
        let (http, url) = (http.clone(), url.clone());
        async move { http.get(url).bearer_auth(key).send().await.expect("request") }
    };
    let answers = futures::future::join_all((0..30).map(|_| call(KEY_A))).await;
    let (mut limited, served): (Vec<reqwest::Response>, Vec<reqwest::Response>) =
        answers.into_iter().partition(|r| r.status() == 429);
    assert!(served.len() >= 5 && !limited.is_empty(), "{} served, {} limited", served.len(), limited.len());
    assert!(served.iter().all(|r| r.status() == 404), "every answer is a 429 or the lookup's own");
    let first = limited.remove(0);
    let retry_after: u64 = first.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!(retry_after >= 1, "Retry-After: {retry_after}");
    let body: serde_json::Value = first.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");

    assert_eq!(call(KEY_B).await.status(), 404, "another key is not held up");
    let admin = stack.get("/api/v1/sends/snd_0123456789abcdef0123456789abcdef").await;
    assert_eq!(admin.status, 404, "the admin key is not limited");
}
