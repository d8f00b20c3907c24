//! `dlq list` and `dlq retry [send_id|--all]`: dead letters from the command
//! line, as a client of the API over NATS (`nt.api.v1.ops.dead_letters.*`,
//! with the admin key): the operations live once, in the command layer.

use serde_json::json;

use super::api::call;

pub async fn list(json: bool) -> anyhow::Result<()> {
    let letters = call("ops.dead_letters.list", None).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&letters)?);
        return Ok(());
    }
    let letters = letters.as_array().cloned().unwrap_or_default();
    for l in &letters {
        let field = |name: &str| l[name].as_str().map(str::to_string).unwrap_or_else(|| l[name].to_string());
        println!(
            "{}\t{}\t{}\tattempts={}\t{}\t{}",
            field("send_id"),
            field("bot_key"),
            field("reason"),
            field("attempts"),
            field("dead_lettered_at"),
            field("detail")
        );
    }
    println!("{} dead letter(s)", letters.len());
    Ok(())
}

pub async fn retry(send_id: Option<String>, all: bool, json: bool) -> anyhow::Result<()> {
    let body = match (send_id, all) {
        (Some(id), false) => json!({ "send_id": id }),
        (None, true) => json!({ "all": true }),
        _ => anyhow::bail!("give a send id or --all"),
    };
    let report = call("ops.dead_letters.retry", Some(body)).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let retried = report["retried"].as_array().map_or(0, Vec::len);
    println!("{retried} send(s) queued again");
    Ok(())
}
