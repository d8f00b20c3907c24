//! The work of one owned partition: pulling its interactive and bulk
//! consumers (one per lane) and delivering each item. Only the dispatcher
//! holding the partition's lease runs this, so a bot's limits are kept by
//! one process.

use std::time::Duration;

use novij_bus::{run_consumer, undecodable};
use novij_events::send::{DispatchItem, Priority};
use novij_events::subjects;
use tokio::sync::watch;

use crate::delivery::Delivery;
use crate::lease::Lease;
use crate::partitioning;
use crate::Dispatcher;

/// Items of one class handled at once in one partition (most wait for a
/// slot), shared among its lanes.
fn concurrency(class: Priority, lanes: u16) -> usize {
    let partition = match class {
        Priority::Interactive => 256,
        Priority::Bulk => 64,
    };
    (partition / usize::from(lanes.max(1))).max(8)
}

/// How long to wait before trying a failed reset of the consumers again.
const RESET_PAUSE: Duration = Duration::from_secs(1);

pub async fn run(d: Dispatcher, partition: u16, lease: Lease, mut stop: watch::Receiver<bool>) {
    // What a killed owner held comes back now, not after its ack wait. A
    // reset that failed (NATS electing a leader) may have deleted consumers
    // without creating them again, and pulling from a missing consumer would
    // wait forever: it is tried until it succeeds.
    while let Err(e) = partitioning::reset(&d.rt.jetstream, partition).await {
        tracing::warn!(partition, error = %e, "cannot reset the partition's consumers; retrying");
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(RESET_PAUSE) => {}
        }
    }
    let lanes = partitioning::dispatch_lanes(partition);
    let pulls = [Priority::Interactive, Priority::Bulk]
        .into_iter()
        .flat_map(|class| (0..lanes).map(move |lane| (class, lane)))
        .map(|(class, lane)| pull(d.clone(), partition, class, lane, lease.clone(), stop.clone()));
    futures::future::join_all(pulls).await;
}

async fn pull(d: Dispatcher, partition: u16, class: Priority, lane: u16, lease: Lease, stop: watch::Receiver<bool>) {
    let durable = partitioning::dispatch_consumer(partition, class, lane);
    let lanes = partitioning::dispatch_lanes(partition);
    let js = d.rt.jetstream.clone();
    run_consumer(js, subjects::DISPATCH_STREAM, &durable, concurrency(class, lanes), stop, move |msg| {
        let (d, lease) = (d.clone(), lease.clone());
        async move {
            let outcome = match DispatchItem::from_slice(&msg.payload) {
                Ok(item) => Delivery::new(&d, &item, &msg, partition, &lease).run().await,
                Err(e) => undecodable(&e),
            };
            (msg, outcome)
        }
    })
    .await
}
