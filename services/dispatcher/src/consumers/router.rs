//! `dispatcher-router`: each `send.queued` becomes a work item on its bot's
//! partition, class and lane in the `DISPATCH` stream (deduplicated by event
//! id). Where a partition has lanes, the send's integration picks its lane.

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use novij_bus::{run_event_consumer, Handled};
use novij_events::send::{DispatchItem, SendAccepted, SendQueued};
use novij_events::Envelope;
use tokio::sync::watch;

use crate::{partitioning, Dispatcher};

const DURABLE: &str = "dispatcher-router";

pub async fn run(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    run_event_consumer(d.rt.jetstream.clone(), DURABLE, 64, shutdown, move |queued: Envelope<SendQueued>, at| {
        let d = d.clone();
        async move { route(&d, queued, at.sequence).await }
    })
    .await
}

async fn route(d: &Dispatcher, queued: Envelope<SendQueued>, queued_sequence: u64) -> Handled {
    let partition = partitioning::partition_of(&queued.payload.bot_key);
    let lane = if partitioning::dispatch_lanes(partition) > 1 {
        match d.rt.log.last::<SendAccepted>(&queued.payload.send_id).await {
            Ok(accepted) => {
                let tenant = accepted.and_then(|(a, _)| a.payload.integration_id);
                partitioning::dispatch_lane(partition, tenant.as_deref().unwrap_or(&queued.payload.bot_key))
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the send's integration; will retry");
                return Handled::Retry(Duration::from_secs(1));
            }
        }
    } else {
        0
    };
    let subject = partitioning::dispatch(partition, queued.payload.priority, lane);
    let message_id = queued.event_id.to_string();
    let trace = queued.trace.as_ref().map(|t| t.traceparent.clone());
    let payload = match serde_json::to_vec(&DispatchItem { queued, queued_sequence }) {
        Ok(p) => p,
        Err(e) => return Handled::Reject(e.to_string()),
    };
    let publish = PublishMessage::build().payload(payload.into()).message_id(message_id);
    let publish = novij_bus::traced(publish, trace.as_deref());
    match novij_bus::publish_acked(&d.rt.jetstream, subject, publish, Duration::from_secs(5)).await {
        Ok(_) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot route queued send; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
