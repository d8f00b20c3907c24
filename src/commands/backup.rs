//! `backup --out DIR` and `restore DIR`: a copy of every stream the service
//! cannot rebuild (the event log, the data-key store, uploaded files,
//! Telegram updates not yet handled, dead letters), message by message, and
//! its replay into an empty NATS. `rebuild` then makes the projections from
//! the restored log; the services' consumers start over and, as they do
//! after any redelivery, write nothing twice.
//!
//! The log is read first: a data key is stored before any event sealed with
//! it, so every key an event of the copy needs is in the copy (unless it was
//! shredded meanwhile, with what it sealed). The copy holds what the streams
//! hold: sealed values, and data keys wrapped by the master key.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Write as _};
use std::path::Path;

use anyhow::Context as _;
use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use async_nats::jetstream::Context as JetStream;
use async_nats::HeaderMap;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use futures::StreamExt as _;
use novij_runtime::Runtime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::load_config;

/// The streams copied, in the order they are read and restored.
const STREAMS: &[&str] = &["EVENTS", "KV_payload_keys", "OBJ_uploads", "TG_UPDATES", "DEAD_LETTERS"];

/// Headers that bind a publish to the stream it was first written to.
const NOT_REPLAYED: &[&str] = &["Nats-Expected-Last-Subject-Sequence", "Nats-Expected-Last-Subject-Sequence-Subject"];

/// One message of a stream, as the copy keeps it.
#[derive(Serialize, Deserialize)]
struct Copied {
    sequence: u64,
    subject: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, Vec<String>>,
    /// The payload, base64.
    data: String,
}

pub async fn backup(out: &Path, as_json: bool) -> anyhow::Result<()> {
    let rt = Runtime::start_for_command(load_config()?, "cli-backup").await?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut copied = BTreeMap::new();
    for name in STREAMS {
        let count = copy_stream(&rt.jetstream, name, &out.join(format!("{name}.jsonl"))).await?;
        if !as_json {
            eprintln!("{name}: {count} messages");
        }
        copied.insert(name.to_string(), count);
    }
    let manifest = json!({ "created_at": chrono::Utc::now(), "streams": copied });
    std::fs::write(out.join("manifest.json"), serde_json::to_vec_pretty(&manifest)?).context("writing the manifest")?;
    match as_json {
        true => println!("{manifest}"),
        false => println!("backed up to {}", out.display()),
    }
    Ok(())
}

/// Writes every message of `name` up to its last sequence now; returns how many.
async fn copy_stream(js: &JetStream, name: &'static str, file: &Path) -> anyhow::Result<u64> {
    let mut stream = js.get_stream(name).await.with_context(|| format!("stream {name}"))?;
    let state = stream.info().await.with_context(|| format!("stream {name}"))?.state.clone();
    let mut writer = std::io::BufWriter::new(std::fs::File::create(file)?);
    let mut count = 0;
    let mut progress = super::progress::Progress::new(name);
    if state.messages > 0 {
        let config = OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() };
        let mut messages = stream.create_consumer(config).await?.messages().await?;
        while let Some(message) = messages.next().await {
            let message = message.with_context(|| format!("reading {name}"))?;
            let info = message.info().map_err(|e| anyhow::anyhow!("{e}"))?;
            let sequence = info.stream_sequence;
            let pending = info.pending;
            if sequence > state.last_sequence {
                break;
            }
            let headers = message
                .headers
                .iter()
                .flat_map(|h| h.iter())
                .map(|(k, v)| (k.to_string(), v.iter().map(|v| v.to_string()).collect()))
                .collect();
            let line =
                Copied { sequence, subject: message.subject.to_string(), headers, data: B64.encode(&message.payload) };
            writeln!(writer, "{}", serde_json::to_string(&line)?)?;
            count += 1;
            progress.at(sequence, state.last_sequence);
            if sequence == state.last_sequence || pending == 0 {
                break;
            }
        }
    }
    writer.flush()?;
    progress.done();
    Ok(count)
}

pub async fn restore(dir: &Path, as_json: bool) -> anyhow::Result<()> {
    let rt = Runtime::start_for_command(load_config()?, "cli-restore").await?;
    let mut events = rt.jetstream.get_stream("EVENTS").await.context("the event log")?;
    let existing = events.info().await.context("the event log")?.state.messages;
    anyhow::ensure!(existing == 0, "the event log here holds {existing} events: restore only into an empty NATS");
    let mut restored = BTreeMap::new();
    for name in STREAMS {
        let file = dir.join(format!("{name}.jsonl"));
        let count = replay(&rt.jetstream, &file).await.with_context(|| format!("restoring {name}"))?;
        if !as_json {
            eprintln!("{name}: {count} messages");
        }
        restored.insert(name.to_string(), count);
    }
    match as_json {
        true => println!("{}", json!({ "restored": restored })),
        false => println!("restored from {}; run `novij-telegram rebuild` for the projections", dir.display()),
    }
    Ok(())
}

/// Publishes every message of a stream's copy, in order, each acknowledged.
async fn replay(js: &JetStream, file: &Path) -> anyhow::Result<u64> {
    let reader = std::io::BufReader::new(std::fs::File::open(file).with_context(|| format!("{}", file.display()))?);
    let mut count = 0;
    for line in reader.lines() {
        let copied: Copied = serde_json::from_str(&line?).context("a line of the copy")?;
        let mut headers = HeaderMap::new();
        for (name, values) in copied.headers.iter().filter(|(name, _)| !NOT_REPLAYED.contains(&name.as_str())) {
            for value in values {
                headers.append(name.as_str(), value.as_str());
            }
        }
        let payload = B64.decode(&copied.data).context("a message's payload")?;
        let ack = js.publish_with_headers(copied.subject, headers, payload.into()).await?;
        ack.await.with_context(|| format!("the message at sequence {}", copied.sequence))?;
        count += 1;
    }
    Ok(count)
}
