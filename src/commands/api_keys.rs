//! `api-keys create|list|revoke`: project API keys made at run time
//! (`/api-keys` over NATS, with the admin key).

use serde_json::{json, Value};

use super::api::call;

pub async fn create(project: String, label: Option<String>, as_json: bool) -> anyhow::Result<()> {
    let created = call("api_keys.create", Some(json!({ "project_id": project, "label": label }))).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&created)?);
    } else {
        println!("key {} for {} (shown once):", text(&created["key_id"]), text(&created["project_id"]));
        println!("{}", text(&created["key"]));
    }
    Ok(())
}

pub async fn list(project: Option<String>, as_json: bool) -> anyhow::Result<()> {
    let query = project.map_or_else(|| json!({}), |p| json!({ "project_id": p }));
    let listed = call("api_keys.list", Some(query)).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&listed)?);
        return Ok(());
    }
    println!("{:<40} {:<24} {:<28} revoked", "key", "project", "created");
    for key in listed["keys"].as_array().into_iter().flatten() {
        println!(
            "{:<40} {:<24} {:<28} {}",
            text(&key["key_id"]),
            text(&key["project_id"]),
            text(&key["created_at"]),
            key["revoked_at"].as_str().unwrap_or("-")
        );
    }
    Ok(())
}

pub async fn revoke(key_id: String, as_json: bool) -> anyhow::Result<()> {
    let revoked = call(&format!("api_keys.revoke.{key_id}"), None).await?;
    if as_json {
        println!("{}", serde_json::to_string_pretty(&revoked)?);
    } else {
        println!("{key_id} revoked: it acts for nobody from now on");
    }
    Ok(())
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("?")
}
