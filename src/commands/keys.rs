//! `keys`: what a rotation of the master keys needs. `lookup-key` prints the
//! key of the keyed hashes, to pin before the first rotation; `rotate`
//! re-wraps every data key with the current master key and keeps the older
//! ones wrapped by it; `retire` says whether an old key may go.

use anyhow::Context as _;
use novij_runtime::Runtime;

use super::load_config;

/// Prints the lookup key in use (a secret: for `NOVIJ_LOOKUP_KEY` only).
pub fn lookup_key() -> anyhow::Result<()> {
    let config = load_config()?;
    println!("{}", config.keyring()?.lookup_key());
    Ok(())
}

/// Re-wraps every data key with the current (first) master key.
pub async fn rotate(json: bool) -> anyhow::Result<()> {
    let rt = Runtime::start_for_command(load_config()?, "cli-keys").await?;
    let mut progress = super::progress::Progress::new("data keys");
    let rotated = rt.payloads.rotate(&mut |done, of| progress.at(done, of)).await.context("rotating")?;
    progress.done();
    let current = rt.keyring.current_kid();
    if json {
        let report = serde_json::json!({
            "current": current,
            "kept": rotated.kept,
            "rewrapped": rotated.rewrapped,
            "rewrapped_legacy": rotated.rewrapped_legacy,
        });
        println!("{report}");
        return Ok(());
    }
    println!("current master key:          {current}");
    println!("older keys kept, wrapped:    {}", rotated.kept.join(", "));
    println!("data keys re-wrapped:        {}", rotated.rewrapped);
    println!("earlier data keys re-wrapped: {}", rotated.rewrapped_legacy);
    Ok(())
}

/// Succeeds when `kid` may leave `NOVIJ_MASTER_KEYS`; names why not otherwise.
pub async fn retire(kid: &str, json: bool) -> anyhow::Result<()> {
    let rt = Runtime::start_for_command(load_config()?, "cli-keys").await?;
    rt.payloads.retirable(kid).await.with_context(|| format!("{kid} cannot be retired"))?;
    if json {
        println!("{}", serde_json::json!({ "retirable": kid, "current": rt.keyring.current_kid() }));
        return Ok(());
    }
    println!(
        "{kid} wraps nothing any more and is kept wrapped by {}: remove it from NOVIJ_MASTER_KEYS \
         and restart every service",
        rt.keyring.current_kid()
    );
    Ok(())
}
