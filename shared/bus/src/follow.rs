//! Following the event log: the messages of some subjects of `EVENTS`, in
//! order and contiguous, from a chosen start, for as long as the process runs.
//!
//! A [`Follower`] reads through an ordered consumer. When the subscription
//! cannot be made or fails, it says so, pauses, and subscribes again from
//! just past the last message it delivered (from the original start if it
//! delivered none), so a follower neither skips nor repeats a message across
//! failures. It stops at shutdown.
//!
//! An ordered consumer that lost its server-side consumer recreates it by
//! itself, retrying for ever and reporting nothing meanwhile; after a node of
//! a cluster dies it can stay in that loop while the log grows. So a follower
//! that heard nothing for [`QUIET`] asks the stream for the last message of
//! its subjects: if that is past what it accounts for, it subscribes again
//! from the same place (and moves on, or says why it cannot). A quiet log
//! costs one read per subject filter and period, and no consumer churn.

use std::pin::Pin;
use std::time::Duration;

use async_nats::jetstream::stream::LastRawMessageErrorKind;
use async_nats::jetstream::{
    self,
    consumer::{
        pull::{Ordered, OrderedConfig},
        DeliverPolicy,
    },
};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use novij_events::subjects;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// How long to wait before subscribing again after a failure.
const PAUSE: Duration = Duration::from_secs(1);

/// How long a subscription may deliver nothing before it is made again.
pub const QUIET: Duration = Duration::from_secs(10);

/// One message of the log.
pub struct Entry {
    /// Its stream sequence.
    pub sequence: u64,
    /// How many messages of the followed subjects were still to come after it.
    pub pending: u64,
    /// Nothing to acknowledge on an ordered consumer, so the bare message.
    pub message: async_nats::Message,
}

/// What [`Follower::next`] reports.
pub enum Followed {
    /// Subscribed (again); `pending` messages were waiting to be delivered.
    Subscribed { pending: u64 },
    /// The next message.
    Message(Entry),
    /// Following stopped; the follower subscribes again after a pause.
    Lost(FollowError),
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum FollowError {
    /// The stream or the consumer could not be had.
    #[error("{0}")]
    Subscribe(String),
    /// The subscription failed while delivering.
    #[error("{0}")]
    Interrupted(String),
    #[error("the subscription to the event log ended")]
    Ended,
}

/// What a new subscription brings: its messages, how many were pending, and
/// the stream sequence just before its first.
type Subscribed = (Ordered, u64, u64);

enum State {
    Subscribing(BoxFuture<'static, Result<Subscribed, String>>),
    Following(Box<Following>),
    /// A failure [`Follower::ready`] found, for [`Follower::next`] to report.
    Failed(FollowError),
    Pausing(Pin<Box<Sleep>>),
}

struct Following {
    messages: Ordered,
    /// Fires [`QUIET`] after the subscription, its last delivery or its last
    /// check; moved on lazily, when it fires, rather than at every message.
    quiet: Pin<Box<Sleep>>,
    last_heard: Instant,
    /// The stream sequence the follower accounts for: its last message's, or
    /// the one before its start.
    heard: u64,
    /// Asking the stream for its subjects' last sequence, after a quiet period.
    check: Option<BoxFuture<'static, Result<u64, String>>>,
}

impl Following {
    fn new(messages: Ordered, heard: u64) -> Self {
        let now = Instant::now();
        Self { messages, quiet: Box::pin(tokio::time::sleep_until(now + QUIET)), last_heard: now, heard, check: None }
    }
}

/// Waits out the quiet period: `true` if nothing was heard in it.
async fn gone_quiet(quiet: &mut Pin<Box<Sleep>>, last_heard: Instant) -> bool {
    quiet.as_mut().await;
    let until = last_heard + QUIET;
    if until <= Instant::now() {
        return true;
    }
    quiet.as_mut().reset(until);
    false
}

/// The sequence of the last message on any of `filters` (0: none).
fn last_sequence(js: jetstream::Context, filters: Vec<String>) -> BoxFuture<'static, Result<u64, String>> {
    async move {
        let stream = js.get_stream(subjects::EVENTS_STREAM).await.map_err(|e| e.to_string())?;
        let filters = if filters.is_empty() { vec![format!("{}.>", subjects::EVENTS_ROOT)] } else { filters };
        let mut last = 0;
        for filter in filters {
            match stream.get_last_raw_message_by_subject(&filter).await {
                Ok(message) => last = last.max(message.sequence),
                Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(last)
    }
    .boxed()
}

/// See the module documentation.
pub struct Follower {
    log: Subscription,
    shutdown: watch::Receiver<bool>,
}

impl Follower {
    /// Follows `filters` (every subject of the log if empty) from `from`; the
    /// first [`next`](Self::next) subscribes.
    pub fn new(
        js: jetstream::Context,
        filters: Vec<String>,
        from: DeliverPolicy,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let state = State::Subscribing(subscribe(js.clone(), filters.clone(), from));
        Self { log: Subscription { js, filters, from, state }, shutdown }
    }

    /// The next thing that happened; `None` once shutdown is signalled.
    ///
    /// Cancel safe: a call dropped before it returns (its caller also waits on
    /// a timer, say) loses no message, and the subscription or pause under way
    /// goes on at the next call.
    pub async fn next(&mut self) -> Option<Followed> {
        loop {
            tokio::select! {
                // Ends at `true`, or when no one can signal any more.
                _ = self.shutdown.wait_for(|stop| *stop) => return None,
                step = self.log.step() => if step.is_some() { return step },
            }
        }
    }

    /// Handles every message with `handle` until shutdown; `ready` turns
    /// true once what the log held at the first subscription is handled (a
    /// read model built from the log can answer from then on). A failure to
    /// subscribe is logged as following for `what`; the follower resumes
    /// where it stopped, and what was built stands meanwhile.
    pub async fn build(mut self, ready: watch::Sender<bool>, what: &str, mut handle: impl FnMut(Entry)) {
        while let Some(followed) = self.next().await {
            match followed {
                Followed::Subscribed { pending } => {
                    if pending == 0 {
                        ready.send_replace(true);
                    }
                }
                Followed::Message(entry) => {
                    let pending = entry.pending;
                    handle(entry);
                    if pending == 0 {
                        ready.send_replace(true);
                    }
                }
                Followed::Lost(FollowError::Subscribe(e)) => {
                    tracing::warn!(error = %e, "cannot follow the log for {what}; retrying")
                }
                Followed::Lost(_) => {}
            }
        }
    }

    /// The next message if it has arrived already, without waiting: for
    /// taking what has arrived as one batch. A failure met here is reported
    /// by the next [`next`](Self::next).
    pub fn ready(&mut self) -> Option<Entry> {
        let log = &mut self.log;
        loop {
            let State::Following(following) = &mut log.state else { return None };
            match following.messages.next().now_or_never()? {
                Some(Ok(message)) => {
                    if let Some(entry) = log.delivered(message) {
                        return Some(entry);
                    }
                }
                Some(Err(e)) => log.state = State::Failed(FollowError::Interrupted(e.to_string())),
                None => log.state = State::Failed(FollowError::Ended),
            }
        }
    }
}

struct Subscription {
    js: jetstream::Context,
    filters: Vec<String>,
    /// Where the next subscription starts.
    from: DeliverPolicy,
    state: State,
}

impl Subscription {
    /// Moves on by one step: what to report, if anything.
    async fn step(&mut self) -> Option<Followed> {
        // Every future awaited here lives in `state`, so dropping this one
        // (see `Follower::next`) loses nothing.
        let failed = match &mut self.state {
            State::Subscribing(subscribing) => match subscribing.await {
                Ok((messages, pending, before)) => {
                    self.state = State::Following(Box::new(Following::new(messages, before)));
                    return Some(Followed::Subscribed { pending });
                }
                Err(e) => FollowError::Subscribe(e),
            },
            State::Following(following) => {
                let Following { messages, quiet, last_heard, heard, check } = &mut **following;
                let next = tokio::select! {
                    next = messages.next() => next,
                    quiet = gone_quiet(quiet, *last_heard), if check.is_none() => {
                        if quiet {
                            *check = Some(last_sequence(self.js.clone(), self.filters.clone()));
                        }
                        return None;
                    }
                    last = async {
                        match check {
                            Some(check) => check.await,
                            None => std::future::pending().await,
                        }
                    }, if check.is_some() => {
                        *check = None;
                        *last_heard = Instant::now();
                        quiet.as_mut().reset(*last_heard + QUIET);
                        // A failed check says nothing either way: subscribe again,
                        // which at worst reports why it cannot.
                        if last.is_ok_and(|last| last <= *heard) {
                            return None;
                        }
                        tracing::debug!(from = ?self.from, "the log moved on but nothing came; subscribing again");
                        self.resubscribe();
                        return None;
                    }
                };
                match next {
                    Some(Ok(message)) => return self.delivered(message).map(Followed::Message),
                    Some(Err(e)) => FollowError::Interrupted(e.to_string()),
                    None => FollowError::Ended,
                }
            }
            State::Failed(e) => e.clone(),
            State::Pausing(pause) => {
                pause.as_mut().await;
                self.resubscribe();
                return None;
            }
        };
        self.state = State::Pausing(Box::pin(tokio::time::sleep(PAUSE)));
        Some(Followed::Lost(failed))
    }

    fn resubscribe(&mut self) {
        self.state = State::Subscribing(subscribe(self.js.clone(), self.filters.clone(), self.from));
    }

    /// The entry of a delivered message, which the next subscription starts
    /// after; `None` for one without JetStream metadata (none come from an
    /// ordered consumer).
    fn delivered(&mut self, message: jetstream::Message) -> Option<Entry> {
        let info = message.info().ok()?;
        let (sequence, pending) = (info.stream_sequence, info.pending);
        if let State::Following(following) = &mut self.state {
            following.last_heard = Instant::now();
            following.heard = sequence;
            following.check = None;
        }
        self.from = DeliverPolicy::ByStartSequence { start_sequence: sequence + 1 };
        Some(Entry { sequence, pending, message: message.message })
    }
}

fn subscribe(
    js: jetstream::Context,
    filters: Vec<String>,
    deliver_policy: DeliverPolicy,
) -> BoxFuture<'static, Result<Subscribed, String>> {
    async move {
        let stream = js.get_stream(subjects::EVENTS_STREAM).await.map_err(|e| e.to_string())?;
        let consumer = stream
            .create_consumer(OrderedConfig { filter_subjects: filters, deliver_policy, ..Default::default() })
            .await
            .map_err(|e| e.to_string())?;
        // As the server counted it when it made the consumer.
        let info = consumer.cached_info();
        let (pending, before) = (info.num_pending, info.delivered.stream_sequence);
        Ok((consumer.messages().await.map_err(|e| e.to_string())?, pending, before))
    }
    .boxed()
}
