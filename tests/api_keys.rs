//! Project API keys made at run time: a key made through the admin API works
//! on every ingress instance, and once revoked it is refused on every one
//! within seconds. The log keeps a keyed hash of each key, never the key.

mod support;

use novij_testkit::{eventually, free_port};
use serde_json::json;
use support::{Layout, TestStack, WAIT};

/// The status of `GET /api/v1/integrations/{id}` on `api` with `key`.
async fn get_with(api: &str, key: &str, integration: &str) -> u16 {
    let url = format!("{api}/api/v1/integrations/{integration}");
    let response = reqwest::Client::new().get(url).bearer_auth(key).send().await.expect("request");
    response.status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_made_at_run_time_acts_on_every_instance_until_revoked() {
    let mut stack = TestStack::start(Layout::Separate).await;
    // A second ingress on a port of its own.
    let second = format!("127.0.0.1:{}", free_port());
    let first = stack.env.iter().find(|(k, _)| k == "HTTP_LISTEN").map(|(_, v)| v.clone()).expect("listen");
    stack.set_env("HTTP_LISTEN", &second);
    stack.spawn("ingress-2", &["serve", "ingress"]);
    stack.set_env("HTTP_LISTEN", &first);
    stack.wait_ready().await;
    let apis = [stack.api.clone(), format!("http://{second}")];
    let ours = stack.create_integration("p_keys", None).await;
    let theirs = stack.create_integration("p_other", None).await;

    let created = stack.cli_run(&["api-keys", "create", "--project", "p_keys", "--label", "billing service", "--json"]);
    assert!(created.ok(), "{} {}", created.json, created.stderr);
    let key = created.json["key"].as_str().expect("key").to_string();
    let key_id = created.json["key_id"].as_str().expect("key_id").to_string();
    assert!(key.starts_with("nt_") && key_id.starts_with("key_"), "{}", created.json);

    // Every instance takes it, for its own project only.
    for api in &apis {
        let works = eventually(WAIT, || async { (get_with(api, &key, &ours).await == 200).then_some(()) }).await;
        assert!(works.is_ok(), "{api} never took the new key");
        assert_eq!(get_with(api, &key, &theirs).await, 404, "{api}: another project's integration");
    }
    let denied = reqwest::Client::new().post(format!("{}/api/v1/api-keys", apis[1])).bearer_auth(&key);
    let denied = denied.json(&json!({"project_id": "p_keys"})).send().await.expect("request");
    assert_eq!(denied.status().as_u16(), 403, "a project key made a key");

    let listed = stack.cli_run(&["api-keys", "list", "--project", "p_keys", "--json"]);
    let keys = listed.json["keys"].as_array().cloned().unwrap_or_default();
    assert!(listed.ok() && keys.len() == 1, "{} {}", listed.json, listed.stderr);
    let (id, label) = (&keys[0]["key_id"], &keys[0]["label"]);
    assert_eq!((id, label), (&json!(key_id), &json!("billing service")), "{}", listed.json);
    assert!(!listed.json.to_string().contains(&key), "a list shows the key itself");

    // The log holds its keyed hash, never the key.
    let log = stack.jetstream().await.get_stream("EVENTS").await.expect("EVENTS");
    let event = log.get_last_raw_message_by_subject(&format!("nt.ev.api_key.{key_id}.created")).await.expect("event");
    assert!(!String::from_utf8_lossy(&event.payload).contains(&key), "the key is in the log");

    // Revoked: refused on every instance within seconds; a retry answers the same.
    let revoked = stack.cli_run(&["api-keys", "revoke", &key_id, "--json"]);
    assert!(revoked.ok() && revoked.json["revoked"] == true, "{} {}", revoked.json, revoked.stderr);
    for api in &apis {
        let refused = eventually(WAIT, || async { (get_with(api, &key, &ours).await == 401).then_some(()) }).await;
        assert!(refused.is_ok(), "{api} still takes the revoked key");
    }
    let retried = stack.cli_run(&["api-keys", "revoke", &key_id, "--json"]);
    assert!(retried.ok(), "a retried revocation: {}", retried.stderr);
    assert!(!stack.cli_run(&["api-keys", "revoke", "key_unknown", "--json"]).ok(), "an unknown key revoked");
    let listed = stack.cli_run(&["api-keys", "list", "--json"]);
    assert!(listed.json["keys"][0]["revoked_at"].is_string(), "{} {}", listed.json, listed.stderr);

    // The list pages: at most `limit`, after the last one shown.
    let second = stack.cli_run(&["api-keys", "create", "--project", "p_keys", "--json"]);
    let second_id = second.json["key_id"].as_str().unwrap_or_else(|| panic!("key_id: {}", second.stderr));
    let stack = &stack;
    let page = |query: String| async move { stack.get(&format!("/api/v1/api-keys?project_id=p_keys{query}")).await };
    let first_page = page("&limit=1".into()).await;
    assert_eq!(first_page.body["keys"].as_array().map(Vec::len), Some(1), "{}", first_page.body);
    assert_eq!(first_page.body["keys"][0]["key_id"], json!(key_id), "{}", first_page.body);
    let next = page(format!("&limit=1&after={key_id}")).await;
    assert_eq!(next.body["keys"][0]["key_id"], json!(second_id), "{}", next.body);
    let unknown = page("&after=key_unknown".into()).await;
    assert_eq!((unknown.status, &unknown.body["error"]["field"]), (422, &json!("after")), "{}", unknown.body);
}
