//! `/etc/novij-telegram/env`: made from `deploy/config/env.example` on the
//! first run, with every secret generated; on later runs an operator's
//! values and the secrets already there are kept.

use std::collections::BTreeMap;

use base64::Engine as _;
use ring::rand::{SecureRandom as _, SystemRandom};

const EXAMPLE: &str = include_str!("../../../deploy/config/env.example");

/// A value copied from the example that nobody filled in yet.
fn is_placeholder(value: &str) -> bool {
    value.contains("CHANGE_ME")
}

/// The settings of an env file (`KEY=value` lines; comments and blanks skipped).
pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

/// What `setup` sets: `forced` replaces what is there (they come from the
/// command line); `generated` fills a setting only where it is missing or
/// still a placeholder.
pub struct Wanted {
    pub forced: Vec<(&'static str, String)>,
    pub generated: Vec<(&'static str, String)>,
}

/// The new text of the env file, from `existing` (or the example).
pub fn merge(existing: Option<&str>, wanted: &Wanted) -> String {
    let base = existing.unwrap_or(EXAMPLE);
    let current = parse(base);
    let value_for = |key: &str| -> Option<&String> {
        if let Some((_, v)) = wanted.forced.iter().find(|(k, _)| *k == key) {
            return Some(v);
        }
        let kept = current.get(key).filter(|v| !v.is_empty() && !is_placeholder(v));
        match wanted.generated.iter().find(|(k, _)| *k == key) {
            Some((_, v)) if kept.is_none() => Some(v),
            _ => None,
        }
    };
    let mut seen = Vec::new();
    let mut lines: Vec<String> = base
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            match trimmed.split_once('=') {
                Some((key, _)) if !trimmed.starts_with('#') => {
                    seen.push(key.trim().to_string());
                    match value_for(key.trim()) {
                        Some(value) => format!("{}={value}", key.trim()),
                        None => line.to_string(),
                    }
                }
                _ => line.to_string(),
            }
        })
        .collect();
    let missing: Vec<String> = wanted
        .forced
        .iter()
        .chain(&wanted.generated)
        .map(|(k, _)| *k)
        .filter(|k| !seen.iter().any(|s| s == k))
        .filter_map(|k| value_for(k).map(|v| format!("{k}={v}")))
        .collect();
    if !missing.is_empty() {
        lines.push("# --- set by `novij-telegram setup` ---".into());
        lines.extend(missing);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// `bytes` random bytes.
fn random(bytes: usize) -> anyhow::Result<Vec<u8>> {
    let mut buf = vec![0u8; bytes];
    SystemRandom::new().fill(&mut buf).map_err(|_| anyhow::anyhow!("the system's random source failed"))?;
    Ok(buf)
}

/// 32 random bytes, base64: a master or lookup key.
pub fn random_key() -> anyhow::Result<String> {
    Ok(base64::engine::general_purpose::STANDARD.encode(random(32)?))
}

/// 32 random bytes, hex: a password or API key that needs no quoting anywhere.
pub fn random_hex() -> anyhow::Result<String> {
    Ok(random(32)?.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted() -> Wanted {
        Wanted {
            forced: vec![("PUBLIC_BASE_URL", "https://tg.example.org".into())],
            generated: vec![("ADMIN_API_KEY", "generated-admin-key".into()), ("SERVICE_WALLET_ID", "w1".into())],
        }
    }

    #[test]
    fn the_first_run_fills_the_example_and_names_what_it_lacks() {
        let text = merge(None, &wanted());
        let values = parse(&text);
        assert_eq!(values["PUBLIC_BASE_URL"], "https://tg.example.org");
        assert_eq!(values["ADMIN_API_KEY"], "generated-admin-key");
        assert_eq!(values["SERVICE_WALLET_ID"], "w1");
        assert!(text.contains("# Admin API key"), "the example's comments stay");
    }

    #[test]
    fn a_secret_already_there_is_kept_and_a_placeholder_replaced() {
        let existing = "ADMIN_API_KEY=mine-0123456789abcdef\nNOVIJ_LOOKUP_KEY=CHANGE_ME\nRUST_LOG=debug\n";
        let wanted = Wanted {
            forced: vec![],
            generated: vec![("ADMIN_API_KEY", "new".into()), ("NOVIJ_LOOKUP_KEY", "fresh".into())],
        };
        let values = parse(&merge(Some(existing), &wanted));
        assert_eq!(values["ADMIN_API_KEY"], "mine-0123456789abcdef");
        assert_eq!(values["NOVIJ_LOOKUP_KEY"], "fresh");
        assert_eq!(values["RUST_LOG"], "debug");
    }

    #[test]
    fn merging_twice_changes_nothing() {
        let once = merge(None, &wanted());
        let again = Wanted { forced: wanted().forced, generated: vec![("ADMIN_API_KEY", "other".into())] };
        assert_eq!(merge(Some(&once), &again), once);
    }
}
