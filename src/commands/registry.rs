//! `service-registry:status|register|update|verify`: this service's entry in
//! the Service Registry (docs/REGISTRY.md), made from the same manifest the
//! ingress serves at `/.well-known/novij/service`.

use std::time::Duration;

use anyhow::Context as _;
use novij_registry_client::{Entry, Registered, RegistryClient, RegistryError, VerificationStatus};

use super::{load_config, Unreachable};

/// How long one registry call may take (a verification fetches our URLs).
const REGISTRY_TIMEOUT: Duration = Duration::from_secs(20);

/// The entry this service should have, and a client of the registry.
fn ours() -> anyhow::Result<(Entry, RegistryClient)> {
    let config = load_config()?;
    let registry = &config.registry;
    let url = registry.url.as_deref().context("SERVICE_REGISTRY_URL is not set")?;
    let client = RegistryClient::new(url, registry.api_key.clone(), REGISTRY_TIMEOUT)?;
    let manifest = novij_ingress::manifest_of(&config);
    let entry = Entry {
        service_id: registry.service_id.clone(),
        kind: manifest.kind,
        name: manifest.name,
        version: manifest.version,
        manifest_url: format!("{}{}", manifest.public_base_url, novij_ingress::WELL_KNOWN_SERVICE),
        base_url: manifest.public_base_url,
        health_url: manifest.health_url,
        wallet_id: manifest.wallet_id,
    };
    Ok((entry, client))
}

/// A registry that cannot be asked is a dependency unreachable (exit 3).
fn asked<T>(answer: Result<T, RegistryError>) -> anyhow::Result<T> {
    answer.map_err(|e| match e.is_unreachable() {
        true => anyhow::Error::new(Unreachable::new("the Service Registry", e)),
        false => anyhow::Error::new(e),
    })
}

/// The registry's state and our entry there, against what it should be.
pub async fn status(json: bool) -> anyhow::Result<()> {
    let (entry, client) = ours()?;
    asked(client.health().await).context("the Service Registry does not answer its health check")?;
    let found = asked(client.entry(&entry.service_id).await)?;
    let current = found.as_ref().is_some_and(|f| f.entry == entry);
    if json {
        let report = serde_json::json!({
            "registry": "ok", "service_id": entry.service_id, "entry": found, "expected": entry, "current": current,
        });
        println!("{report}");
        return Ok(());
    }
    println!("registry:       ok");
    println!("service id:     {}", entry.service_id);
    match &found {
        None => println!("entry:          none (run service-registry:register)"),
        Some(found) => {
            println!("entry:          registered {}, updated {}", found.registered_at, found.updated_at);
            let state = if current { "current" } else { "out of date (run service-registry:update)" };
            println!("entry matches:  {state}");
            match &found.last_verification {
                Some(v) => println!("last verified:  {:?} at {}", v.status, v.checked_at),
                None => println!("last verified:  never"),
            }
        }
    }
    Ok(())
}

/// Adds this service to the registry.
pub async fn register(json: bool) -> anyhow::Result<()> {
    let (entry, client) = ours()?;
    let registered = match client.register(&entry).await {
        Err(RegistryError::Exists) => {
            anyhow::bail!("{} is already registered: run service-registry:update", entry.service_id)
        }
        other => asked(other)?,
    };
    show(&registered, "registered", json)
}

/// Brings this service's entry to what the service is now.
pub async fn update(json: bool) -> anyhow::Result<()> {
    let (entry, client) = ours()?;
    let updated = match client.update(&entry).await {
        Err(RegistryError::NotFound) => {
            anyhow::bail!("{} is not registered: run service-registry:register", entry.service_id)
        }
        other => asked(other)?,
    };
    show(&updated, "updated", json)
}

fn show(entry: &Registered, what: &str, json: bool) -> anyhow::Result<()> {
    match json {
        true => println!("{}", serde_json::to_string(entry)?),
        false => println!("{what} {} (version {})", entry.entry.service_id, entry.entry.version),
    }
    Ok(())
}

/// Has the registry fetch our well-known URLs and compare them with our entry;
/// fails, naming each difference, unless they agree.
pub async fn verify(json: bool) -> anyhow::Result<()> {
    let (entry, client) = ours()?;
    let verification = match client.verify(&entry.service_id).await {
        Err(RegistryError::NotFound) => {
            anyhow::bail!("{} is not registered: run service-registry:register", entry.service_id)
        }
        other => asked(other)?,
    };
    if json {
        println!("{}", serde_json::to_string(&verification)?);
    }
    match verification.status {
        VerificationStatus::Verified => {
            if !json {
                println!("verified: the registry reads the same as this service says");
            }
            Ok(())
        }
        status => {
            let problems = verification.problems.join("\n  ");
            anyhow::bail!("the registry's verification says {status:?}:\n  {problems}")
        }
    }
}
