//! The event log: appends fenced per aggregate, and reads by subject.
//!
//! Every event of an aggregate lives under `nt.ev.<aggregate>.<id>.*`. An append
//! names the sequence it expects to be the aggregate's last
//! (`Nats-Expected-Last-Subject-Sequence` with the aggregate wildcard in
//! `Nats-Expected-Last-Subject-Sequence-Subject`, NATS 2.11+), so uniqueness rules
//! — one redemption per code, one send per idempotency key — hold however many
//! instances race. `Nats-Msg-Id` is the event id, so a retried publish of the
//! same event is stored once.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    context::PublishErrorKind,
    message::PublishMessage as Publish,
    stream::{DirectGetErrorKind, LastRawMessageErrorKind},
};
use novij_aggregates::{fold, Aggregate, Loaded};
use novij_events::{decode_slice_as, subjects, AnyEvent, DecodeError, Envelope, Event, RawEnvelope};

const EXPECTED_SUBJECT_HEADER: &str = "Nats-Expected-Last-Subject-Sequence-Subject";

/// What the append expects the aggregate to look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No check (events whose order does not matter).
    Any,
    /// The aggregate has no events yet: this is its first.
    NoEvents,
    /// The aggregate's last event is at this stream sequence.
    LastSequence(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub sequence: u64,
    /// The same event id was already stored (a retried publish).
    pub duplicate: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("the aggregate changed since it was read")]
    Conflict,
    #[error("the event log is unavailable: {0}")]
    Unavailable(String),
    #[error("event could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the event log is unavailable: {0}")]
    Unavailable(String),
    #[error("stored event at {subject} cannot be decoded: {source}")]
    Decode { subject: String, source: DecodeError },
}

/// Publishes to a stream and waits for JetStream's acknowledgement, so the
/// caller knows the message is stored (or why not), within `timeout`.
///
/// A publish nobody answered (no responders: no stream leader, e.g. while a
/// replicated stream elects a new one after its node died) stored nothing, so
/// it is sent again, the same message with the same id and fence, until the
/// timeout: an election takes moments, and callers need not see it.
pub async fn publish_acked(
    js: &jetstream::Context,
    subject: String,
    publish: Publish,
    timeout: Duration,
) -> Result<Appended, AppendError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(50);
    loop {
        let ack_future = js
            .send_publish(subject.clone(), publish.clone())
            .await
            .map_err(|e| AppendError::Unavailable(e.to_string()))?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, std::future::IntoFuture::into_future(ack_future)).await {
            Ok(Ok(ack)) => return Ok(Appended { sequence: ack.sequence, duplicate: ack.duplicate }),
            Ok(Err(e)) if e.kind() == PublishErrorKind::WrongLastSequence => return Err(AppendError::Conflict),
            Ok(Err(e))
                if e.kind() == PublishErrorKind::StreamNotFound && tokio::time::Instant::now() + pause < deadline =>
            {
                tracing::debug!(%subject, retry_in_ms = pause.as_millis() as u64, "no stream answered the publish; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            Ok(Err(e)) => return Err(AppendError::Unavailable(e.to_string())),
            Err(_) => return Err(AppendError::Unavailable("no acknowledgement from JetStream in time".into())),
        }
    }
}

/// Handle on the `EVENTS` stream.
#[derive(Clone)]
pub struct EventLog {
    js: jetstream::Context,
    ack_timeout: Duration,
}

/// The header that carries the W3C trace context of the span that published
/// a message; [`crate::run_consumer`] continues it.
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// `publish` with the trace context of the current span, or else `fallback`
/// (what the event itself carries).
pub fn traced(publish: Publish, fallback: Option<&str>) -> Publish {
    match novij_telemetry::current_traceparent().or_else(|| fallback.map(str::to_string)) {
        Some(traceparent) => publish.header(TRACEPARENT_HEADER, traceparent.as_str()),
        None => publish,
    }
}

impl EventLog {
    pub fn new(js: jetstream::Context) -> Self {
        Self { js, ack_timeout: Duration::from_secs(5) }
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Appends one event, fenced as `expect` says.
    pub async fn append<E: Event>(&self, event: &Envelope<E>, expect: Expect) -> Result<Appended, AppendError> {
        let subject = subjects::event::<E>(&event.aggregate_id);
        let payload = serde_json::to_vec(event)?;
        let publish = Publish::build().payload(payload.into()).message_id(event.event_id.to_string());
        let mut publish = traced(publish, event.trace.as_ref().map(|t| t.traceparent.as_str()));
        let fence = match expect {
            Expect::Any => None,
            Expect::NoEvents => Some(0),
            Expect::LastSequence(seq) => Some(seq),
        };
        if let Some(seq) = fence {
            publish = publish
                .expected_last_subject_sequence(seq)
                .header(EXPECTED_SUBJECT_HEADER, subjects::aggregate(E::AGGREGATE, &event.aggregate_id).as_str());
        }
        publish_acked(&self.js, subject, publish, self.ack_timeout).await
    }

    /// The latest event of type `E` of an aggregate, with its stream sequence,
    /// read through the upcasters.
    pub async fn last<E: Event>(&self, aggregate_id: &str) -> Result<Option<(Envelope<E>, u64)>, ReadError> {
        let subject = subjects::event::<E>(aggregate_id);
        match self.last_raw(&subject).await? {
            Some((bytes, seq)) => {
                let env = decode_slice_as::<E>(&bytes).map_err(|source| ReadError::Decode { subject, source })?;
                Ok(Some((env, seq)))
            }
            None => Ok(None),
        }
    }

    /// The last event of an aggregate, of any type, undecoded.
    pub async fn last_of(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<(RawEnvelope, u64)>, ReadError> {
        let subject = subjects::aggregate(aggregate_type, aggregate_id);
        match self.last_raw(&subject).await? {
            Some((bytes, seq)) => {
                let raw = serde_json::from_slice(&bytes)
                    .map_err(|e| ReadError::Decode { subject, source: DecodeError::Envelope(e) })?;
                Ok(Some((raw, seq)))
            }
            None => Ok(None),
        }
    }

    /// Whether an aggregate's last event is of type `E` (one read; for a
    /// terminal event such as `integration.deleted`, whether it happened).
    pub async fn last_is<E: Event>(&self, aggregate_id: &str) -> Result<bool, ReadError> {
        let last = self.last_of(E::AGGREGATE, aggregate_id).await?;
        Ok(last.is_some_and(|(raw, _)| raw.event_type == E::event_type()))
    }

    /// The stream sequence of the last event of an aggregate, of any type.
    pub async fn last_sequence(&self, aggregate_type: &str, aggregate_id: &str) -> Result<Option<u64>, ReadError> {
        Ok(self.last_raw(&subjects::aggregate(aggregate_type, aggregate_id)).await?.map(|(_, seq)| seq))
    }

    /// Like [`Self::last_sequence`], but answered by the stream's leader, not
    /// by any replica: after a leader election, a replica's direct answer
    /// may not yet hold what the new leader has just stored.
    pub async fn last_sequence_at_leader(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Option<u64>, ReadError> {
        let stream = self.events_stream().await?;
        match stream.get_last_raw_message_by_subject(&subjects::aggregate(aggregate_type, aggregate_id)).await {
            Ok(msg) => Ok(Some(msg.sequence)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(ReadError::Unavailable(e.to_string())),
        }
    }

    /// An aggregate folded from its history, read through the upcasters; its
    /// `version` is what the next append is fenced on.
    pub async fn load<A: Aggregate>(&self, aggregate_id: &str) -> Result<Loaded<A>, ReadError> {
        let mut events = Vec::new();
        for (raw, sequence) in self.history(A::TYPE, aggregate_id).await? {
            let subject = subjects::aggregate(A::TYPE, aggregate_id);
            events.push((AnyEvent::decode(raw).map_err(|source| ReadError::Decode { subject, source })?, sequence));
        }
        Ok(fold(events))
    }

    /// Every event of an aggregate in log order, undecoded.
    pub async fn history(
        &self,
        aggregate_type: &str,
        aggregate_id: &str,
    ) -> Result<Vec<(RawEnvelope, u64)>, ReadError> {
        let stream = self.events_stream().await?;
        let filter = subjects::aggregate(aggregate_type, aggregate_id);
        // The last event first (an indexed lookup): reading on until "not
        // found" would make the server search the whole rest of the log.
        let Some(last) = self.last_sequence(aggregate_type, aggregate_id).await? else { return Ok(Vec::new()) };
        let mut out = Vec::new();
        let mut next = 1;
        while next <= last {
            match stream.direct_get_next_for_subject(&filter, Some(next)).await {
                Ok(msg) => {
                    let raw: RawEnvelope = serde_json::from_slice(&msg.payload).map_err(|e| ReadError::Decode {
                        subject: msg.subject.to_string(),
                        source: DecodeError::Envelope(e),
                    })?;
                    next = msg.sequence + 1;
                    out.push((raw, msg.sequence));
                }
                Err(e) if e.kind() == DirectGetErrorKind::NotFound => break,
                Err(e) => return Err(ReadError::Unavailable(e.to_string())),
            }
        }
        Ok(out)
    }

    /// A handle without a round trip: reads are direct gets, and a missing
    /// stream answers them with "no responders", never with "not found".
    async fn events_stream(&self) -> Result<jetstream::stream::Stream<()>, ReadError> {
        self.js.get_stream_no_info(subjects::EVENTS_STREAM).await.map_err(|e| ReadError::Unavailable(e.to_string()))
    }

    async fn last_raw(&self, subject: &str) -> Result<Option<(bytes::Bytes, u64)>, ReadError> {
        let stream = self.events_stream().await?;
        match stream.direct_get_last_for_subject(subject).await {
            Ok(msg) => Ok(Some((msg.payload, msg.sequence))),
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => Err(ReadError::Unavailable(e.to_string())),
        }
    }
}
