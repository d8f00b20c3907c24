//! What every service starts with, and the keyed derivations they share.
//!
//! [`Runtime::start`] connects to NATS (applying the topology of `nats/`) and
//! Postgres, and builds the key ring (with the keys the bucket keeps). [`derive`] holds every id and secret that
//! is computed from a keyed hash, so two services always compute the same one.

mod ask;
pub mod connected;
pub mod derive;
mod relay;
pub mod system_send;
pub mod updates;

use std::sync::Arc;

use anyhow::Context as _;
pub use ask::{ask_dispatcher, AskError};
use novij_bus::startup::until_answered;
use novij_bus::EventLog;
use novij_config::Config;
use novij_crypto::Keyring;
pub use novij_keystore::{PayloadError, Payloads};
pub use novij_uploads::{UploadError, Uploads};
pub use relay::relay_client;

/// The webhook URL Telegram calls for `bot_key` (`common`, or a custom bot's integration id).
pub fn webhook_url(config: &Config, bot_key: &str) -> String {
    format!("{}/api/v1/telegram/webhook/{bot_key}", config.public_base_url)
}

/// Where and as whom this process connects to NATS.
pub fn nats_target(config: &Config) -> novij_bus::Target {
    novij_bus::Target {
        url: config.nats_url.clone(),
        credentials: config.nats_credentials.clone(),
        tls_ca_file: config.nats_tls_ca_file.clone().map(Into::into),
        fail_fast: false,
    }
}

/// [`nats_target`] for a command: it fails at once when NATS is away.
pub fn command_nats_target(config: &Config) -> novij_bus::Target {
    novij_bus::Target { fail_fast: true, ..nats_target(config) }
}

#[derive(Clone)]
pub struct Runtime {
    pub config: Arc<Config>,
    pub nats: async_nats::Client,
    pub jetstream: async_nats::jetstream::Context,
    pub log: EventLog,
    pub db: sea_orm::DatabaseConnection,
    pub keyring: Arc<Keyring>,
    pub payloads: Payloads,
    pub uploads: Uploads,
}

impl Runtime {
    /// Connects everything a service of `name` needs, waiting for NATS and
    /// JetStream as long as they take.
    pub async fn start(config: Config, name: &str) -> anyhow::Result<Runtime> {
        Self::start_as(config, name, false).await
    }

    /// [`Runtime::start`] for a command: it fails at once when NATS is away.
    pub async fn start_for_command(config: Config, name: &str) -> anyhow::Result<Runtime> {
        Self::start_as(config, name, true).await
    }

    async fn start_as(config: Config, name: &str, command: bool) -> anyhow::Result<Runtime> {
        // Checked before anything connects; each attempt to read the stored
        // keys below parses it again, as key material is never cloned.
        config.keyring().context("NOVIJ_MASTER_KEYS")?;
        let target = if command { command_nats_target(&config) } else { nats_target(&config) };
        let nats = novij_bus::connect(&target, name).await.context("connecting to NATS")?;
        let jetstream = async_nats::jetstream::new(nats.clone());
        let replicas = config.nats_stream_replicas;
        let applied = match command {
            true => novij_bus::topology::apply(&jetstream, replicas).await,
            false => novij_bus::topology::until_applied(|| novij_bus::topology::apply(&jetstream, replicas)).await,
        };
        applied.context("applying the JetStream topology")?;
        // A service waits for the buckets' streams as for the topology; a
        // command fails at once. Only a store's failure may pass, not a key's.
        let passing = |store_failed: bool| !command && store_failed;
        // Retired master keys still open what they sealed (`keys rotate`);
        // the log's values are sealed with the current one's lasting data key.
        let keyring = until_answered(
            "reading the stored keys",
            || async { novij_keystore::with_stored_keys(&jetstream, config.keyring()?).await },
            |e| passing(matches!(e, PayloadError::Store(_))),
        )
        .await
        .context("reading the stored keys")?;
        let keyring = Arc::new(keyring);
        let db = novij_projections::connect(&config.database_url).await.context("connecting to Postgres")?;
        let epoch_seconds = config.retention.payload_key_epoch_seconds;
        let payloads = until_answered(
            "opening the payload key store",
            || Payloads::connect(&jetstream, db.clone(), keyring.clone(), epoch_seconds),
            |e| passing(matches!(e, PayloadError::Store(_))),
        )
        .await
        .context("opening the payload key store")?;
        let uploads = until_answered(
            "opening the upload store",
            || Uploads::open(&jetstream, replicas, keyring.clone()),
            |e| passing(matches!(e, UploadError::Store(_))),
        )
        .await
        .context("opening the upload store")?;
        Ok(Runtime {
            config: Arc::new(config),
            log: EventLog::new(jetstream.clone()),
            nats,
            jetstream,
            db,
            keyring,
            payloads,
            uploads,
        })
    }
}
