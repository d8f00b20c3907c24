//! The work of one owned partition: pulling its interactive and bulk
//! consumers (one per lane) and delivering each item. Only the dispatcher
//! holding the partition's lease runs this, so a bot's limits are kept by
//! one process.

use std::sync::Arc;
use std::time::Duration;

use novij_bus::{run_consumer, undecodable};
use novij_events::dispatch::DispatchWork;
use novij_events::send::Priority;
use novij_events::subjects;
use tokio::sync::watch;

use crate::calls::{Announcer, Calls};
use crate::delivery::{card::CardDelivery, send::Delivery, Job};
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

/// How long to wait before trying a failed reset or read again.
const RESET_PAUSE: Duration = Duration::from_secs(1);

pub async fn run(
    d: Dispatcher,
    partition: u16,
    lease: Lease,
    announcer: Arc<Announcer>,
    mut stop: watch::Receiver<bool>,
) {
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
    // Without knowing what the predecessor may have sent, nothing is sent.
    let inherited = loop {
        match announcer.inherited().await {
            Ok(inherited) => break inherited,
            Err(e) => tracing::warn!(partition, error = %e, "cannot read the previous owner's calls; retrying"),
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(RESET_PAUSE) => {}
        }
    };
    let calls = Arc::new(Calls { announcer, inherited });
    let lanes = partitioning::dispatch_lanes(partition);
    let pulls = [Priority::Interactive, Priority::Bulk]
        .into_iter()
        .flat_map(|class| (0..lanes).map(move |lane| (class, lane)))
        .map(|(class, lane)| pull(d.clone(), partition, class, lane, lease.clone(), calls.clone(), stop.clone()));
    let resolve = async {
        if let Some(inherited) = &calls.inherited {
            let mut stop = stop.clone();
            tokio::select! {
                _ = inherited.resolve(&d.rt.nats, partition) => {}
                // The lease is gone: the waiting deliveries find that out next.
                _ = stop.wait_for(|stopped| *stopped) => inherited.stop_waiting(),
            }
        }
    };
    futures::future::join(futures::future::join_all(pulls), resolve).await;
}

async fn pull(
    d: Dispatcher,
    partition: u16,
    class: Priority,
    lane: u16,
    lease: Lease,
    calls: Arc<Calls>,
    stop: watch::Receiver<bool>,
) {
    let durable = partitioning::dispatch_consumer(partition, class, lane);
    let lanes = partitioning::dispatch_lanes(partition);
    let js = d.rt.jetstream.clone();
    run_consumer(js, subjects::DISPATCH_STREAM, &durable, concurrency(class, lanes), stop, move |msg| {
        let (d, lease, calls) = (d.clone(), lease.clone(), calls.clone());
        async move {
            let job = Job::new(&d, &msg, partition, &lease, &calls);
            let outcome = match DispatchWork::from_slice(&msg.payload) {
                Ok(DispatchWork::Send(item)) => Delivery::new(job, &item).run().await,
                Ok(DispatchWork::Card { card }) => CardDelivery::new(job, &card).run().await,
                Err(e) => undecodable(&e),
            };
            (msg, outcome)
        }
    })
    .await
}
