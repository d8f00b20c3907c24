//! Temporary payloads (message text, chat ids of a send, template output),
//! sealed with data keys that live in the JetStream key-value bucket
//! `payload_keys`, wrapped by the master key ring.
//!
//! Payloads that expire within the same epoch (`PAYLOAD_KEY_EPOCH_SECONDS`,
//! at most an hour) share one key per process, named after the end of its
//! epoch (`e<unix seconds>-<random>`). Sealing therefore costs one key-value
//! write per epoch, not one per message, and opening reads each key once.
//! Cleanup erases every key whose epoch has ended, which shreds every copy
//! of what it sealed, the event log's included: at most one epoch after the
//! payload expired. A value that lives until it is shredded explicitly (a
//! custom bot's token) has a key of its own (`t<random>`).
//!
//! Keys of earlier releases (one per payload, in Postgres' `payload_keys`
//! table) are still opened and shredded there.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_nats::jetstream::{self, kv};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use novij_crypto::{data_key_id, DataKey, Keyring, KeyringError, Sealed};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

/// The key-value bucket of data keys.
pub const BUCKET: &str = "payload_keys";

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The payload's key was deleted at cleanup: it can never be read again.
    #[error("the payload has expired and its key was deleted")]
    Shredded,
    #[error("payload key store: {0}")]
    Store(String),
    #[error(transparent)]
    Crypto(#[from] KeyringError),
}

impl From<DbErr> for PayloadError {
    fn from(e: DbErr) -> Self {
        PayloadError::Store(e.to_string())
    }
}

pub(crate) fn store_error(e: impl std::fmt::Display) -> PayloadError {
    PayloadError::Store(e.to_string())
}

/// What a key's name says about its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    /// Shared by payloads of one epoch; erased once it ends (unix seconds).
    Epoch { ends: i64 },
    /// One value's own key, erased only when that value is shredded.
    Own,
    /// A key that seals every value of the log (one per master key), which
    /// every process holds in its key ring (`rotation::with_stored_keys`).
    Lasting,
    /// One payload's key in Postgres, from an earlier release.
    Legacy,
}

fn kind_of(key_id: &str) -> KeyKind {
    if let Some(ends) = key_id.strip_prefix('e').and_then(|rest| rest.split_once('-')).and_then(|(s, _)| s.parse().ok())
    {
        return KeyKind::Epoch { ends };
    }
    if key_id.starts_with(crate::names::LASTING_PREFIX) {
        return KeyKind::Lasting;
    }
    match key_id.strip_prefix('t') {
        Some(rest) if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_hexdigit()) => KeyKind::Own,
        _ => KeyKind::Legacy,
    }
}

/// The end of the epoch that contains `expires_at` (epochs end on multiples
/// of `epoch_seconds` since the Unix epoch).
fn epoch_end(expires_at: DateTime<Utc>, epoch_seconds: i64) -> i64 {
    let at = expires_at.timestamp();
    let epoch = epoch_seconds.max(1);
    (at.div_euclid(epoch) + 1) * epoch
}

pub(crate) fn wrap_purpose(key_id: &str) -> String {
    format!("payload_key/{key_id}")
}

fn random_hex() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[derive(Default)]
struct Keys {
    /// This process's sealing key per epoch end.
    sealing: HashMap<i64, Arc<DataKey>>,
    /// Epoch keys already read, by id.
    opened: HashMap<String, (i64, Arc<DataKey>)>,
}

/// The key store and the key ring that wraps it.
#[derive(Clone)]
pub struct Payloads {
    pub(crate) bucket: kv::Store,
    pub(crate) db: DatabaseConnection,
    pub(crate) keyring: Arc<Keyring>,
    epoch_seconds: i64,
    keys: Arc<Mutex<Keys>>,
    /// One sealing key is made per epoch even when many requests need it at once.
    making: Arc<tokio::sync::Mutex<()>>,
}

impl Payloads {
    /// Opens the key bucket (the topology made it).
    pub async fn connect(
        js: &jetstream::Context,
        db: DatabaseConnection,
        keyring: Arc<Keyring>,
        epoch_seconds: u32,
    ) -> Result<Self, PayloadError> {
        // The bucket's stream is part of the topology (`nats/streams/KV_payload_keys.json`).
        let bucket = js.get_key_value(BUCKET).await.map_err(store_error)?;
        Ok(Self {
            bucket,
            db,
            keyring,
            epoch_seconds: i64::from(epoch_seconds.max(1)),
            keys: Arc::default(),
            making: Arc::default(),
        })
    }

    fn keys(&self) -> MutexGuard<'_, Keys> {
        // Each change under the lock is one insert or retain: never half done.
        self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Seals `plaintext` so that it can be shredded (by cleanup) from
    /// `expires_at` on, and is at most one epoch later.
    pub async fn seal(
        &self,
        purpose: &str,
        plaintext: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<Sealed, PayloadError> {
        let ends = epoch_end(expires_at, self.epoch_seconds);
        let cached = self.keys().sealing.get(&ends).cloned();
        let key = match cached {
            Some(key) => key,
            None => self.make_sealing_key(ends).await?,
        };
        Ok(key.seal(purpose, plaintext)?)
    }

    async fn make_sealing_key(&self, ends: i64) -> Result<Arc<DataKey>, PayloadError> {
        let _making = self.making.lock().await;
        if let Some(key) = self.keys().sealing.get(&ends).cloned() {
            return Ok(key);
        }
        let key = Arc::new(self.store_new_key(&format!("e{ends}-{}", random_hex())).await?);
        let now = Utc::now().timestamp();
        let mut keys = self.keys();
        keys.sealing.retain(|end, _| *end > now);
        keys.sealing.insert(ends, key.clone());
        Ok(key)
    }

    async fn store_new_key(&self, key_id: &str) -> Result<DataKey, PayloadError> {
        let (key, bytes) = DataKey::generate(key_id)?;
        let wrapped = serde_json::to_vec(&self.keyring.wrap(&wrap_purpose(key_id), &bytes)?).map_err(store_error)?;
        self.bucket.create(key_id, wrapped.into()).await.map_err(store_error)?;
        Ok(key)
    }

    /// Seals a value with a key of its own that cleanup never expires: it
    /// lives until [`Payloads::shred`] (a custom bot's token, until its
    /// integration is deleted).
    pub async fn seal_until_shredded(&self, purpose: &str, plaintext: &[u8]) -> Result<Sealed, PayloadError> {
        let key = self.store_new_key(&format!("t{}", random_hex())).await?;
        Ok(key.seal(purpose, plaintext)?)
    }

    /// Opens a payload sealed by [`Payloads::seal`] or
    /// [`Payloads::seal_until_shredded`], by an earlier release's per-payload
    /// key, or by the key ring itself (values that are not temporary).
    pub async fn open(&self, purpose: &str, sealed: &Sealed) -> Result<Vec<u8>, PayloadError> {
        let Some(key_id) = data_key_id(sealed) else { return Ok(self.keyring.open(purpose, sealed)?) };
        let key = match kind_of(key_id) {
            KeyKind::Epoch { ends } => self.epoch_key(key_id, ends).await?,
            KeyKind::Own => Arc::new(self.read_key(key_id).await?),
            KeyKind::Lasting => return Ok(self.keyring.open(purpose, sealed)?),
            KeyKind::Legacy => Arc::new(self.read_legacy_key(key_id).await?),
        };
        Ok(key.open(purpose, sealed)?)
    }

    async fn epoch_key(&self, key_id: &str, ends: i64) -> Result<Arc<DataKey>, PayloadError> {
        let now = Utc::now().timestamp();
        // Ended: cleanup erases it any moment; it must not outlive that here.
        if ends <= now {
            self.keys().opened.remove(key_id);
            return Err(PayloadError::Shredded);
        }
        if let Some((_, key)) = self.keys().opened.get(key_id) {
            return Ok(key.clone());
        }
        let key = Arc::new(self.read_key(key_id).await?);
        let mut keys = self.keys();
        keys.opened.retain(|_, (end, _)| *end > now);
        keys.opened.insert(key_id.to_string(), (ends, key.clone()));
        Ok(key)
    }

    async fn read_key(&self, key_id: &str) -> Result<DataKey, PayloadError> {
        let wrapped = self.bucket.get(key_id).await.map_err(store_error)?.ok_or(PayloadError::Shredded)?;
        let wrapped: Sealed = serde_json::from_slice(&wrapped).map_err(store_error)?;
        let bytes = self.keyring.open(&wrap_purpose(key_id), &wrapped)?;
        Ok(DataKey::from_bytes(key_id, &bytes)?)
    }

    async fn read_legacy_key(&self, key_id: &str) -> Result<DataKey, PayloadError> {
        let row = self
            .db
            .query_one(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT wrapped FROM payload_keys WHERE key_id = $1",
                [key_id.into()],
            ))
            .await?
            .ok_or(PayloadError::Shredded)?;
        let wrapped: serde_json::Value = row.try_get("", "wrapped")?;
        let wrapped: Sealed = serde_json::from_value(wrapped).map_err(store_error)?;
        let bytes = self.keyring.open(&wrap_purpose(key_id), &wrapped)?;
        Ok(DataKey::from_bytes(key_id, &bytes)?)
    }

    /// Erases the key of one value sealed by
    /// [`Payloads::seal_until_shredded`] (or an earlier release's own key),
    /// so it can never be opened again. A value sealed by the key ring, or
    /// with an epoch's shared key, has no key of its own (false).
    pub async fn shred(&self, sealed: &Sealed) -> Result<bool, PayloadError> {
        let Some(key_id) = data_key_id(sealed) else { return Ok(false) };
        match kind_of(key_id) {
            KeyKind::Epoch { .. } | KeyKind::Lasting => Ok(false),
            KeyKind::Own => self.erase(key_id).await,
            KeyKind::Legacy => Ok(self.delete_legacy("key_id = $1", key_id.into()).await? > 0),
        }
    }

    /// Deletes an earlier release's keys from Postgres (`condition` on `$1`).
    async fn delete_legacy(&self, condition: &str, value: sea_orm::Value) -> Result<u64, PayloadError> {
        let sql = format!("DELETE FROM payload_keys WHERE {condition}");
        let done = self.db.execute(Statement::from_sql_and_values(DbBackend::Postgres, sql, [value])).await?;
        Ok(done.rows_affected())
    }

    /// Overwrites the key's message in the bucket's stream (JetStream erases
    /// a deleted message's bytes unless told not to), then purges the key.
    async fn erase(&self, key_id: &str) -> Result<bool, PayloadError> {
        let Some(entry) = self.bucket.entry(key_id).await.map_err(store_error)? else { return Ok(false) };
        if entry.operation != kv::Operation::Put {
            return Ok(false);
        }
        self.bucket.stream.delete_message(entry.revision).await.map_err(store_error)?;
        self.bucket.purge(key_id).await.map_err(store_error)?;
        Ok(true)
    }

    /// Erases every key whose epoch ended by `now` (and earlier releases'
    /// expired keys); returns how many keys were erased.
    pub async fn shred_expired(&self, now: DateTime<Utc>) -> Result<u64, PayloadError> {
        let ended: Vec<String> = match self.bucket.keys().await {
            Ok(keys) => keys
                .try_filter(|key| {
                    std::future::ready(matches!(kind_of(key), KeyKind::Epoch { ends } if ends <= now.timestamp()))
                })
                .try_collect()
                .await
                .map_err(store_error)?,
            Err(e) => return Err(store_error(e)),
        };
        let mut erased = 0;
        for key_id in ended {
            if self.erase(&key_id).await? {
                erased += 1;
            }
        }
        Ok(erased + self.delete_legacy("expires_at <= $1", now.into()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_name_says_how_long_the_key_lives() {
        assert_eq!(kind_of("e1767225600-0f3a"), KeyKind::Epoch { ends: 1_767_225_600 });
        assert_eq!(kind_of("t0f3a9c"), KeyKind::Own);
        assert_eq!(kind_of("lasting-6b31"), KeyKind::Lasting);
        assert_eq!(kind_of("6f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"), KeyKind::Legacy);
        assert_eq!(kind_of("t"), KeyKind::Legacy);
        assert_eq!(kind_of("exyz-1"), KeyKind::Legacy);
    }

    #[test]
    fn a_payload_is_sealed_with_the_key_of_the_epoch_it_expires_in() {
        let at = |s| DateTime::from_timestamp(s, 0).unwrap();
        assert_eq!(epoch_end(at(7_200), 3_600), 10_800, "an expiry on the boundary belongs to the next epoch");
        assert_eq!(epoch_end(at(7_201), 3_600), 10_800);
        assert_eq!(epoch_end(at(10_799), 3_600), 10_800);
        assert_eq!(epoch_end(at(10_799), 1), 10_800);
    }
}
