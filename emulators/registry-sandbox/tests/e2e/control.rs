//! The control API: every entry, sorted, without a key.

use serde_json::json;

use crate::support::{entry, start, KEY};

#[tokio::test]
async fn the_list_holds_every_entry_sorted_by_service_id() {
    let env = start(Some(KEY)).await;
    assert_eq!(env.get("/registry/services").await, (200, json!([])));
    let mut registered = Vec::new();
    for id in ["m.test", "a.test", "z.test", "0.test"] {
        registered.push(env.register(&entry(id)).await);
    }
    registered.sort_by_key(|e| e["service_id"].as_str().expect("an id").to_string());
    let (status, list) = env.get("/registry/services").await;
    assert_eq!((status, list), (200, json!(registered)));
    let unkeyed = env.http.get(format!("{}/registry/services", env.base)).send().await.expect("request");
    assert_eq!(unkeyed.status().as_u16(), 200, "no key needed");
}
