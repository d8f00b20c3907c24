//! NATS subjects and stream names. The topology itself (retention, limits,
//! consumers) lives in `nats/` at the repository root.

use crate::Event;

/// The event log: every domain event, forever.
pub const EVENTS_STREAM: &str = "EVENTS";
/// Raw Telegram updates waiting for the connect service (work queue).
pub const UPDATES_STREAM: &str = "TG_UPDATES";

/// Queued sends by bot partition and class, for the partition's owning dispatcher (work queue).
pub const DISPATCH_STREAM: &str = "DISPATCH";
/// Bots are spread over this many partitions; each has one owning dispatcher.
pub const DISPATCH_PARTITIONS: u16 = 16;

/// Sends that exhausted their attempts, waiting for `dlq retry`.
pub const DEAD_LETTERS_STREAM: &str = "DEAD_LETTERS";

/// Root of all event subjects: `nt.ev.<aggregate>.<id>.<name>`.
pub const EVENTS_ROOT: &str = "nt.ev";
/// Root of update subjects: `nt.tg.update.<bot_key>`.
pub const UPDATES_ROOT: &str = "nt.tg.update";

/// Request/reply: verify a bot token with getMe (served by the dispatcher).
pub const RPC_BOT_VERIFY: &str = "nt.rpc.dispatcher.bot.verify";
/// Queue group of the dispatcher's request handlers.
pub const RPC_DISPATCHER_GROUP: &str = "dispatcher";

/// The subject an event is appended to.
pub fn event<E: Event>(aggregate_id: &str) -> String {
    format!("{EVENTS_ROOT}.{}.{aggregate_id}.{}", E::AGGREGATE, E::NAME)
}

/// Every event of one aggregate instance (the optimistic-concurrency fence).
pub fn aggregate(aggregate_type: &str, aggregate_id: &str) -> String {
    format!("{EVENTS_ROOT}.{aggregate_type}.{aggregate_id}.*")
}

/// Every event of one type, across aggregates (a consumer filter).
pub fn all_of<E: Event>() -> String {
    format!("{EVENTS_ROOT}.{}.*.{}", E::AGGREGATE, E::NAME)
}

/// Every event of an aggregate type.
pub fn aggregate_type(aggregate_type: &str) -> String {
    format!("{EVENTS_ROOT}.{aggregate_type}.>")
}

/// The subject a bot's raw updates are queued on.
pub fn update(bot_key: &str) -> String {
    format!("{UPDATES_ROOT}.{bot_key}")
}

/// The dead-letter entry of a send.
pub fn dead_letter(send_id: &str) -> String {
    format!("nt.dlq.send.{send_id}")
}

fn fnv1a(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The partition a bot's traffic belongs to (FNV-1a of the bot key).
pub fn partition_of(bot_key: &str) -> u16 {
    (fnv1a(bot_key) % u64::from(DISPATCH_PARTITIONS)) as u16
}

/// Lanes of each class in the common bot's partition. Each integration's
/// sends keep to one lane (by hash), and every lane has its own consumer, so
/// one integration's backlog fills its own lane's look-ahead and the others'
/// sends still reach the pacer, which serves integrations in turn.
pub const COMMON_BOT_LANES: u16 = 8;

/// How many lanes a partition has per class: only the shared common bot has tenants to keep apart.
pub fn dispatch_lanes(partition: u16) -> u16 {
    if partition == partition_of(crate::integration::COMMON_BOT_KEY) {
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
pub fn dispatch(partition: u16, class: crate::send::Priority, lane: u16) -> String {
    let base = format!("nt.dispatch.{partition:02}.{}", class.as_str());
    if lane == 0 {
        base
    } else {
        format!("{base}.{lane}")
    }
}

/// The durable consumer of a partition, class and lane (lane 0: the name of
/// the time before lanes, like its subject).
pub fn dispatch_consumer(partition: u16, class: crate::send::Priority, lane: u16) -> String {
    let base = format!("dispatcher-p{partition:02}-{}", class.as_str());
    if lane == 0 {
        base
    } else {
        format!("{base}-l{lane}")
    }
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
        let common = partition_of(crate::integration::COMMON_BOT_KEY);
        let other = (common + 1) % DISPATCH_PARTITIONS;
        assert_eq!(dispatch_lanes(other), 1);
        assert_eq!(dispatch_lane(other, "int_a"), 0);
        let lanes: std::collections::BTreeSet<u16> =
            (0..100).map(|i| dispatch_lane(common, &format!("int_{i:032x}"))).collect();
        assert_eq!(lanes.len(), usize::from(COMMON_BOT_LANES), "{lanes:?}");
        assert_eq!(dispatch_lane(common, "int_a"), dispatch_lane(common, "int_a"));
    }

    #[test]
    fn lane_zero_keeps_the_subject_and_consumer_of_the_time_before_lanes() {
        use crate::send::Priority;
        assert_eq!(dispatch(7, Priority::Bulk, 0), "nt.dispatch.07.bulk");
        assert_eq!(dispatch_consumer(7, Priority::Bulk, 0), "dispatcher-p07-bulk");
        assert_eq!(dispatch(7, Priority::Bulk, 3), "nt.dispatch.07.bulk.3");
        assert_eq!(dispatch_consumer(7, Priority::Interactive, 3), "dispatcher-p07-interactive-l3");
    }
}
