//! `cleanup`: the scheduler's maintenance jobs, run once, with their counts.

use anyhow::Context;

use super::load_config;

pub async fn run(json: bool) -> anyhow::Result<()> {
    let config = load_config()?;
    let rt = novij_runtime::Runtime::start_for_command(config, "cli-cleanup").await?;
    let mut progress = super::progress::Progress::new("cleanup jobs");
    let report = novij_scheduler::cleanup::run_once(&rt, &mut |done, of| progress.at(done, of))
        .await
        .context("running cleanup")?;
    progress.done();
    if json {
        println!("{}", serde_json::to_string(&report).context("encoding the report")?);
        return Ok(());
    }
    println!("payload keys erased:    {}", report.payload_keys_erased);
    println!("connect codes removed:  {}", report.connect_codes_removed);
    println!("finished sends removed: {}", report.sends_removed);
    Ok(())
}
