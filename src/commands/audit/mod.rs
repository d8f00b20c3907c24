//! `audit export` and `audit verify`: a project's events in log order, as
//! JSON lines with their stream sequences, sealed fields left out, each line
//! chained by SHA-256 to the one before; and the check of such a file
//! against the log, naming the first line that differs, is missing or was
//! added.

mod trail;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use novij_events::subjects;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::load_config;

/// What a trail holds: its first line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    project: String,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    /// The log's last sequence when it was exported: the trail ends there.
    through_sequence: u64,
    exported_at: DateTime<Utc>,
}

impl Header {
    fn line(&self) -> String {
        json!({ "audit": self }).to_string()
    }

    fn holds(&self, occurred_at: Option<DateTime<Utc>>) -> bool {
        let Some(at) = occurred_at else { return false };
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}

pub async fn export(
    project: String,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    out: Option<PathBuf>,
    as_json: bool,
) -> anyhow::Result<()> {
    let js = jetstream().await?;
    let through_sequence = last_sequence(&js).await?;
    let header = Header { project, from, to, through_sequence, exported_at: Utc::now() };
    let lines = trail_of(&js, &header).await?;
    let text = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
    match &out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{text}"),
    }
    let events = lines.len() - 1;
    if as_json {
        let summary = json!({ "project": header.project, "events": events, "through_sequence": through_sequence });
        eprintln!("{summary}");
    } else {
        eprintln!("{events} events of {} through log sequence {through_sequence}", header.project);
    }
    Ok(())
}

pub async fn verify(file: &Path, as_json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let first = lines.first().context("the file is empty")?;
    let header: Header = serde_json::from_str::<Value>(first)
        .ok()
        .and_then(|v| serde_json::from_value(v["audit"].clone()).ok())
        .context("line 1 is not an audit trail's header")?;
    let expected = trail_of(&jetstream().await?, &header).await?;
    let difference = trail::compare(&lines, &expected);
    if as_json {
        let report = match &difference {
            None => json!({ "verified": true, "events": lines.len() - 1 }),
            Some(d) => json!({ "verified": false, "difference": d.to_string() }),
        };
        println!("{report}");
    }
    match difference {
        None => {
            if !as_json {
                println!("verified: {} events of {} match the log", lines.len() - 1, header.project);
            }
            Ok(())
        }
        Some(d) => anyhow::bail!("{} does not match the log: {d}", file.display()),
    }
}

async fn jetstream() -> anyhow::Result<async_nats::jetstream::Context> {
    let config = load_config()?;
    let nats =
        novij_bus::connect(&novij_runtime::command_nats_target(&config), "cli").await.context("connecting to NATS")?;
    Ok(async_nats::jetstream::new(nats))
}

async fn last_sequence(js: &async_nats::jetstream::Context) -> anyhow::Result<u64> {
    let mut stream = js.get_stream(subjects::EVENTS_STREAM).await.context("the event log")?;
    Ok(stream.info().await.context("the event log")?.state.last_sequence)
}

/// The trail `header` describes, its header first: the log read in order
/// from its start (an aggregate is attributed by its first event) through
/// `through_sequence`.
async fn trail_of(js: &async_nats::jetstream::Context, header: &Header) -> anyhow::Result<Vec<String>> {
    let first = header.line();
    let mut previous = trail::start(&first);
    let mut lines = vec![first];
    if header.through_sequence == 0 {
        return Ok(lines);
    }
    let stream = js.get_stream(subjects::EVENTS_STREAM).await.context("the event log")?;
    let config = OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() };
    let mut messages = stream.create_consumer(config).await.context("reading the log")?.messages().await?;
    let mut attribution = trail::Attribution::default();
    let mut progress = super::progress::Progress::new("read");
    while let Some(message) = messages.next().await {
        let message = message.context("reading the log")?;
        let sequence = message.info().map_err(|e| anyhow::anyhow!("{e}"))?.stream_sequence;
        progress.at(sequence.min(header.through_sequence), header.through_sequence);
        if sequence > header.through_sequence {
            break;
        }
        let Ok(mut envelope) = serde_json::from_slice::<Value>(&message.payload) else { continue };
        let ours = attribution.project_of(&envelope).is_some_and(|p| p == header.project);
        let occurred_at = envelope["occurred_at"].as_str().and_then(|t| t.parse().ok());
        if ours && header.holds(occurred_at) {
            trail::without_sealed(&mut envelope);
            let (line, hash) = trail::line(&previous, sequence, envelope);
            lines.push(line);
            previous = hash;
        }
        if sequence == header.through_sequence {
            break;
        }
    }
    progress.done();
    Ok(lines)
}
