//! `dlq list` and `dlq retry [send_id|--all]`: dead letters from the command line.

use anyhow::Context;
use novij_bus::{dead_letters, EventLog};

use super::load_config;

async fn event_log() -> anyhow::Result<EventLog> {
    let config = load_config()?;
    let nats = novij_bus::connect(&config.nats_url, "cli").await.context("connecting to NATS")?;
    Ok(EventLog::new(async_nats::jetstream::new(nats)))
}

pub async fn list() -> anyhow::Result<()> {
    let log = event_log().await?;
    let letters = dead_letters::list(log.jetstream()).await?;
    for l in &letters {
        println!(
            "{}\t{}\t{}\tattempts={}\t{}\t{}",
            l.event.send_id, l.event.bot_key, l.event.reason, l.event.attempts, l.dead_lettered_at, l.event.detail
        );
    }
    println!("{} dead letter(s)", letters.len());
    Ok(())
}

pub async fn retry(send_id: Option<String>, all: bool) -> anyhow::Result<()> {
    let log = event_log().await?;
    let correlation = format!("cli-dlq-{}", std::process::id());
    let retried = match (send_id, all) {
        (Some(id), false) => usize::from(dead_letters::retry_one(&log, &id, &correlation).await?),
        (None, true) => {
            let letters = dead_letters::list(log.jetstream()).await?;
            let total = letters.len();
            let mut retried = 0;
            for (i, letter) in letters.iter().enumerate() {
                retried += usize::from(dead_letters::retry(&log, letter, &correlation).await?);
                eprint!("\rretried {}/{total}", i + 1);
            }
            if total > 0 {
                eprintln!();
            }
            retried
        }
        _ => anyhow::bail!("give a send id or --all"),
    };
    println!("{retried} send(s) queued again");
    Ok(())
}
