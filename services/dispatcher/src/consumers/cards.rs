//! `dispatcher-cards`: each alert card opened or updated becomes one work
//! item per chat on its bot's partition (interactive class, the
//! integration's lane) in `DISPATCH`, deduplicated by card, chat and
//! revision. Items of one card coalesce in the delivery (`delivery::card`).

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::Message;
use novij_bus::{run_consumer, undecodable, Handled};
use novij_events::dispatch::DispatchWork;
use novij_events::incident::CardItem;
use novij_events::send::Priority;
use novij_events::{ids, AnyEvent};
use tokio::sync::watch;

use crate::{partitioning, Dispatcher};

const DURABLE: &str = "dispatcher-cards";

pub async fn run(d: Dispatcher, shutdown: watch::Receiver<bool>) {
    let js = d.rt.jetstream.clone();
    run_consumer(js, novij_events::subjects::EVENTS_STREAM, DURABLE, 64, shutdown, move |msg| {
        let d = d.clone();
        async move {
            let outcome = route(&d, &msg).await;
            (msg, outcome)
        }
    })
    .await
}

/// The card's items: its chats, at the revision the event brought.
async fn items(d: &Dispatcher, event: AnyEvent) -> Result<Vec<CardItem>, Handled> {
    let (incident_id, alert_id, revision) = match &event {
        AnyEvent::CardOpened(e) => (&e.payload.incident_id, &e.payload.alert_id, 1),
        AnyEvent::CardUpdated(e) => (&e.payload.incident_id, &e.payload.alert_id, e.payload.revision),
        other => return Err(Handled::Reject(format!("{} is not a card event", other.event_type()))),
    };
    let generation = ids::parse_alert_id(alert_id).map(|(_, g)| g).unwrap_or_default();
    let mut incident = d.incidents.get(incident_id).await;
    if incident.as_ref().is_ok_and(|i| i.state.card(generation).is_none_or(|c| c.revision < revision)) {
        incident = d.incidents.refresh(incident_id).await;
    }
    let incident = incident.map_err(|e| {
        tracing::warn!(error = %e, "cannot read the incident; will retry");
        Handled::Retry(Duration::from_secs(1))
    })?;
    let state = incident.state;
    let card = state.card(generation).ok_or_else(|| Handled::Reject(format!("card {alert_id} has no events")))?;
    Ok(card
        .recipients
        .iter()
        .map(|recipient_id| CardItem {
            incident_id: incident_id.clone(),
            alert_id: alert_id.clone(),
            recipient_id: recipient_id.clone(),
            revision,
            bot_key: state.bot_key.clone(),
            integration_id: state.integration_id.clone(),
        })
        .collect())
}

async fn route(d: &Dispatcher, msg: &Message) -> Handled {
    let event = match AnyEvent::from_slice(&msg.payload) {
        Ok(event) => event,
        Err(e) => return undecodable(&e),
    };
    let items = match items(d, event).await {
        Ok(items) => items,
        Err(handled) => return handled,
    };
    for card in items {
        let partition = partitioning::partition_of(&card.bot_key);
        let lane = partitioning::dispatch_lane(partition, &card.integration_id);
        let subject = partitioning::dispatch(partition, Priority::Interactive, lane);
        let message_id = format!("card:{}:{}", card.key(), card.revision);
        let payload = match serde_json::to_vec(&DispatchWork::Card { card }) {
            Ok(payload) => payload,
            Err(e) => return Handled::Reject(e.to_string()),
        };
        let publish = PublishMessage::build().payload(payload.into()).message_id(message_id);
        if let Err(e) = novij_bus::publish_acked(&d.rt.jetstream, subject, publish, Duration::from_secs(5)).await {
            tracing::warn!(error = %e, "cannot route a card; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    }
    Handled::Done
}
