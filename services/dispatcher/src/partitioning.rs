//! How bots are spread over the dispatch partitions, and the common bot's
//! partition over lanes: the names of the `DISPATCH` subjects and consumers,
//! and the consumers themselves (created by the dispatcher, which alone pulls
//! them).
//!
//! Bots are hashed (FNV-1a of the bot key) into [`DISPATCH_PARTITIONS`]
//! partitions; each has one owning dispatcher. The common bot's partition has
//! [`COMMON_BOT_LANES`] lanes per class: each integration's sends keep to one
//! lane (by hash), and every lane has its own consumer, so one integration's
//! backlog fills its own lane's look-ahead and the others' sends still reach
//! the pacer, which serves integrations in turn.

use async_nats::jetstream::consumer::pull;
use novij_bus::topology::{self, TopologyError};
use novij_events::integration::COMMON_BOT_KEY;
use novij_events::send::Priority;

/// Bots are spread over this many partitions; each has one owning dispatcher.
pub const DISPATCH_PARTITIONS: u16 = 16;

/// Lanes of each class in the common bot's partition.
pub const COMMON_BOT_LANES: u16 = 8;

fn fnv1a(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The partition a bot's traffic belongs to.
pub fn partition_of(bot_key: &str) -> u16 {
    (fnv1a(bot_key) % u64::from(DISPATCH_PARTITIONS)) as u16
}

/// How many lanes a partition has per class: only the shared common bot has tenants to keep apart.
pub fn dispatch_lanes(partition: u16) -> u16 {
    if partition == partition_of(COMMON_BOT_KEY) {
        COMMON_BOT_LANES
    } else {
        1
    }
}

/// The lane of a tenant's (an integration's) sends in a partition.
pub fn dispatch_lane(partition: u16, tenant: &str) -> u16 {
    (fnv1a(tenant) % u64::from(dispatch_lanes(partition))) as u16
}

/// The work-queue subject of a partition, class and lane. Lane 0 keeps the
/// subject of the time before lanes, so work queued then is still pulled.
pub fn dispatch(partition: u16, class: Priority, lane: u16) -> String {
    let base = format!("nt.dispatch.{partition:02}.{}", class.as_str());
    if lane == 0 {
        base
    } else {
        format!("{base}.{lane}")
    }
}

/// The durable consumer of a partition, class and lane (lane 0: the name of
/// the time before lanes, like its subject).
pub fn dispatch_consumer(partition: u16, class: Priority, lane: u16) -> String {
    let base = format!("dispatcher-p{partition:02}-{}", class.as_str());
    if lane == 0 {
        base
    } else {
        format!("{base}-l{lane}")
    }
}

/// One consumer per dispatch partition, class and lane, from a template.
const PARTITION_TEMPLATE: &str = include_str!("../../../nats/consumers/dispatcher-partition.template.json");

/// The partition consumers, as `(stream, config)`.
pub fn consumers() -> Result<Vec<(String, pull::Config)>, TopologyError> {
    let mut out = Vec::new();
    for partition in 0..DISPATCH_PARTITIONS {
        for class in [Priority::Interactive, Priority::Bulk] {
            for lane in 0..dispatch_lanes(partition) {
                let json = PARTITION_TEMPLATE
                    .replace("{durable}", &dispatch_consumer(partition, class, lane))
                    .replace("{subject}", &dispatch(partition, class, lane))
                    .replace("{partition}", &format!("{partition:02}"))
                    .replace("{class}", class.as_str())
                    .replace("{lane}", &lane.to_string());
                out.push(topology::parse_consumer("consumers/dispatcher-partition.template.json", &json)?);
            }
        }
    }
    Ok(out)
}

/// Creates or updates every partition consumer (the dispatcher's start).
pub async fn apply(js: &async_nats::jetstream::Context) -> Result<(), TopologyError> {
    topology::apply_consumers(js, consumers()?).await
}

/// The consumers of one partition, as `(stream, config)`.
fn consumers_of(partition: u16) -> Result<Vec<(String, pull::Config)>, TopologyError> {
    let prefix = format!("dispatcher-p{partition:02}-");
    Ok(consumers()?
        .into_iter()
        .filter(|(_, c)| c.durable_name.as_deref().is_some_and(|n| n.starts_with(&prefix)))
        .collect())
}

/// Makes a partition's consumers deliver again everything not acknowledged:
/// deleted and created anew, they start from the oldest message still in the
/// work queue. A new owner does this so the sends a killed owner held are
/// redelivered at once, not after their ack wait.
pub async fn reset(js: &async_nats::jetstream::Context, partition: u16) -> Result<(), TopologyError> {
    let mine = consumers_of(partition)?;
    for (stream, config) in &mine {
        let name = config.durable_name.clone().unwrap_or_default();
        let failed = |e: &dyn std::fmt::Display| TopologyError::Consumer { name: name.clone(), message: e.to_string() };
        let stream = js.get_stream(stream).await.map_err(|e| failed(&e))?;
        match stream.delete_consumer(&name).await {
            Ok(_) => {}
            // Deleted by a reset that failed after it: it is created below.
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(failed(&e)),
        }
    }
    topology::apply_consumers(js, mine).await
}

fn is_not_found(e: &async_nats::jetstream::stream::ConsumerError) -> bool {
    use async_nats::jetstream::{stream::ConsumerErrorKind, ErrorCode};
    matches!(e.kind(), ConsumerErrorKind::JetStream(j) if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_are_stable_and_spread() {
        assert_eq!(partition_of("common"), partition_of("common"));
        let used: std::collections::BTreeSet<u16> = (0..200).map(|i| partition_of(&format!("int_{i:032x}"))).collect();
        assert!(used.len() > 12, "{used:?}");
        assert!(used.iter().all(|p| *p < DISPATCH_PARTITIONS));
    }

    #[test]
    fn only_the_common_bots_partition_has_lanes_and_tenants_spread_over_them() {
        let common = partition_of(COMMON_BOT_KEY);
        let other = (common + 1) % DISPATCH_PARTITIONS;
        assert_eq!(dispatch_lanes(other), 1);
        assert_eq!(dispatch_lane(other, "int_a"), 0);
        let lanes: std::collections::BTreeSet<u16> =
            (0..100).map(|i| dispatch_lane(common, &format!("int_{i:032x}"))).collect();
        assert_eq!(lanes.len(), usize::from(COMMON_BOT_LANES), "{lanes:?}");
        assert_eq!(dispatch_lane(common, "int_a"), dispatch_lane(common, "int_a"));
    }

    #[test]
    fn every_partition_class_and_lane_has_its_consumer() {
        let consumers = consumers().unwrap();
        let lanes = usize::from(DISPATCH_PARTITIONS - 1) + usize::from(COMMON_BOT_LANES);
        assert_eq!(consumers.len(), 2 * lanes);
        let names: std::collections::BTreeSet<_> = consumers.iter().map(|(_, c)| c.durable_name.clone()).collect();
        assert_eq!(names.len(), consumers.len());
        assert!(names.contains(&Some(dispatch_consumer(15, Priority::Bulk, 0))));
        assert!(consumers
            .iter()
            .all(|(stream, c)| stream == "DISPATCH" && c.filter_subject.starts_with("nt.dispatch.")));
    }

    #[test]
    fn lane_zero_keeps_the_subject_and_consumer_of_the_time_before_lanes() {
        assert_eq!(dispatch(7, Priority::Bulk, 0), "nt.dispatch.07.bulk");
        assert_eq!(dispatch_consumer(7, Priority::Bulk, 0), "dispatcher-p07-bulk");
        assert_eq!(dispatch(7, Priority::Bulk, 3), "nt.dispatch.07.bulk.3");
        assert_eq!(dispatch_consumer(7, Priority::Interactive, 3), "dispatcher-p07-interactive-l3");
    }
}
