//! Running a durable pull consumer: messages in, acknowledgements out.
//!
//! A handler says what became of a message; this loop acknowledges accordingly:
//! done → ack, retry → nak with a delay (redelivered later), reject → term (never
//! redelivered; the handler has already recorded why), stop → nothing, and the
//! consumer pulls no more (an event of a newer release: skipping it would make
//! this process diverge, so it waits, unacknowledged, for an upgraded one).
//! A consumer whose subscription breaks (NATS restarted) is re-bound after a
//! pause, so a service outlives a NATS restart.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::PullConsumer, AckKind, Message};
use futures::StreamExt;
use novij_events::{DecodeError, Envelope, Event};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;
use tracing::Instrument as _;

/// What became of one message.
#[derive(Debug)]
pub enum Handled {
    Done,
    /// Leave unacknowledged: another handler of the same message in this
    /// process will acknowledge it.
    Hold,
    Retry(Duration),
    Reject(String),
    /// Leave the message unacknowledged and stop this consumer.
    Stop(String),
}

/// Decodes a log message as event `E` through the upcasters, or says what
/// becomes of a message that cannot be: the one decode-or-reject opening of
/// every event consumer.
pub fn decode_event<E: Event>(msg: &Message) -> Result<Envelope<E>, Handled> {
    novij_events::decode_slice_as::<E>(&msg.payload).map_err(|e| undecodable(&e))
}

/// Where a log message stands: its stream sequence (what appends it causes
/// are fenced on) and how many times it has been delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub sequence: u64,
    pub times: u64,
}

/// The one shape of an event consumer: durable `durable` on the log, each
/// message decoded as `E` through the upcasters (or rejected or stopped as
/// [`undecodable`] says) and handed to `handle`.
pub async fn run_event_consumer<E, F, Fut>(
    js: jetstream::Context,
    durable: &str,
    concurrency: usize,
    shutdown: watch::Receiver<bool>,
    handle: F,
) where
    E: Event,
    F: Fn(Envelope<E>, Delivered) -> Fut,
    Fut: Future<Output = Handled> + Send + 'static,
{
    run_consumer(js, novij_events::subjects::EVENTS_STREAM, durable, concurrency, shutdown, |msg| {
        let delivered = Delivered {
            sequence: stream_sequence(&msg),
            times: msg.info().map_or(1, |i| i.delivered.max(1).unsigned_abs()),
        };
        let handling = decode_event::<E>(&msg).map(|event| handle(event, delivered));
        async move {
            let outcome = match handling {
                Ok(handling) => handling.await,
                Err(undecodable) => undecodable,
            };
            (msg, outcome)
        }
    })
    .await
}

/// What becomes of an event this release cannot decode.
pub fn undecodable(error: &DecodeError) -> Handled {
    if error.written_by_newer_release() {
        Handled::Stop(error.to_string())
    } else {
        Handled::Reject(format!("undecodable event: {error}"))
    }
}

/// Feeds every message of durable consumer `durable` on `stream` to `handle`
/// until `shutdown` turns true. With `concurrency` 1 messages are handled one
/// after another, in order; above 1, up to that many at once.
pub async fn run_consumer<F, Fut>(
    js: jetstream::Context,
    stream: &str,
    durable: &str,
    concurrency: usize,
    mut shutdown: watch::Receiver<bool>,
    handle: F,
) where
    F: Fn(Message) -> Fut,
    Fut: Future<Output = (Message, Handled)> + Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let stopped = Arc::new(AtomicBool::new(false));
    consume(&js, stream, durable, concurrency, &permits, &stopped, &mut shutdown, &handle).await;
    // Stopping: let the handlers still running finish and acknowledge.
    let all = u32::try_from(concurrency.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(DRAIN, permits.acquire_many(all)).await.is_err() {
        tracing::warn!(consumer = durable, "handlers still running after the drain period");
    }
}

/// How long a stopping consumer waits for its running handlers.
const DRAIN: Duration = Duration::from_secs(30);

#[allow(clippy::too_many_arguments)]
async fn consume<F, Fut>(
    js: &jetstream::Context,
    stream: &str,
    durable: &str,
    concurrency: usize,
    permits: &Arc<tokio::sync::Semaphore>,
    stopped: &Arc<AtomicBool>,
    shutdown: &mut watch::Receiver<bool>,
    handle: &F,
) where
    F: Fn(Message) -> Fut,
    Fut: Future<Output = (Message, Handled)> + Send + 'static,
{
    loop {
        if *shutdown.borrow() {
            return;
        }
        let consumer: Result<PullConsumer, _> = match js.get_stream(stream).await {
            Ok(s) => s.get_consumer(durable).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let mut messages = match consumer {
            Ok(c) => {
                match c.stream().heartbeat(Duration::from_secs(5)).expires(Duration::from_secs(30)).messages().await {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(consumer = durable, error = %e, "cannot subscribe; retrying");
                        pause(shutdown).await;
                        continue;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(consumer = durable, error = %e, "consumer unavailable; retrying");
                pause(shutdown).await;
                continue;
            }
        };
        loop {
            if stopped.load(Ordering::SeqCst) {
                return;
            }
            let next = tokio::select! {
                _ = shutdown.changed() => return,
                next = messages.next() => next,
            };
            let msg = match next {
                Some(Ok(msg)) => msg,
                Some(Err(e)) => {
                    tracing::warn!(consumer = durable, error = %e, "consumer stream error; re-binding");
                    break;
                }
                None => break,
            };
            // Each message is handled in a span of its own, a child of the one that published it.
            let span = tracing::info_span!("consume", otel.name = durable, consumer = durable);
            let parent = msg.headers.as_ref().and_then(|h| h.get(crate::TRACEPARENT_HEADER)).map(|v| v.as_str());
            novij_telemetry::set_parent(&span, parent);
            let handled = span.in_scope(|| handle(msg)).instrument(span);
            let task = acknowledge(durable.to_string(), handled, stopped.clone());
            if concurrency <= 1 {
                task.await;
            } else {
                let permit = tokio::select! {
                    _ = shutdown.changed() => return,
                    permit = permits.clone().acquire_owned() => permit,
                };
                let Ok(permit) = permit else { return };
                tokio::spawn(async move {
                    task.await;
                    drop(permit);
                });
            }
        }
        pause(shutdown).await;
    }
}

async fn acknowledge(durable: String, handled: impl Future<Output = (Message, Handled)>, stopped: Arc<AtomicBool>) {
    let (msg, outcome) = handled.await;
    let ack = match &outcome {
        Handled::Hold => return,
        Handled::Stop(why) => {
            stopped.store(true, Ordering::SeqCst);
            tracing::error!(
                consumer = %durable,
                sequence = stream_sequence(&msg),
                reason = %why,
                "CONSUMER STOPPED: an event this release cannot read; it stays unacknowledged until a newer release consumes it"
            );
            return;
        }
        Handled::Done => AckKind::Ack,
        Handled::Retry(delay) => AckKind::Nak(Some(*delay)),
        Handled::Reject(reason) => {
            tracing::warn!(consumer = %durable, reason = %reason, "message rejected");
            AckKind::Term
        }
    };
    if let Err(e) = msg.ack_with(ack).await {
        tracing::warn!(consumer = %durable, error = %e, "acknowledgement failed; message will be redelivered");
    }
}

async fn pause(shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = shutdown.changed() => {}
        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
}

/// The stream sequence of a JetStream message (0 if its reply subject is not an ack subject).
pub fn stream_sequence(msg: &Message) -> u64 {
    msg.info().map(|i| i.stream_sequence).unwrap_or(0)
}
