//! Project API keys made at run time (`POST /api-keys`), kept in memory from
//! the log by every ingress: a key made or revoked on one instance acts, or
//! stops acting, on every instance as soon as the follower reads its event.
//! A presented key is looked up by its keyed hash; the key itself is kept
//! nowhere.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use async_nats::jetstream;
use chrono::{DateTime, Utc};
use novij_events::api_key::{ApiKeyCreated, ApiKeyRevoked};
use novij_events::{subjects, AnyEvent, Envelope};
use serde::Serialize;
use tokio::sync::watch;
use utoipa::ToSchema;

use crate::offered::follow_log;

/// A key as lists show it (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct KeyView {
    pub key_id: String,
    pub project_id: String,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Set once revoked: the key acts for nobody from then on.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Default)]
struct Keys {
    /// Keyed hash → key id, of keys not revoked.
    live: HashMap<String, String>,
    views: BTreeMap<String, KeyView>,
}

#[derive(Clone)]
pub struct ApiKeys(Arc<RwLock<Keys>>);

impl ApiKeys {
    pub fn start(js: jetstream::Context, shutdown: watch::Receiver<bool>) -> Self {
        let keys = Self(Arc::default());
        let filters = vec![subjects::all_of::<ApiKeyCreated>(), subjects::all_of::<ApiKeyRevoked>()];
        let (ready, _) = watch::channel(false);
        let observer = keys.clone();
        follow_log(js, filters, shutdown, ready, "API keys", move |_, event| match event {
            AnyEvent::ApiKeyCreated(e) => observer.created(&e),
            AnyEvent::ApiKeyRevoked(e) => observer.revoked(&e),
            _ => {}
        });
        keys
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Keys> {
        // Each change under the lock is one insert or remove: never half done.
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The live key with this keyed hash: its id and project.
    pub fn find(&self, key_hash: &str) -> Option<(String, String)> {
        let keys = self.read();
        let key_id = keys.live.get(key_hash)?;
        keys.views.get(key_id).map(|v| (v.key_id.clone(), v.project_id.clone()))
    }

    /// Every key (of `project_id`, if given), oldest first.
    pub fn list(&self, project_id: Option<&str>) -> Vec<KeyView> {
        let mut views: Vec<KeyView> =
            self.read().views.values().filter(|v| project_id.is_none_or(|p| v.project_id == p)).cloned().collect();
        views.sort_by(|a, b| (a.created_at, &a.key_id).cmp(&(b.created_at, &b.key_id)));
        views
    }

    /// Takes a key this instance just made or revoked at once, before the
    /// follower reads it: the caller's next request reads its own write.
    pub fn created(&self, e: &Envelope<ApiKeyCreated>) {
        let p = &e.payload;
        let mut keys = self.write();
        if keys.views.get(&p.key_id).is_some_and(|v| v.revoked_at.is_some()) {
            return;
        }
        keys.live.insert(p.key_hash.clone(), p.key_id.clone());
        let view = KeyView {
            key_id: p.key_id.clone(),
            project_id: p.project_id.clone(),
            label: p.label.clone(),
            created_at: e.occurred_at,
            revoked_at: None,
        };
        keys.views.insert(p.key_id.clone(), view);
    }

    pub fn revoked(&self, e: &Envelope<ApiKeyRevoked>) {
        let mut keys = self.write();
        keys.live.retain(|_, key_id| *key_id != e.payload.key_id);
        if let Some(view) = keys.views.get_mut(&e.payload.key_id) {
            view.revoked_at.get_or_insert(e.occurred_at);
        }
    }
}
