//! Per-project quotas, counted in memory from the log instead of with a
//! `COUNT(*)` per request.
//!
//! Only the project's own sends count, not the service's replies to its
//! users. A follower reads the sends of the window (24 hours, or the reminders'
//! horizon when pending reminders are limited) at start, then every new one.
//! Sends are counted in one-minute buckets, so a send leaves the 24-hour
//! window within a minute of its time. A request reserves its place under
//! one lock before it appends, and the reservation becomes a count when the
//! append succeeds: parallel requests to one ingress cannot race past a quota.
//! The follower may deliver the send before the append's acknowledgement
//! arrives; whichever of the two comes first counts it, once.
//! Across instances, each counts the others' sends once the follower sees
//! them (milliseconds), so concurrent instances can overshoot by what they
//! accept within that delay.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::{self, consumer::DeliverPolicy};
use chrono::{DateTime, Utc};
use novij_bus::follow::Follower;
use novij_config::Quotas as Limits;
use novij_events::send::{SendAccepted, SendCancelled, SendDeadLettered, SendFailed, SendOrigin, SendQueued};
use novij_events::{subjects, AnyEvent};
use tokio::sync::watch;

/// Seconds in one counting bucket.
const BUCKET_SECONDS: i64 = 60;
const WINDOW_BUCKETS: i64 = 24 * 60 * 60 / BUCKET_SECONDS;
/// How long a request waits for the start-up count before it is refused.
const READY_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("the project's quota of {0} sends per 24 hours is used up")]
    DailySends(u32),
    #[error("the project already has {0} reminders waiting, its quota")]
    PendingReminders(u32),
    #[error("the quotas are still being counted from the log")]
    NotReady,
}

/// A send reserved and not yet committed or dropped.
#[derive(Default)]
struct InFlight {
    /// Two requests with one idempotency key may both hold one.
    reservations: u32,
    /// The follower delivered it meanwhile: counted already, so its commit counts nothing.
    counted_by_log: bool,
}

#[derive(Default)]
struct Project {
    /// (bucket, sends accepted in it), oldest first.
    buckets: VecDeque<(i64, u32)>,
    in_window: u32,
    /// Counted here before the follower delivered them: not to count twice.
    counted_ahead: HashMap<String, i64>,
    /// Sends with open reservations.
    in_flight: HashMap<String, InFlight>,
    pending_reminders: HashSet<String>,
    reserved_sends: u32,
    reserved_reminders: u32,
}

impl Project {
    fn prune(&mut self, now_bucket: i64) {
        while let Some(&(bucket, n)) = self.buckets.front() {
            if bucket > now_bucket - WINDOW_BUCKETS {
                break;
            }
            self.buckets.pop_front();
            self.in_window -= n;
        }
        self.counted_ahead.retain(|_, bucket| *bucket > now_bucket - WINDOW_BUCKETS);
    }

    fn count(&mut self, bucket: i64) {
        match self.buckets.iter_mut().rev().find(|(b, _)| *b == bucket) {
            Some((_, n)) => *n += 1,
            None => {
                let at = self.buckets.iter().rposition(|(b, _)| *b < bucket).map_or(0, |i| i + 1);
                self.buckets.insert(at, (bucket, 1));
            }
        }
        self.in_window += 1;
    }
}

#[derive(Default)]
struct Counts {
    projects: HashMap<String, Project>,
    /// Pending reminders' projects, to find them when they end.
    reminders: HashMap<String, String>,
}

impl Counts {
    /// Applies a send's event as the log has it.
    fn observe(&mut self, event: &AnyEvent, now_bucket: i64) {
        let ended = match event {
            AnyEvent::SendAccepted(e) => {
                let p = &e.payload;
                // The service's own replies are not the project's sends.
                let (Some(project_id), SendOrigin::Api) = (&p.project_id, p.origin) else { return };
                let project = self.projects.entry(project_id.clone()).or_default();
                let bucket = bucket_of(e.occurred_at);
                if project.counted_ahead.remove(&p.send_id).is_none() {
                    if bucket > now_bucket - WINDOW_BUCKETS {
                        project.count(bucket);
                    }
                    if let Some(in_flight) = project.in_flight.get_mut(&p.send_id) {
                        in_flight.counted_by_log = true;
                    }
                }
                if p.send_at.is_some() {
                    project.pending_reminders.insert(p.send_id.clone());
                    self.reminders.insert(p.send_id.clone(), project_id.clone());
                }
                return;
            }
            AnyEvent::SendQueued(e) => &e.payload.send_id,
            AnyEvent::SendCancelled(e) => &e.payload.send_id,
            AnyEvent::SendFailed(e) => &e.payload.send_id,
            AnyEvent::SendDeadLettered(e) => &e.payload.send_id,
            _ => return,
        };
        if let Some(project_id) = self.reminders.remove(ended) {
            if let Some(project) = self.projects.get_mut(&project_id) {
                project.pending_reminders.remove(ended);
            }
        }
    }
}

fn bucket_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(BUCKET_SECONDS)
}

/// See the module documentation.
#[derive(Clone)]
pub struct Quotas {
    counts: Arc<Mutex<Counts>>,
    limits: Limits,
    ready: watch::Receiver<bool>,
}

/// A place held under a quota for one send until it is appended
/// ([`Reservation::commit`]) or refused (dropped).
pub struct Reservation {
    quotas: Quotas,
    project_id: String,
    send_id: String,
    reminder: bool,
    done: bool,
}

impl Reservation {
    /// The send is on the log: count it now, unless the follower already has.
    pub fn commit(mut self) {
        let mut counts = self.quotas.lock();
        let now_bucket = bucket_of(Utc::now());
        let project = counts.projects.entry(self.project_id.clone()).or_default();
        let counted = self.release(project);
        if !counted {
            if self.quotas.limits.daily_sends > 0 {
                project.count(now_bucket);
                project.counted_ahead.insert(self.send_id.clone(), now_bucket);
            }
            if self.reminder && self.quotas.limits.pending_reminders > 0 {
                project.pending_reminders.insert(self.send_id.clone());
                counts.reminders.insert(self.send_id.clone(), self.project_id.clone());
            }
        }
        self.done = true;
    }

    /// Gives the place back; says whether the follower counted the send meanwhile.
    fn release(&self, project: &mut Project) -> bool {
        let limits = &self.quotas.limits;
        if limits.daily_sends > 0 {
            project.reserved_sends -= 1;
        }
        if self.reminder && limits.pending_reminders > 0 {
            project.reserved_reminders -= 1;
        }
        let Some(in_flight) = project.in_flight.get_mut(&self.send_id) else { return false };
        let counted = in_flight.counted_by_log;
        in_flight.reservations -= 1;
        if in_flight.reservations == 0 {
            project.in_flight.remove(&self.send_id);
        }
        counted
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            let mut counts = self.quotas.lock();
            if let Some(project) = counts.projects.get_mut(&self.project_id) {
                self.release(project);
            }
        }
    }
}

impl Quotas {
    /// Starts counting from the log; `reminder_horizon_days` is how far ahead
    /// a reminder may be, so how far back a still-pending one may start.
    pub fn start(
        js: jetstream::Context,
        limits: Limits,
        reminder_horizon_days: u32,
        shutdown: watch::Receiver<bool>,
    ) -> Quotas {
        let (ready_tx, ready) = watch::channel(limits.daily_sends == 0 && limits.pending_reminders == 0);
        let quotas = Quotas { counts: Arc::default(), limits, ready };
        if !*ready_tx.borrow() {
            let window = if limits.pending_reminders > 0 {
                chrono::Duration::days(i64::from(reminder_horizon_days) + 1).max(chrono::Duration::hours(24))
            } else {
                chrono::Duration::hours(24)
            };
            tokio::spawn(quotas.clone().follow(js, window, ready_tx, shutdown));
        }
        quotas
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        // Every change under the lock is complete before anything can panic.
        self.counts.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Holds a place for the send `send_id` of `project_id`, or says which quota is used up.
    pub async fn reserve(&self, project_id: &str, send_id: &str, reminder: bool) -> Result<Reservation, QuotaError> {
        let mut ready = self.ready.clone();
        if !*ready.borrow() {
            tokio::time::timeout(READY_WAIT, ready.wait_for(|r| *r))
                .await
                .map_err(|_| QuotaError::NotReady)?
                .map_err(|_| QuotaError::NotReady)?;
        }
        let limits = self.limits;
        let mut counts = self.lock();
        let project = counts.projects.entry(project_id.to_string()).or_default();
        project.prune(bucket_of(Utc::now()));
        if limits.daily_sends > 0 && project.in_window + project.reserved_sends >= limits.daily_sends {
            return Err(QuotaError::DailySends(limits.daily_sends));
        }
        let reminders = u32::try_from(project.pending_reminders.len()).unwrap_or(u32::MAX);
        if reminder
            && limits.pending_reminders > 0
            && reminders.saturating_add(project.reserved_reminders) >= limits.pending_reminders
        {
            return Err(QuotaError::PendingReminders(limits.pending_reminders));
        }
        if limits.daily_sends > 0 {
            project.reserved_sends += 1;
        }
        if reminder && limits.pending_reminders > 0 {
            project.reserved_reminders += 1;
        }
        project.in_flight.entry(send_id.to_string()).or_default().reservations += 1;
        Ok(Reservation {
            quotas: self.clone(),
            project_id: project_id.to_string(),
            send_id: send_id.to_string(),
            reminder,
            done: false,
        })
    }

    async fn follow(
        self,
        js: jetstream::Context,
        window: chrono::Duration,
        ready: watch::Sender<bool>,
        shutdown: watch::Receiver<bool>,
    ) {
        let sends = vec![
            subjects::all_of::<SendAccepted>(),
            subjects::all_of::<SendQueued>(),
            subjects::all_of::<SendCancelled>(),
            subjects::all_of::<SendFailed>(),
            subjects::all_of::<SendDeadLettered>(),
        ];
        let from = DeliverPolicy::ByStartTime { start_time: to_offset(Utc::now() - window) };
        let follower = Follower::new(js, sends, from, shutdown);
        follower
            .build(ready, "quotas", |entry| match AnyEvent::from_slice(&entry.message.payload) {
                Ok(event) => self.lock().observe(&event, bucket_of(Utc::now())),
                Err(e) => {
                    tracing::error!(sequence = entry.sequence, error = %e, "a send event the quotas cannot read; not counted")
                }
            })
            .await
    }
}

fn to_offset(at: DateTime<Utc>) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(at.timestamp()).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counting(limits: Limits) -> Quotas {
        Quotas { counts: Arc::default(), limits, ready: watch::channel(true).1 }
    }

    #[tokio::test]
    async fn parallel_requests_cannot_race_past_a_quota_and_a_refused_one_gives_its_place_back() {
        let quotas = counting(Limits { daily_sends: 3, pending_reminders: 0 });
        let ids: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
        let held: Vec<_> = futures::future::join_all(ids.iter().map(|id| quotas.reserve("p1", id, false))).await;
        let (granted, refused): (Vec<_>, Vec<_>) = held.into_iter().partition(Result::is_ok);
        assert_eq!((granted.len(), refused.len()), (3, 5));
        assert!(refused.iter().all(|r| matches!(r, Err(QuotaError::DailySends(3)))));
        let mut granted = granted.into_iter().map(Result::unwrap);
        granted.next().unwrap().commit();
        drop(granted.next());
        assert!(quotas.reserve("p1", "s8", false).await.is_ok(), "the dropped reservation's place is free again");
        assert!(quotas.reserve("p2", "s9", false).await.is_ok(), "another project has its own quota");
    }

    fn accepted(send_id: &str, reminder: bool) -> AnyEvent {
        AnyEvent::SendAccepted(novij_events::Envelope::new(
            SendAccepted {
                uploads: Vec::new(),
                send_id: send_id.into(),
                project_id: Some("p1".into()),
                integration_id: None,
                bot_key: "b".into(),
                recipient_id: None,
                template: "text_message".into(),
                payment_mode: novij_events::integration::PaymentMode::None,
                request_hash: String::new(),
                origin: SendOrigin::Api,
                priority: Default::default(),
                locale: None,
                message: novij_crypto::Sealed { ad: None, kid: "k".into(), nonce: String::new(), ct: String::new() },
                payment: None,
                send_at: reminder.then(Utc::now),
                broadcast_id: None,
            },
            novij_events::EventMeta::new("c"),
        ))
    }

    fn queued(send_id: &str) -> AnyEvent {
        AnyEvent::SendQueued(novij_events::Envelope::new(
            SendQueued {
                send_id: send_id.into(),
                bot_key: "b".into(),
                clearance: novij_events::send::Clearance::NoPaymentRequired,
                priority: Default::default(),
            },
            novij_events::EventMeta::new("c"),
        ))
    }

    fn observe(quotas: &Quotas, event: &AnyEvent) {
        quotas.lock().observe(event, bucket_of(Utc::now()));
    }

    #[tokio::test]
    async fn a_send_counted_on_acceptance_is_not_counted_again_when_the_log_delivers_it() {
        let quotas = counting(Limits { daily_sends: 2, pending_reminders: 1 });
        quotas.reserve("p1", "s1", true).await.unwrap().commit();
        observe(&quotas, &accepted("s1", true));
        assert!(matches!(quotas.reserve("p1", "s2", true).await, Err(QuotaError::PendingReminders(1))), "it waits");
        assert!(quotas.reserve("p1", "s2", false).await.is_ok(), "one send counted, not two");
        observe(&quotas, &queued("s1"));
        assert!(quotas.reserve("p1", "s2", true).await.is_ok(), "fired: no longer waiting");
    }

    #[tokio::test]
    async fn a_send_the_log_delivers_before_its_append_is_acknowledged_is_counted_once() {
        let quotas = counting(Limits { daily_sends: 2, pending_reminders: 1 });
        let reservation = quotas.reserve("p1", "s1", true).await.unwrap();
        observe(&quotas, &accepted("s1", true));
        // A reminder due at once fires before the request hears of its append.
        observe(&quotas, &queued("s1"));
        reservation.commit();
        quotas.reserve("p1", "s2", false).await.expect("one send counted, not two").commit();
        assert!(matches!(quotas.reserve("p1", "s3", false).await, Err(QuotaError::DailySends(2))));
        let counts = quotas.lock();
        let project = &counts.projects["p1"];
        assert!(project.pending_reminders.is_empty(), "the fired reminder is not waiting again");
        assert!(project.in_flight.is_empty(), "nothing kept for ended requests");
    }

    #[test]
    fn buckets_leave_the_window_after_24_hours_and_stay_in_order() {
        let mut p = Project::default();
        p.count(10);
        p.count(12);
        p.count(11);
        p.count(12);
        assert_eq!(p.buckets, VecDeque::from([(10, 1), (11, 1), (12, 2)]));
        assert_eq!(p.in_window, 4);
        p.prune(10 + WINDOW_BUCKETS);
        assert_eq!(p.in_window, 3);
        p.prune(12 + WINDOW_BUCKETS);
        assert_eq!(p.in_window, 0);
        assert!(p.buckets.is_empty());
    }
}
