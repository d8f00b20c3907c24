//! `keys lookup-key`: the key of the keyed hashes, to pin before a rotation.

use super::load_config;

/// Prints the lookup key in use (a secret: for `NOVIJ_LOOKUP_KEY` only).
pub fn lookup_key() -> anyhow::Result<()> {
    let config = load_config()?;
    println!("{}", config.keyring()?.lookup_key());
    Ok(())
}
