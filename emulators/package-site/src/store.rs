//! What the site publishes: package files on disk under `pool/`, the
//! channels' release lists and the log of downloads, all in one place so a
//! file is served only if a release published it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Buf;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use novij_package_site_client::{is_valid_channel, ChannelIndex, Release};
use serde::Serialize;
use tempfile::TempDir;
use tokio::io::AsyncWriteExt;

use crate::error::SiteError;

/// The package every channel publishes.
pub const PACKAGE: &str = "novij-telegram";

/// The largest package accepted: a debug build's package can pass 100 MB.
pub const MAX_PACKAGE_BYTES: u64 = 512 * 1024 * 1024;

/// A published file as stored: what the pool serves it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub path: PathBuf,
    /// The real SHA-256 of the bytes, whatever a release claims.
    pub sha256: String,
    pub size: u64,
}

/// One `GET` of a pool file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Download {
    /// As in a release, e.g. `pool/novij-telegram_0.2.0-1_amd64.deb`.
    pub file: String,
    pub at: DateTime<Utc>,
}

/// What a control call asks to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub version: String,
    pub architecture: String,
    /// A checksum to publish instead of the real one, to test a client's refusal.
    pub sha256_override: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    /// Each channel's releases, newest first.
    channels: BTreeMap<String, Vec<Release>>,
    /// Published files by name in `pool/`.
    files: HashMap<String, StoredFile>,
    downloads: Vec<Download>,
}

/// The emulated site, shared by the HTTP front and in-process callers.
#[derive(Debug)]
pub struct Store {
    pool: PathBuf,
    state: Mutex<State>,
    /// Numbers the partial files of uploads in progress.
    uploads: AtomicU64,
    /// Held so the directory lives exactly as long as the store.
    _temp: Option<TempDir>,
}

impl Store {
    /// An empty site keeping its files in `dir/pool`, or in a temporary
    /// directory removed with the store.
    pub fn open(dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let (root, temp) = match dir {
            Some(dir) => (dir, None),
            None => {
                let temp = tempfile::Builder::new().prefix("package-site-").tempdir()?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let pool = root.join("pool");
        std::fs::create_dir_all(&pool)
            .map_err(|e| anyhow::anyhow!("cannot create the pool directory {}: {e}", pool.display()))?;
        Ok(Self { pool, state: Mutex::default(), uploads: AtomicU64::new(0), _temp: temp })
    }

    /// Locks the state. A panic elsewhere must not wedge the emulator.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A channel's index, as `GET /channels/{channel}.json` answers it.
    pub fn index(&self, channel: &str) -> Result<ChannelIndex, SiteError> {
        if !is_valid_channel(channel) {
            return Err(SiteError::InvalidChannel);
        }
        let releases = self.state().channels.get(channel).cloned();
        let releases = releases.ok_or_else(|| SiteError::ChannelNotFound(channel.to_string()))?;
        Ok(ChannelIndex { channel: channel.to_string(), package: PACKAGE.to_string(), releases })
    }

    /// A published file of the pool by its name there.
    pub fn file(&self, name: &str) -> Result<StoredFile, SiteError> {
        if !is_pool_name(name) {
            return Err(SiteError::InvalidFile);
        }
        self.state().files.get(name).cloned().ok_or(SiteError::FileNotFound)
    }

    /// Logs a `GET` of the pool file `name`.
    pub fn record_download(&self, name: &str) {
        self.state().downloads.push(Download { file: format!("pool/{name}"), at: Utc::now() });
    }

    /// Every download so far, oldest first.
    pub fn downloads(&self) -> Vec<Download> {
        self.state().downloads.clone()
    }

    /// Stores `body` as the package of `publication` and publishes it at the
    /// head of `channel`. The body is streamed to disk and hashed on the way,
    /// so a large package is never held in memory.
    pub async fn publish<S, B, E>(&self, channel: &str, publication: Publication, body: S) -> Result<Release, SiteError>
    where
        S: Stream<Item = Result<B, E>> + Send,
        B: Buf + Send,
        E: std::fmt::Display,
    {
        validate(channel, &publication)?;
        let name = format!("{PACKAGE}_{}_{}.deb", publication.version, publication.architecture);
        let file = format!("pool/{name}");
        // Refused before the body is read, and again at commit for a racing publish.
        self.check_release_is_new(channel, &file)?;
        // A dot-name is never a pool name, so a partial upload cannot be served.
        let partial = self.pool.join(format!(".upload-{}", self.uploads.fetch_add(1, Ordering::Relaxed)));
        let received = receive(&partial, body).await;
        let committed = received.and_then(|(sha256, size)| {
            self.commit(
                channel,
                &publication,
                &name,
                &partial,
                StoredFile { path: self.pool.join(&name), sha256, size },
            )
        });
        if committed.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        committed
    }

    fn check_release_is_new(&self, channel: &str, file: &str) -> Result<(), SiteError> {
        let state = self.state();
        let releases = state.channels.get(channel).map(Vec::as_slice).unwrap_or_default();
        if releases.iter().any(|r| r.file == file) {
            return Err(SiteError::ReleaseExists { channel: channel.to_string(), file: file.to_string() });
        }
        Ok(())
    }

    /// Moves the received file into the pool and publishes its release, under
    /// the lock so that a file of one name always has one content until reset.
    fn commit(
        &self,
        channel: &str,
        publication: &Publication,
        name: &str,
        partial: &Path,
        stored: StoredFile,
    ) -> Result<Release, SiteError> {
        let file = format!("pool/{name}");
        self.check_release_is_new(channel, &file)?;
        let mut state = self.state();
        match state.files.get(name) {
            Some(existing) if existing.sha256 != stored.sha256 => return Err(SiteError::FileConflict(file)),
            Some(_) => std::fs::remove_file(partial).map_err(|e| SiteError::internal("removing an upload", e))?,
            None => {
                std::fs::rename(partial, &stored.path).map_err(|e| SiteError::internal("storing the package", e))?;
            }
        }
        let release = Release {
            version: publication.version.clone(),
            architecture: publication.architecture.clone(),
            file,
            sha256: publication.sha256_override.clone().unwrap_or_else(|| stored.sha256.clone()),
            size: stored.size,
            published_at: Utc::now(),
        };
        state.files.insert(name.to_string(), stored);
        state.channels.entry(channel.to_string()).or_default().insert(0, release.clone());
        Ok(release)
    }

    /// Forgets every channel, file and download, and deletes the files.
    pub fn reset(&self) -> Result<(), SiteError> {
        let mut state = self.state();
        for stored in state.files.values() {
            match std::fs::remove_file(&stored.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(SiteError::internal("deleting a package", e))
                }
                _ => {}
            }
        }
        *state = State::default();
        Ok(())
    }
}

/// The rules of a publication's parameters, checked before any byte is read.
fn validate(channel: &str, publication: &Publication) -> Result<(), SiteError> {
    if !is_valid_channel(channel) {
        return Err(SiteError::invalid("channel", "channel must match ^[a-z][a-z0-9-]{0,31}$"));
    }
    let version = &publication.version;
    let version_chars = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | '-');
    // `..` is refused because the pool refuses to serve a name containing it.
    if !(version.starts_with(|c: char| c.is_ascii_digit())
        && version.chars().all(version_chars)
        && !version.contains("..")
        && version.len() <= 128)
    {
        return Err(SiteError::invalid(
            "version",
            "version must match ^[0-9][A-Za-z0-9.+~-]*$, without `..`, at most 128 characters",
        ));
    }
    let architecture = &publication.architecture;
    if architecture.is_empty()
        || architecture.len() > 32
        || !architecture.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(SiteError::invalid("architecture", "architecture must match ^[a-z0-9-]+$, at most 32 characters"));
    }
    if let Some(sha256) = &publication.sha256_override {
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
            return Err(SiteError::invalid("sha256", "sha256 must be 64 lowercase hex digits"));
        }
    }
    Ok(())
}

/// Whether `name` can be a published file's name in the pool: one plain
/// segment, never `..`, never a dot-name.
pub fn is_pool_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '~' | '-'))
        && !name.contains("..")
}

/// Writes `body` to `path`; answers its SHA-256 (hex) and size.
async fn receive<S, B, E>(path: &Path, body: S) -> Result<(String, u64), SiteError>
where
    S: Stream<Item = Result<B, E>> + Send,
    B: Buf + Send,
    E: std::fmt::Display,
{
    let mut file = tokio::fs::File::create(path).await.map_err(|e| SiteError::internal("creating an upload", e))?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut size = 0u64;
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|e| SiteError::invalid("body", format!("the body could not be read: {e}")))?;
        let bytes = chunk.copy_to_bytes(chunk.remaining());
        size += bytes.len() as u64;
        if size > MAX_PACKAGE_BYTES {
            return Err(SiteError::BodyTooLarge(MAX_PACKAGE_BYTES));
        }
        digest.update(&bytes);
        file.write_all(&bytes).await.map_err(|e| SiteError::internal("writing an upload", e))?;
    }
    // tokio buffers writes: without the flush the rename could move a short file.
    file.flush().await.map_err(|e| SiteError::internal("writing an upload", e))?;
    if size == 0 {
        return Err(SiteError::invalid("body", "the body must be the package's bytes"));
    }
    Ok((hex::encode(digest.finish()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(version: &str, architecture: &str) -> Publication {
        Publication { version: version.into(), architecture: architecture.into(), sha256_override: None }
    }

    fn body(bytes: &'static [u8]) -> impl Stream<Item = Result<&'static [u8], String>> + Send {
        futures::stream::iter([Ok(&bytes[..2]), Ok(&bytes[2..])])
    }

    fn field(e: SiteError) -> String {
        match e {
            SiteError::InvalidParameter { field, .. } => field,
            other => panic!("expected an invalid parameter, got {other:?}"),
        }
    }

    #[test]
    fn parameters_follow_their_rules() {
        for (version, architecture) in
            [("0.2.0-1", "amd64"), ("1.0+b1~rc2", "arm64"), ("2", "all"), ("0.1.0-1", "x32-be")]
        {
            assert_eq!(validate("stable", &publication(version, architecture)), Ok(()), "{version} {architecture}");
        }
        for (version, f) in
            [("", "version"), ("v1", "version"), ("1.0_1", "version"), ("1..0", "version"), ("1:2", "version")]
        {
            assert_eq!(field(validate("stable", &publication(version, "amd64")).expect_err("refused")), f, "{version}");
        }
        for architecture in ["", "AMD64", "amd_64", "amd/64"] {
            let e = validate("stable", &publication("1", architecture)).expect_err("refused");
            assert_eq!(field(e), "architecture", "{architecture}");
        }
        assert_eq!(field(validate("Stable", &publication("1", "amd64")).expect_err("refused")), "channel");
        let mut bad_sha = publication("1", "amd64");
        bad_sha.sha256_override = Some("AB".repeat(32));
        assert_eq!(field(validate("stable", &bad_sha).expect_err("refused")), "sha256");
    }

    #[test]
    fn pool_names_are_single_plain_segments() {
        assert!(is_pool_name("novij-telegram_0.2.0-1+b1~rc_amd64.deb"));
        for bad in ["", "..", "../x.deb", "a/b.deb", ".upload-0", "a..deb", "a%2Fb", "a b.deb", "a\\b"] {
            assert!(!is_pool_name(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_file_name_keeps_one_content_until_reset() {
        let store = Store::open(None).expect("store");
        let first = store.publish("stable", publication("1", "amd64"), body(b"abcdef")).await.expect("published");
        assert_eq!(first.sha256, hex::encode(ring::digest::digest(&ring::digest::SHA256, b"abcdef")));
        assert_eq!(first.size, 6);
        let path = store.file("novij-telegram_1_amd64.deb").expect("stored").path;
        assert_eq!(std::fs::read(&path).expect("on disk"), b"abcdef");

        // The same bytes may be published again on another channel, other bytes may not.
        store.publish("beta", publication("1", "amd64"), body(b"abcdef")).await.expect("same bytes");
        let e = store.publish("edge", publication("1", "amd64"), body(b"uvwxyz")).await.expect_err("refused");
        assert_eq!(e, SiteError::FileConflict("pool/novij-telegram_1_amd64.deb".into()));
        let e = store.publish("stable", publication("1", "amd64"), body(b"abcdef")).await.expect_err("refused");
        assert_eq!(e.code(), "release_exists");
        assert!(matches!(store.index("edge"), Err(SiteError::ChannelNotFound(_))));

        // Nothing is left behind by the refused uploads.
        let names: Vec<_> = std::fs::read_dir(path.parent().expect("pool"))
            .expect("pool")
            .map(|e| e.expect("entry").file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(names, ["novij-telegram_1_amd64.deb"]);

        store.reset().expect("reset");
        assert!(!path.exists());
        assert_eq!(store.file("novij-telegram_1_amd64.deb"), Err(SiteError::FileNotFound));
        store.publish("edge", publication("1", "amd64"), body(b"uvwxyz")).await.expect("published after reset");
    }

    #[tokio::test]
    async fn an_empty_body_is_refused() {
        let store = Store::open(None).expect("store");
        let empty = futures::stream::iter(Vec::<Result<&'static [u8], String>>::new());
        let e = store.publish("stable", publication("1", "amd64"), empty).await.expect_err("refused");
        assert_eq!(field(e), "body");
    }
}
