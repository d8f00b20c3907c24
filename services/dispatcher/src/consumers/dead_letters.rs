//! `dispatcher-dead-letters`: files each `send.dead_lettered` as an entry of
//! the `DEAD_LETTERS` stream (one per send, deduplicated by event id).

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage as Publish;
use novij_bus::{run_event_consumer, Handled};
use novij_events::send::{DeadLetter, SendDeadLettered};
use novij_events::{subjects, Envelope};
use tokio::sync::watch;

use crate::Dispatcher;

const DURABLE: &str = "dispatcher-dead-letters";

pub async fn run(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    run_event_consumer(d.rt.jetstream.clone(), DURABLE, 8, shutdown, move |event: Envelope<SendDeadLettered>, at| {
        let d = d.clone();
        async move { file(&d, &event, at.sequence).await }
    })
    .await
}

async fn file(d: &Dispatcher, event: &Envelope<SendDeadLettered>, sequence: u64) -> Handled {
    let letter = DeadLetter { event: event.payload.clone(), sequence, dead_lettered_at: event.occurred_at };
    let payload = match serde_json::to_vec(&letter) {
        Ok(p) => p,
        Err(e) => return Handled::Reject(e.to_string()),
    };
    let publish = Publish::build().payload(payload.into()).message_id(event.event_id.to_string());
    match novij_bus::publish_acked(
        &d.rt.jetstream,
        subjects::dead_letter(&letter.event.send_id),
        publish,
        Duration::from_secs(5),
    )
    .await
    {
        Ok(_) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot file dead letter; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
