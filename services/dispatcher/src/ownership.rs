//! Which dispatcher owns which partition of bots.
//!
//! Every instance heartbeats into `dispatcher_members` (keys expire after
//! [`TTL`]). The owner of partition `p` is the live member with the highest
//! rendezvous score for `p`, so every instance computes the same answer and a
//! joining or leaving member moves only its share. Ownership itself is a lease
//! in `dispatcher_leases`: taken with `create` (fails while someone holds it),
//! kept with revision-checked `update` every [`TICK`], released with a
//! revision-checked delete, and gone [`TTL`] after its holder stopped
//! refreshing. A holder stops calling Telegram [`SAFE`] after its last
//! successful refresh, before the lease can pass on.
//!
//! `dispatcher_handover` remembers per partition until when its last owner may
//! have sent; a new owner holds the partition until that moment plus one
//! limit window, so limits hold across a hand-over too. A new owner's worker
//! also resets the partition's consumers, so the sends a killed owner had
//! pulled come back at once rather than after the 30 s ack wait. The calls
//! an owner makes are announced in `dispatcher_handover` first (`calls`), so
//! a new owner does not repeat those its predecessor is still recording.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::partitioning::DISPATCH_PARTITIONS;
use async_nats::jetstream::kv::{self, CreateErrorKind};
use futures::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::calls::Announcer;
use crate::lease::Lease;
use crate::{pacer, Dispatcher};

const MEMBERS: &str = "dispatcher_members";
const LEASES: &str = "dispatcher_leases";
const HANDOVER: &str = "dispatcher_handover";
/// Life of a member heartbeat or lease without refresh: how long a killed
/// owner's partitions wait for a new owner, at most.
pub const TTL: Duration = Duration::from_secs(3);
/// How often members heartbeat and owners refresh.
pub const TICK: Duration = Duration::from_millis(500);
/// How long after a refresh an owner may still call Telegram: well inside the
/// TTL, so it has stopped before its lease can pass on.
pub const SAFE: Duration = Duration::from_secs(2);
/// How long a released partition waits for in-flight deliveries to finish.
const DRAIN: Duration = Duration::from_secs(10);
/// Ticks a new member waits before claiming, so members that start together
/// see each other first and partitions are not handed over at once.
const WARM_UP_TICKS: u32 = 2;
/// Ticks a member waits, after its heartbeat failed, before it takes others'
/// partitions: one TTL and two ticks, time for every live member to
/// heartbeat again.
const REWARM_TICKS: u32 = (TTL.as_millis() / TICK.as_millis()) as u32 + 2;
/// The previous owner's last call may still be on its way to Telegram.
const HANDOVER_MARGIN: Duration = Duration::from_millis(100);

struct Owned {
    revision: u64,
    lease: Lease,
    calls: Arc<Announcer>,
    stop: watch::Sender<bool>,
    worker: JoinHandle<()>,
}

#[derive(Clone)]
struct Buckets {
    members: kv::Store,
    leases: kv::Store,
    handover: kv::Store,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The instant of a wall-clock time in milliseconds (now if it has passed).
fn instant_of(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms.saturating_sub(now_ms()))
}

/// FNV-1a of `member/partition`, finished with splitmix64 so that ids that
/// differ in one character still get independent scores.
fn score(member: &str, partition: u16) -> u64 {
    let mut x = format!("{member}/{partition}")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The member that should own `partition` (rendezvous hashing).
pub fn desired_owner(members: &[String], partition: u16) -> Option<&str> {
    members.iter().max_by_key(|m| (score(m, partition), m.as_str())).map(String::as_str)
}

fn lease_key(partition: u16) -> String {
    format!("p{partition:02}")
}

pub(crate) async fn bucket(
    js: &async_nats::jetstream::Context,
    name: &str,
    ttl: Option<Duration>,
    replicas: usize,
) -> anyhow::Result<kv::Store> {
    let config = kv::Config {
        bucket: name.to_string(),
        history: 1,
        max_age: ttl.unwrap_or_default(),
        num_replicas: replicas,
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    };
    match js.get_key_value(name).await {
        // An earlier release's bucket may keep its entries longer.
        Ok(store) if store.stream.cached_info().config.max_age != config.max_age => {
            Ok(js.update_key_value(config).await?)
        }
        Ok(store) => Ok(store),
        Err(_) => Ok(js.create_key_value(config).await?),
    }
}

pub async fn run(d: Dispatcher, mut shutdown: watch::Receiver<bool>) {
    let me = d.member.clone();
    let replicas = d.rt.config.nats_stream_replicas;
    let js = d.rt.jetstream.clone();
    let buckets = loop {
        let made = async {
            Ok::<_, anyhow::Error>(Buckets {
                members: bucket(&js, MEMBERS, Some(TTL), replicas).await?,
                leases: bucket(&js, LEASES, Some(TTL), replicas).await?,
                handover: bucket(&js, HANDOVER, None, replicas).await?,
            })
        };
        match made.await {
            Ok(b) => break b,
            Err(e) => {
                tracing::warn!(error = %e, "ownership buckets unavailable; retrying");
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(TICK) => {}
                }
            }
        }
    };
    tracing::info!(member = %me, "dispatcher member joined");
    let mut owned: HashMap<u16, Owned> = HashMap::new();
    let mut claims = Claims { from_tick: WARM_UP_TICKS + 1, lost: HashSet::new() };
    let mut ticks = 0;
    loop {
        ticks += 1;
        if !tick(&d, &buckets, &me, &mut owned, &mut claims, ticks).await {
            // Out of touch with the buckets (a NATS node down, leaders being
            // elected): every member's heartbeat may have lapsed meanwhile.
            // Taking partitions only after the others could heartbeat again
            // keeps a live owner's partitions with it, and with them the
            // calls whose outcomes it is still recording.
            claims.from_tick = ticks + REWARM_TICKS;
        }
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tokio::time::sleep(TICK) => {}
        }
    }
    for (partition, o) in owned.drain() {
        release(&buckets, partition, o).await;
    }
    let _ = buckets.members.delete(&me).await;
    tracing::info!(member = %me, "dispatcher member left");
}

async fn live_members(buckets: &Buckets, me: &str) -> Vec<String> {
    let mut members = vec![me.to_string()];
    if let Ok(Ok(mut keys)) = tokio::time::timeout(TICK, buckets.members.keys()).await {
        while let Ok(Some(Ok(key))) = tokio::time::timeout(TICK, keys.next()).await {
            if key != me {
                members.push(key);
            }
        }
    }
    members
}

/// Which partitions a member may take.
struct Claims {
    /// Others' partitions only from this tick on.
    from_tick: u32,
    /// Partitions whose lease this member lost: it may take them back at once.
    lost: HashSet<u16>,
}

/// One round of heartbeat, refresh and claims; false if the heartbeat failed.
async fn tick(
    d: &Dispatcher,
    buckets: &Buckets,
    me: &str,
    owned: &mut HashMap<u16, Owned>,
    claims: &mut Claims,
    ticks: u32,
) -> bool {
    let heartbeat = buckets.members.put(me, now_ms().to_string().into()).await;
    if let Err(e) = &heartbeat {
        tracing::warn!(error = %e, "member heartbeat failed");
    }
    let members = live_members(buckets, me).await;
    for partition in 0..DISPATCH_PARTITIONS {
        let mine = desired_owner(&members, partition) == Some(me);
        match owned.remove(&partition) {
            Some(o) if !mine => {
                tracing::info!(partition, "handing partition over");
                // On a task of its own: waiting for the deliveries to drain
                // held up the refresh of every other lease, which then expired.
                let buckets = buckets.clone();
                tokio::spawn(async move { release(&buckets, partition, o).await });
            }
            Some(mut o) => {
                let refreshed = Instant::now();
                match buckets.leases.update(lease_key(partition), me.to_string().into(), o.revision).await {
                    Ok(revision) => {
                        o.revision = revision;
                        o.lease.extend(refreshed + SAFE);
                        let stop_by = now_ms() + SAFE.as_millis() as u64;
                        let _ = buckets.handover.put(lease_key(partition), stop_by.to_string().into()).await;
                        owned.insert(partition, o);
                    }
                    Err(e) => {
                        tracing::warn!(partition, error = %e, "partition lease lost");
                        o.lease.revoke();
                        let _ = o.stop.send(true);
                        claims.lost.insert(partition);
                    }
                }
            }
            None if mine && (ticks >= claims.from_tick || claims.lost.contains(&partition)) => {
                if let Some(o) = claim(d, buckets, me, partition).await {
                    claims.lost.remove(&partition);
                    owned.insert(partition, o);
                }
            }
            None => {}
        }
    }
    heartbeat.is_ok()
}

async fn claim(d: &Dispatcher, buckets: &Buckets, me: &str, partition: u16) -> Option<Owned> {
    let claimed = Instant::now();
    let revision = match buckets.leases.create(lease_key(partition), me.to_string().into()).await {
        Ok(revision) => revision,
        Err(e) if e.kind() == CreateErrorKind::AlreadyExists => return None,
        Err(e) => {
            tracing::warn!(partition, error = %e, "cannot claim partition");
            return None;
        }
    };
    let previous_stop_by = match buckets.handover.get(lease_key(partition)).await {
        Ok(Some(bytes)) => std::str::from_utf8(&bytes).ok().and_then(|s| s.parse::<u64>().ok()),
        _ => None,
    };
    if let Some(stop_by) = previous_stop_by {
        let last_send = instant_of(stop_by);
        let private_until = last_send + pacer::BOT_WINDOW.max(pacer::CHAT_WINDOW) + HANDOVER_MARGIN;
        d.pacer.hold_partition(partition, private_until, last_send + pacer::GROUP_WINDOW + HANDOVER_MARGIN);
    }
    let _ = buckets.handover.put(lease_key(partition), (now_ms() + SAFE.as_millis() as u64).to_string().into()).await;
    // The worker resets the partition's consumers: done here, a slow reset
    // (NATS electing leaders) held up this tick's refresh of every other
    // lease, which then expired and moved.
    let lease = Lease::new(claimed + SAFE);
    let calls = Arc::new(Announcer::new(buckets.handover.clone(), partition, me));
    let (stop, stop_rx) = watch::channel(false);
    let worker = tokio::spawn(crate::partitions::run(d.clone(), partition, lease.clone(), calls.clone(), stop_rx));
    tracing::info!(partition, "partition taken");
    Some(Owned { revision, lease, calls, stop, worker })
}

async fn release(buckets: &Buckets, partition: u16, o: Owned) {
    o.lease.revoke();
    let _ = o.stop.send(true);
    if tokio::time::timeout(DRAIN, o.worker).await.is_err() {
        tracing::warn!(partition, "deliveries still running after the drain period");
    }
    if let Err(e) = o.calls.flush().await {
        tracing::warn!(partition, error = %e, "cannot clear the announced calls; the next owner asks about them");
    }
    let _ = buckets.handover.put(lease_key(partition), now_ms().to_string().into()).await;
    if let Err(e) = buckets.leases.delete_expect_revision(lease_key(partition), Some(o.revision)).await {
        tracing::warn!(partition, error = %e, "releasing the lease failed; it expires on its own");
    }
    tracing::info!(partition, "partition released");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_computes_the_same_owner_and_a_leaver_moves_only_its_share() {
        let three: Vec<String> = ["da", "db", "dc"].iter().map(|s| s.to_string()).collect();
        let two: Vec<String> = ["da", "dc"].iter().map(|s| s.to_string()).collect();
        let mut moved = 0;
        for p in 0..DISPATCH_PARTITIONS {
            let before = desired_owner(&three, p).unwrap();
            let mut shuffled = three.clone();
            shuffled.reverse();
            assert_eq!(desired_owner(&shuffled, p), Some(before));
            let after = desired_owner(&two, p).unwrap();
            if before != "db" {
                assert_eq!(before, after, "partition {p} moved although its owner stayed");
            } else {
                moved += 1;
            }
        }
        assert!(moved > 0 && moved < DISPATCH_PARTITIONS as usize, "db owned {moved} partitions");
        for member in &three {
            let share = (0..DISPATCH_PARTITIONS).filter(|p| desired_owner(&three, *p) == Some(member.as_str())).count();
            assert!(share >= 2, "{member} owns only {share} of {DISPATCH_PARTITIONS}");
        }
    }
}
