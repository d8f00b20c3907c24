//! Temporary payloads (message text, chat ids of a send, template output):
//! each sealed with its own data key, stored wrapped by the master key ring in
//! `payload_keys` with an expiry. Cleanup deletes expired keys, which shreds
//! every copy of the payload, the event log's included.

use chrono::{DateTime, Utc};
use novij_crypto::{data_key_id, DataKey, Keyring, KeyringError, Sealed};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The payload's key was deleted at cleanup: it can never be read again.
    #[error("the payload has expired and its key was deleted")]
    Shredded,
    #[error("payload key store: {0}")]
    Store(#[from] DbErr),
    #[error(transparent)]
    Crypto(#[from] KeyringError),
}

/// The key store and the key ring that wraps it.
#[derive(Clone)]
pub struct Payloads {
    db: DatabaseConnection,
    keyring: std::sync::Arc<Keyring>,
}

fn wrap_purpose(key_id: &str) -> String {
    format!("payload_key/{key_id}")
}

impl Payloads {
    pub fn new(db: DatabaseConnection, keyring: std::sync::Arc<Keyring>) -> Self {
        Self { db, keyring }
    }

    /// Seals `plaintext` with a fresh data key that may be deleted after `expires_at`.
    pub async fn seal(
        &self,
        purpose: &str,
        plaintext: &[u8],
        expires_at: DateTime<Utc>,
    ) -> Result<Sealed, PayloadError> {
        let key_id = uuid::Uuid::new_v4().simple().to_string();
        let (key, bytes) = DataKey::generate(&key_id)?;
        let wrapped = self.keyring.seal(&wrap_purpose(&key_id), &bytes)?;
        let wrapped = serde_json::to_value(&wrapped).map_err(|e| DbErr::Custom(e.to_string()))?;
        self.db
            .execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO payload_keys (key_id, wrapped, expires_at) VALUES ($1, $2, $3)",
                [key_id.into(), wrapped.into(), expires_at.into()],
            ))
            .await?;
        Ok(key.seal(purpose, plaintext)?)
    }

    /// Seals a value with a data key that cleanup never expires: it lives
    /// until [`Payloads::shred`] (a custom bot's token, until its integration
    /// is deleted).
    pub async fn seal_until_shredded(&self, purpose: &str, plaintext: &[u8]) -> Result<Sealed, PayloadError> {
        // 9999-12-31T23:59:59Z, the last instant every store represents.
        let never = DateTime::from_timestamp(253_402_300_799, 0).unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.seal(purpose, plaintext, never).await
    }

    /// Opens a payload sealed by [`Payloads::seal`], or by the key ring itself
    /// (values that are not temporary, and payloads of older versions).
    pub async fn open(&self, purpose: &str, sealed: &Sealed) -> Result<Vec<u8>, PayloadError> {
        let Some(key_id) = data_key_id(sealed) else { return Ok(self.keyring.open(purpose, sealed)?) };
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
        let wrapped: Sealed = serde_json::from_value(wrapped).map_err(|e| DbErr::Custom(e.to_string()))?;
        let bytes = self.keyring.open(&wrap_purpose(key_id), &wrapped)?;
        Ok(DataKey::from_bytes(key_id, &bytes)?.open(purpose, sealed)?)
    }

    /// Deletes the key of one payload sealed by [`Payloads::seal`], so it can
    /// never be opened again; a value sealed by the key ring has no key of its
    /// own (false).
    pub async fn shred(&self, sealed: &Sealed) -> Result<bool, DbErr> {
        let Some(key_id) = data_key_id(sealed) else { return Ok(false) };
        let done = self
            .db
            .execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "DELETE FROM payload_keys WHERE key_id = $1",
                [key_id.into()],
            ))
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes every key expired at `now`; returns how many payloads were shredded.
    pub async fn shred_expired(&self, now: DateTime<Utc>) -> Result<u64, DbErr> {
        let done = self
            .db
            .execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "DELETE FROM payload_keys WHERE expires_at <= $1",
                [now.into()],
            ))
            .await?;
        Ok(done.rows_affected())
    }
}
