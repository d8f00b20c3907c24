//! The keys the bucket keeps beside payloads' data keys, and rotating the
//! master keys.
//!
//! Values in the log are sealed with a lasting data key (`lasting-<kid>`,
//! one per master key, wrapped by it). `keys rotate` re-wraps every data key
//! with the current master key, and keeps every older master key in the
//! bucket too, wrapped by the current one: values an older key sealed
//! directly (earlier releases sealed the log's values with the master key,
//! and the log is never rewritten) stay readable through it. Once nothing
//! is wrapped by an old key, `keys retire` lets it leave the configuration.

use async_nats::jetstream::{self, kv};
use futures::TryStreamExt as _;
use novij_crypto::{Keyring, Sealed};
use sea_orm::{ConnectionTrait as _, DbBackend, Statement};

use crate::names::{entry_of, kid_of, retired_entry, LASTING_PREFIX, RETIRED_PREFIX};
use crate::payloads::{store_error, wrap_purpose};
use crate::{PayloadError, Payloads, BUCKET};

/// What a rotation did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rotated {
    /// Older master keys now kept wrapped by the current one.
    pub kept: Vec<String>,
    /// Data keys re-wrapped in the bucket.
    pub rewrapped: u64,
    /// Earlier releases' data keys re-wrapped in Postgres.
    pub rewrapped_legacy: u64,
}

/// Why a master key cannot leave the configuration yet.
#[derive(Debug, thiserror::Error)]
pub enum NotRetirable {
    #[error("{0} is the current master key: rotate to a new one first")]
    Current(String),
    #[error("{0} is not a configured master key")]
    Unknown(String),
    #[error("{0} is not kept wrapped by the current key yet: run `keys rotate` with the new key first")]
    NotKept(String),
    #[error("{count} data keys are still wrapped by {kid}: run `keys rotate` again once every service runs with the new key")]
    StillWrapping { kid: String, count: u64 },
    #[error(transparent)]
    Store(#[from] PayloadError),
}

/// The configured key ring with what the bucket keeps: every retired master
/// key (so what they sealed opens after they left the configuration) and
/// every lasting data key, the current master key's sealing the log's values
/// from now on (made by the first process that runs with it).
pub async fn with_stored_keys(js: &jetstream::Context, configured: Keyring) -> Result<Keyring, PayloadError> {
    let bucket = js.get_key_value(BUCKET).await.map_err(store_error)?;
    let names: Vec<String> = bucket.keys().await.map_err(store_error)?.try_collect().await.map_err(store_error)?;
    let mut keyring = configured;
    for name in names.iter().filter(|n| n.starts_with(RETIRED_PREFIX)) {
        let Some(wrapped) = read(&bucket, name).await? else { continue };
        let kid = kid_of(RETIRED_PREFIX, name).ok_or_else(|| store_error(format!("{name} names no key id")))?;
        let bytes = keyring.open(&wrap_purpose(name), &wrapped)?;
        keyring = keyring.with_retired(&kid, &bytes)?;
    }
    let sealing = entry_of(LASTING_PREFIX, keyring.current_kid());
    for name in names.iter().filter(|n| n.starts_with(LASTING_PREFIX) && **n != sealing) {
        let Some(wrapped) = read(&bucket, name).await? else { continue };
        let bytes = keyring.open(&wrap_purpose(name), &wrapped)?;
        keyring = keyring.with_data_key(name, &bytes, false)?;
    }
    let bytes = lasting_key(&bucket, &keyring, &sealing).await?;
    Ok(keyring.with_data_key(&sealing, &bytes, true)?)
}

/// The lasting data key `name`: read, or made if no process made it yet.
async fn lasting_key(bucket: &kv::Store, keyring: &Keyring, name: &str) -> Result<Vec<u8>, PayloadError> {
    if let Some(wrapped) = read(bucket, name).await? {
        return Ok(keyring.open(&wrap_purpose(name), &wrapped)?);
    }
    let (_, bytes) = novij_crypto::DataKey::generate(name)?;
    let wrapped = serde_json::to_vec(&keyring.wrap(&wrap_purpose(name), &bytes)?).map_err(store_error)?;
    match bucket.create(name, wrapped.into()).await {
        Ok(_) => Ok(bytes.to_vec()),
        // Another process made it first: use theirs.
        Err(_) => {
            let wrapped = read(bucket, name).await?.ok_or_else(|| store_error(format!("{name} could not be made")))?;
            Ok(keyring.open(&wrap_purpose(name), &wrapped)?)
        }
    }
}

/// The wrapped key of an entry, unless it was deleted.
async fn read(bucket: &kv::Store, name: &str) -> Result<Option<Sealed>, PayloadError> {
    match bucket.entry(name).await.map_err(store_error)? {
        Some(entry) if entry.operation == kv::Operation::Put => {
            serde_json::from_slice(&entry.value).map(Some).map_err(store_error)
        }
        _ => Ok(None),
    }
}

impl Payloads {
    /// Keeps every older master key wrapped by the current one, then
    /// re-wraps every data key wrapped by another. Safe to run again: what
    /// is already wrapped by the current key is left as it is.
    /// `progress(done, of)` hears of each data key looked at.
    pub async fn rotate(&self, progress: &mut (dyn FnMut(u64, u64) + Send)) -> Result<Rotated, PayloadError> {
        let current = self.keyring.current_kid().to_string();
        let mut rotated = Rotated::default();
        for (kid, bytes) in self.keyring.older_keys() {
            let name = retired_entry(kid);
            let wrapped = serde_json::to_vec(&self.keyring.wrap(&wrap_purpose(&name), bytes)?).map_err(store_error)?;
            self.bucket.put(&name, wrapped.into()).await.map_err(store_error)?;
            rotated.kept.push(kid.to_string());
        }
        let names = self.names().await?;
        let of = names.len() as u64;
        for (done, name) in (1..).zip(names) {
            progress(done, of);
            let Some(entry) = self.bucket.entry(&name).await.map_err(store_error)? else { continue };
            if entry.operation != kv::Operation::Put {
                continue;
            }
            let wrapped: Sealed = serde_json::from_slice(&entry.value).map_err(store_error)?;
            if wrapped.kid == current {
                continue;
            }
            let purpose = wrap_purpose(&name);
            let bytes = self.keyring.open(&purpose, &wrapped)?;
            let rewrapped = serde_json::to_vec(&self.keyring.wrap(&purpose, &bytes)?).map_err(store_error)?;
            // Fenced on the revision read: a key erased meanwhile stays erased.
            if self.bucket.update(&name, rewrapped.into(), entry.revision).await.is_ok() {
                rotated.rewrapped += 1;
            }
        }
        rotated.rewrapped_legacy = self.rewrap_legacy(&current).await?;
        Ok(rotated)
    }

    async fn names(&self) -> Result<Vec<String>, PayloadError> {
        self.bucket.keys().await.map_err(store_error)?.try_collect().await.map_err(store_error)
    }

    async fn legacy_keys(&self) -> Result<Vec<(String, Sealed)>, PayloadError> {
        let sql = "SELECT key_id, wrapped FROM payload_keys";
        let rows = self.db.query_all(Statement::from_string(DbBackend::Postgres, sql)).await?;
        rows.into_iter()
            .map(|row| {
                let key_id: String = row.try_get("", "key_id")?;
                let wrapped: serde_json::Value = row.try_get("", "wrapped")?;
                Ok((key_id, serde_json::from_value(wrapped).map_err(store_error)?))
            })
            .collect()
    }

    async fn rewrap_legacy(&self, current: &str) -> Result<u64, PayloadError> {
        let mut rewrapped = 0;
        for (key_id, wrapped) in self.legacy_keys().await? {
            if wrapped.kid == current {
                continue;
            }
            let purpose = wrap_purpose(&key_id);
            let bytes = self.keyring.open(&purpose, &wrapped)?;
            let new = serde_json::to_value(self.keyring.wrap(&purpose, &bytes)?).map_err(store_error)?;
            let old = serde_json::to_value(&wrapped).map_err(store_error)?;
            let sql = "UPDATE payload_keys SET wrapped = $1 WHERE key_id = $2 AND wrapped = $3";
            let done = self
                .db
                .execute(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    sql,
                    [new.into(), key_id.into(), old.into()],
                ))
                .await?;
            rewrapped += done.rows_affected();
        }
        Ok(rewrapped)
    }

    /// Whether master key `kid` may leave the configuration: it is not the
    /// current one, it is kept wrapped by another, and no data key is
    /// wrapped by it any more.
    pub async fn retirable(&self, kid: &str) -> Result<(), NotRetirable> {
        if self.keyring.current_kid() == kid {
            return Err(NotRetirable::Current(kid.to_string()));
        }
        if !self.keyring.configured_kids().contains(&kid) {
            return Err(NotRetirable::Unknown(kid.to_string()));
        }
        let kept = read(&self.bucket, &retired_entry(kid)).await?;
        if kept.is_none_or(|wrapped| wrapped.kid == kid) {
            return Err(NotRetirable::NotKept(kid.to_string()));
        }
        let mut count = 0;
        for name in self.names().await? {
            if read(&self.bucket, &name).await?.is_some_and(|wrapped| wrapped.kid == kid) {
                count += 1;
            }
        }
        count += self.legacy_keys().await?.iter().filter(|(_, wrapped)| wrapped.kid == kid).count() as u64;
        match count {
            0 => Ok(()),
            count => Err(NotRetirable::StillWrapping { kid: kid.to_string(), count }),
        }
    }
}
