//! Uploaded files in the NATS object store `uploads`, sealed.
//!
//! Each file gets its own random data key, returned wrapped by the master
//! key for the `upload.stored` event; the object holds the file as sealed
//! chunks, one JSON line each, every chunk bound to the upload and its
//! position (a chunk cannot be moved or dropped unnoticed). Writing streams:
//! at most one chunk of the file is in memory. Removing the object shreds
//! the file; the wrapped key left on the log opens nothing.

use std::sync::Arc;

use async_nats::jetstream::{self, object_store};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use novij_crypto::{DataKey, Keyring, KeyringError, Sealed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The object store bucket (stream `OBJ_uploads`).
pub const BUCKET: &str = "uploads";
/// Plaintext bytes per sealed chunk.
const CHUNK_BYTES: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than {max} bytes")]
    TooLarge { max: u64 },
    #[error("the file is empty")]
    Empty,
    /// The client's body broke off or could not be read.
    #[error("reading the upload: {0}")]
    Body(String),
    #[error("the object store: {0}")]
    Store(String),
    #[error("the upload's object is gone")]
    Missing,
    #[error("the upload's object is damaged: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Crypto(#[from] KeyringError),
}

/// What [`Uploads::put`] stored, for the `upload.stored` event.
#[derive(Debug, Clone)]
pub struct Stored {
    pub size: u64,
    pub chunks: u32,
    /// The file's data key, wrapped by the master key.
    pub key: Sealed,
}

#[derive(Clone)]
pub struct Uploads {
    store: object_store::ObjectStore,
    keyring: Arc<Keyring>,
}

fn store_error(e: impl std::fmt::Display) -> UploadError {
    UploadError::Store(e.to_string())
}

fn key_purpose(upload_id: &str) -> String {
    format!("upload_key:{upload_id}")
}

fn chunk_purpose(upload_id: &str, index: u32) -> String {
    format!("upload_chunk:{upload_id}:{index}")
}

impl Uploads {
    /// The bucket, created when it does not exist yet.
    pub async fn open(js: &jetstream::Context, replicas: usize, keyring: Arc<Keyring>) -> Result<Self, UploadError> {
        let store = match js.get_object_store(BUCKET).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: BUCKET.to_string(),
                    description: Some("Uploaded files, sealed, until every send using them has ended".into()),
                    storage: jetstream::stream::StorageType::File,
                    num_replicas: replicas,
                    ..Default::default()
                })
                .await
                .map_err(store_error)?,
        };
        Ok(Self { store, keyring })
    }

    /// Stores `body` sealed as `upload_id`; more than `max_bytes` is refused
    /// and nothing is kept.
    pub async fn put<S, E>(&self, upload_id: &str, body: S, max_bytes: u64) -> Result<Stored, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let (key, raw) = DataKey::generate(upload_id)?;
        let wrapped = self.keyring.seal(&key_purpose(upload_id), &raw)?;
        let (mut writer, reader) = tokio::io::duplex(2 * CHUNK_BYTES);
        let seal = async move {
            let mut body = body;
            let (mut buffer, mut size, mut chunks) = (BytesMut::new(), 0u64, 0u32);
            let write_chunk = |chunk: &[u8], chunks: &mut u32| -> Result<Vec<u8>, UploadError> {
                let sealed = key.seal(&chunk_purpose(upload_id, *chunks), chunk)?;
                *chunks += 1;
                let mut line = serde_json::to_vec(&sealed).map_err(|e| UploadError::Corrupt(e.to_string()))?;
                line.push(b'\n');
                Ok(line)
            };
            while let Some(part) = body.next().await {
                let part = part.map_err(|e| UploadError::Body(e.to_string()))?;
                size += part.len() as u64;
                if size > max_bytes {
                    return Err(UploadError::TooLarge { max: max_bytes });
                }
                buffer.extend_from_slice(&part);
                while buffer.len() >= CHUNK_BYTES {
                    let chunk = buffer.split_to(CHUNK_BYTES);
                    let line = write_chunk(&chunk, &mut chunks)?;
                    writer.write_all(&line).await.map_err(store_error)?;
                }
            }
            if size == 0 {
                return Err(UploadError::Empty);
            }
            if !buffer.is_empty() {
                let line = write_chunk(&buffer, &mut chunks)?;
                writer.write_all(&line).await.map_err(store_error)?;
            }
            writer.shutdown().await.map_err(store_error)?;
            Ok((size, chunks))
        };
        // The reader goes with the put, so a failed put fails the writer too.
        let put = async move {
            let mut reader = reader;
            self.store.put(upload_id, &mut reader).await
        };
        let (sealed, put) = tokio::join!(seal, put);
        match (sealed, put) {
            (Ok((size, chunks)), Ok(_)) => Ok(Stored { size, chunks, key: wrapped }),
            (sealed, put) => {
                // A refused body may have reached the store in part.
                if put.is_ok() {
                    self.remove(upload_id).await?;
                }
                Err(sealed.err().unwrap_or_else(|| store_error(put.err().map(|e| e.to_string()).unwrap_or_default())))
            }
        }
    }

    /// The file, opened: checks every chunk's place and that none is missing.
    pub async fn get(&self, upload_id: &str, key: &Sealed, chunks: u32) -> Result<Bytes, UploadError> {
        let raw = self.keyring.open(&key_purpose(upload_id), key)?;
        let key = DataKey::from_bytes(upload_id, &raw)?;
        let mut object = match self.store.get(upload_id).await {
            Ok(object) => object,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Err(UploadError::Missing),
            Err(e) => return Err(store_error(e)),
        };
        let mut sealed = Vec::new();
        object.read_to_end(&mut sealed).await.map_err(store_error)?;
        let mut file = BytesMut::new();
        let mut index = 0u32;
        for line in sealed.split(|b| *b == b'\n').filter(|line| !line.is_empty()) {
            let chunk: Sealed = serde_json::from_slice(line).map_err(|e| UploadError::Corrupt(e.to_string()))?;
            file.extend_from_slice(&key.open(&chunk_purpose(upload_id, index), &chunk)?);
            index += 1;
        }
        if index != chunks {
            return Err(UploadError::Corrupt(format!("{index} of {chunks} chunks")));
        }
        Ok(file.freeze())
    }

    /// Removes the object; one that is gone already is fine.
    pub async fn remove(&self, upload_id: &str) -> Result<(), UploadError> {
        match self.store.delete(upload_id).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == object_store::DeleteErrorKind::NotFound => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Every object in the bucket and when it was written (seconds since the
    /// epoch), to find those the log no longer accounts for.
    pub async fn list(&self) -> Result<Vec<(String, Option<i64>)>, UploadError> {
        let mut listed = self.store.list().await.map_err(store_error)?;
        let mut objects = Vec::new();
        while let Some(info) = listed.next().await {
            let info = info.map_err(store_error)?;
            if !info.deleted {
                objects.push((info.name, info.modified.map(|m| m.unix_timestamp())));
            }
        }
        Ok(objects)
    }

    /// Whether the object is there (tests and diagnostics).
    pub async fn exists(&self, upload_id: &str) -> Result<bool, UploadError> {
        match self.store.info(upload_id).await {
            Ok(info) => Ok(!info.deleted),
            Err(e) if e.kind() == object_store::InfoErrorKind::NotFound => Ok(false),
            Err(e) => Err(store_error(e)),
        }
    }
}
