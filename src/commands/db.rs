//! `migrate` (the projections and the key store) and `rebuild` (the projections).

use anyhow::Context;
use novij_projections::migration::Migrator;
use sea_orm_migration::MigratorTrait;

use super::load_config;

pub async fn migrate(json: bool) -> anyhow::Result<()> {
    let config = load_config()?;
    let db = novij_projections::connect(&config.database_url).await.context("connecting to Postgres")?;
    Migrator::up(&db, None).await.context("applying the projections' migrations")?;
    novij_keystore::migration::Migrator::up(&db, None).await.context("applying the key store's migrations")?;
    match json {
        true => println!("{}", serde_json::json!({ "migrated": true })),
        false => println!("migrations applied"),
    }
    Ok(())
}

pub async fn rebuild(json: bool) -> anyhow::Result<()> {
    let config = load_config()?;
    let db = novij_projections::connect(&config.database_url).await.context("connecting to Postgres")?;
    let nats =
        novij_bus::connect(&novij_runtime::command_nats_target(&config), "cli").await.context("connecting to NATS")?;
    let js = async_nats::jetstream::new(nats);
    let mut progress = super::progress::Progress::new("replayed");
    let started = std::time::Instant::now();
    let report = novij_projections::rebuild::rebuild(&db, &js, |seq, last| progress.at(seq, last)).await?;
    progress.done();
    if json {
        let summary = serde_json::json!({
            "events": report.events,
            "skipped": report.skipped,
            "last_sequence": report.last_sequence,
            "millis": started.elapsed().as_millis() as u64,
        });
        println!("{summary}");
        return Ok(());
    }
    println!(
        "rebuilt projections from {} events (skipped {}), up to sequence {}, in {} ms",
        report.events,
        report.skipped,
        report.last_sequence,
        started.elapsed().as_millis()
    );
    Ok(())
}
