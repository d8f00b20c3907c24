//! The in-memory registry: entries by service_id and the API key guarding `/v1`.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use chrono::Utc;

use crate::error::RegistryError;
use crate::model::{self, Entry, ServiceEntry, Verification};
use crate::verify;

/// The emulated registry, shared by the HTTP front and in-process tests.
#[derive(Debug)]
pub struct Registry {
    api_key: Option<String>,
    /// Ordered by service_id, which is the order the control API lists them in.
    services: Mutex<BTreeMap<String, ServiceEntry>>,
    client: reqwest::Client,
}

impl Registry {
    /// An empty registry; `api_key` guards the public API.
    pub fn new(api_key: Option<String>) -> anyhow::Result<Self> {
        let client = verify::client().map_err(|e| anyhow::anyhow!("cannot build the verification client: {e}"))?;
        Ok(Self { api_key, services: Mutex::new(BTreeMap::new()), client })
    }

    /// Locks the entries. A panic elsewhere must not wedge the emulator.
    fn services(&self) -> MutexGuard<'_, BTreeMap<String, ServiceEntry>> {
        self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether an `Authorization` header value grants access to the public API.
    pub fn authorizes(&self, authorization: Option<&str>) -> bool {
        match &self.api_key {
            None => true,
            Some(key) => authorization.and_then(|h| h.strip_prefix("Bearer ")) == Some(key.as_str()),
        }
    }

    /// Adds a new entry, not yet verified.
    pub fn register(&self, entry: Entry) -> Result<ServiceEntry, RegistryError> {
        model::validate(&entry)?;
        let mut services = self.services();
        if services.contains_key(&entry.service_id) {
            return Err(RegistryError::ServiceExists(entry.service_id));
        }
        let now = Utc::now();
        let stored = ServiceEntry { entry, registered_at: now, updated_at: now, last_verification: None };
        services.insert(stored.entry.service_id.clone(), stored.clone());
        Ok(stored)
    }

    pub fn service(&self, service_id: &str) -> Result<ServiceEntry, RegistryError> {
        self.services().get(service_id).cloned().ok_or_else(|| RegistryError::ServiceNotFound(service_id.into()))
    }

    /// Replaces an entry's fields, keeping when it was registered and its last verification.
    pub fn update(&self, service_id: &str, entry: Entry) -> Result<ServiceEntry, RegistryError> {
        model::validate(&entry)?;
        if entry.service_id != service_id {
            return Err(RegistryError::invalid(
                "service_id",
                format!("the body's service_id {:?} differs from the path's {service_id:?}", entry.service_id),
            ));
        }
        let mut services = self.services();
        let stored = services.get_mut(service_id).ok_or_else(|| RegistryError::ServiceNotFound(service_id.into()))?;
        stored.entry = entry;
        stored.updated_at = Utc::now();
        Ok(stored.clone())
    }

    /// Every entry, ordered by service_id.
    pub fn list(&self) -> Vec<ServiceEntry> {
        self.services().values().cloned().collect()
    }

    /// Fetches the entry's manifest and health and records the outcome as its
    /// last verification. The lock is not held while fetching: a slow service
    /// must not stall the registry. If the entry was changed meanwhile, the
    /// outcome judged the old fields, so it is answered but not recorded.
    pub async fn verify(&self, service_id: &str) -> Result<Verification, RegistryError> {
        let checked = self.service(service_id)?.entry;
        let verification = verify::verify(&self.client, &checked).await;
        let mut services = self.services();
        let stored = services.get_mut(service_id).ok_or_else(|| RegistryError::ServiceNotFound(service_id.into()))?;
        if stored.entry == checked {
            stored.last_verification = Some(verification.clone());
        }
        Ok(verification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(service_id: &str) -> Entry {
        Entry {
            service_id: service_id.into(),
            kind: "k".into(),
            name: "n".into(),
            version: "1".into(),
            base_url: "http://127.0.0.1:9".into(),
            manifest_url: "http://127.0.0.1:9/m".into(),
            health_url: "http://127.0.0.1:9/h".into(),
            wallet_id: None,
        }
    }

    #[test]
    fn the_key_is_required_exactly_when_configured() {
        let open = Registry::new(None).expect("registry");
        assert!(open.authorizes(None));
        assert!(open.authorizes(Some("Bearer anything")));
        let guarded = Registry::new(Some("k1".into())).expect("registry");
        assert!(guarded.authorizes(Some("Bearer k1")));
        for bad in [None, Some("k1"), Some("Bearer k1 "), Some("bearer k1"), Some("Bearer k"), Some("Bearer  k1")] {
            assert!(!guarded.authorizes(bad), "{bad:?}");
        }
    }

    #[test]
    fn entries_are_registered_once_and_updated_in_place() {
        let registry = Registry::new(None).expect("registry");
        let first = registry.register(entry("b.test")).expect("registered");
        assert_eq!(first.registered_at, first.updated_at);
        assert_eq!(registry.register(entry("b.test")), Err(RegistryError::ServiceExists("b.test".into())));
        registry.register(entry("a.test")).expect("registered");

        let mut changed = entry("b.test");
        changed.version = "2".into();
        let updated = registry.update("b.test", changed.clone()).expect("updated");
        assert_eq!((updated.entry, updated.registered_at), (changed, first.registered_at));
        assert!(updated.updated_at >= first.updated_at);

        let ids: Vec<_> = registry.list().into_iter().map(|s| s.entry.service_id).collect();
        assert_eq!(ids, ["a.test", "b.test"]);
    }

    #[test]
    fn updates_refuse_another_id_and_unknown_entries() {
        let registry = Registry::new(None).expect("registry");
        registry.register(entry("a.test")).expect("registered");
        let e = registry.update("a.test", entry("b.test")).expect_err("refused");
        assert_eq!((e.code(), e.field()), ("invalid_entry", Some("service_id")));
        assert_eq!(registry.update("c.test", entry("c.test")), Err(RegistryError::ServiceNotFound("c.test".into())));
        assert_eq!(registry.service("c.test"), Err(RegistryError::ServiceNotFound("c.test".into())));
    }

    #[test]
    fn in_process_registration_is_validated_too() {
        let registry = Registry::new(None).expect("registry");
        let e = registry.register(entry("Upper")).expect_err("refused");
        assert_eq!(e.field(), Some("service_id"));
        assert!(registry.list().is_empty());
    }
}
