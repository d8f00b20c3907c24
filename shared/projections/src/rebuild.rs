//! Rebuild: drop every projection row and replay the whole log into them.
//!
//! It runs in one transaction holding the checkpoint lock, so running
//! projectors wait and then find the checkpoint already at the end; readers
//! see the old rows until the new ones are committed. Events are applied
//! [`CHUNK`] at a time, the way the projector applies a batch, so a rebuild
//! writes exactly what the live projector writes.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    consumer::pull::{Ordered, OrderedConfig},
    consumer::DeliverPolicy,
};
use futures::StreamExt;
use novij_events::{subjects, AnyEvent};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use tokio::sync::mpsc;

use crate::migration::PROJECTION_TABLES;
use crate::projector::{apply_events, lock_checkpoint, set_checkpoint};

/// Events applied per round of statements.
const CHUNK: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    #[error("projection database: {0}")]
    Db(#[from] DbErr),
    #[error("event log: {0}")]
    Log(String),
    #[error("the event at sequence {sequence} needs a newer release to rebuild: {source}")]
    NewerRelease { sequence: u64, source: novij_events::DecodeError },
}

/// What a rebuild did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RebuildReport {
    pub events: u64,
    pub skipped: u64,
    pub last_sequence: u64,
}

/// Replays the log into empty projections; `progress` is told after every chunk.
pub async fn rebuild(
    db: &DatabaseConnection,
    js: &jetstream::Context,
    mut progress: impl FnMut(u64, u64),
) -> Result<RebuildReport, RebuildError> {
    let log = |e: &dyn std::fmt::Display| RebuildError::Log(e.to_string());
    let mut stream = js.get_stream(subjects::EVENTS_STREAM).await.map_err(|e| log(&e))?;
    let last_sequence = stream.info().await.map_err(|e| log(&e))?.state.last_sequence;

    let txn = db.begin().await?;
    lock_checkpoint(&txn).await?;
    for table in PROJECTION_TABLES {
        txn.execute_unprepared(&format!("DELETE FROM {table}")).await?;
    }
    let mut report = RebuildReport { events: 0, skipped: 0, last_sequence };
    if last_sequence > 0 {
        let consumer = stream
            .create_consumer(OrderedConfig { deliver_policy: DeliverPolicy::All, ..Default::default() })
            .await
            .map_err(|e| log(&e))?;
        let messages = consumer.messages().await.map_err(|e| log(&e))?;
        // Reading and decoding the next chunk goes on, on another thread,
        // while Postgres writes this one.
        let (chunks, mut decoded) = mpsc::channel(2);
        let reading = tokio::spawn(read_chunks(messages, last_sequence, chunks));
        while let Some((chunk, upto)) = decoded.recv().await {
            apply_events(&txn, &chunk).await?;
            progress(upto, last_sequence);
        }
        // The transaction is dropped on an error: the projections stay as they were.
        let (events, skipped) = reading.await.map_err(|e| log(&e))??;
        report.events = events;
        report.skipped = skipped;
    }
    set_checkpoint(&txn, last_sequence).await?;
    txn.commit().await?;
    Ok(report)
}

/// Reads the log up to `last_sequence` and hands it on decoded, [`CHUNK`]
/// events at a time with the last sequence each reaches; says how many
/// events it decoded and how many malformed ones it skipped.
async fn read_chunks(
    mut messages: Ordered,
    last_sequence: u64,
    chunks: mpsc::Sender<(Vec<(u64, AnyEvent)>, u64)>,
) -> Result<(u64, u64), RebuildError> {
    let log = |e: &dyn std::fmt::Display| RebuildError::Log(e.to_string());
    let (mut events, mut skipped) = (0, 0);
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .map_err(|_| RebuildError::Log("the log stopped delivering before its end".into()))?
            .ok_or_else(|| RebuildError::Log("the log ended early".into()))?
            .map_err(|e| log(&e))?;
        let sequence = msg.info().map_err(|e| log(&e))?.stream_sequence;
        match AnyEvent::from_slice(&msg.payload) {
            Ok(event) => {
                chunk.push((sequence, event));
                events += 1;
            }
            Err(source) if source.written_by_newer_release() => {
                return Err(RebuildError::NewerRelease { sequence, source })
            }
            Err(e) => {
                tracing::warn!(sequence, error = %e, "skipping malformed event");
                skipped += 1;
            }
        }
        let done = sequence >= last_sequence;
        if chunk.len() >= CHUNK || done {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            // A closed channel: the writer failed, and says why.
            if chunks.send((full, sequence)).await.is_err() || done {
                return Ok((events, skipped));
            }
        }
    }
}
