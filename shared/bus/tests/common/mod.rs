//! What the bus's tests against a real nats-server share.

use novij_bus::EventLog;
use novij_events::send::{Clearance, SendQueued};
use novij_events::{Envelope, EventMeta};
use novij_testkit::NatsServer;

/// A fresh server with the topology, and its event log.
pub async fn log() -> (NatsServer, EventLog) {
    let nats = NatsServer::start().await.expect("nats-server");
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    novij_bus::topology::apply(&js, 1).await.expect("topology");
    novij_bus::topology::apply(&js, 1).await.expect("topology applies twice");
    (nats, EventLog::new(js))
}

pub fn queued(id: &str) -> Envelope<SendQueued> {
    Envelope::new(
        SendQueued {
            send_id: id.into(),
            bot_key: "common".into(),
            clearance: Clearance::NoPaymentRequired,
            priority: Default::default(),
        },
        EventMeta::new("t"),
    )
}
