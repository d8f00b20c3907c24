//! `dispatcher-cards`: each alert card opened (free), cleared (paid) or
//! updated becomes one work item per chat on its bot's partition (interactive class, the
//! integration's lane) in `DISPATCH`, deduplicated by card, chat and
//! revision. Items of one card coalesce in the delivery (`delivery::card`).

use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::Message;
use novij_aggregates::incident::Incident;
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

/// Why the card's chats are owed a delivery.
enum Cause {
    Opened,
    Updated,
    /// A paid card's payment was cleared: its first messages.
    Cleared,
}

/// The card's items: its chats, at the revision the event brought (a
/// cleared card: its newest), and why.
async fn items(d: &Dispatcher, event: AnyEvent) -> Result<(Vec<CardItem>, Cause), Handled> {
    let (incident_id, alert_id, revision, cause) = match &event {
        AnyEvent::CardOpened(e) => (&e.payload.incident_id, &e.payload.alert_id, 1, Cause::Opened),
        AnyEvent::CardUpdated(e) => (&e.payload.incident_id, &e.payload.alert_id, e.payload.revision, Cause::Updated),
        AnyEvent::CardCleared(e) => (&e.payload.incident_id, &e.payload.alert_id, 0, Cause::Cleared),
        other => return Err(Handled::Reject(format!("{} is not a card event", other.event_type()))),
    };
    let generation = ids::parse_alert_id(alert_id).map(|(_, g)| g).unwrap_or_default();
    let mut incident = d.incidents.get(incident_id).await;
    let behind = |i: &Incident| i.card(generation).is_none_or(|c| c.revision < revision || !c.showable());
    if incident.as_ref().is_ok_and(|i| behind(&i.state)) {
        incident = d.incidents.refresh(incident_id).await;
    }
    let incident = incident.map_err(|e| {
        tracing::warn!(error = %e, "cannot read the incident; will retry");
        Handled::Retry(Duration::from_secs(1))
    })?;
    let state = incident.state;
    let card = state.card(generation).ok_or_else(|| Handled::Reject(format!("card {alert_id} has no events")))?;
    // A paid card is shown once cleared; the delivery would find nothing owed before.
    if !card.showable() {
        return Ok((Vec::new(), cause));
    }
    let revision = match cause {
        Cause::Cleared => card.revision,
        Cause::Opened | Cause::Updated => revision,
    };
    let items = card
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
        .collect();
    Ok((items, cause))
}

async fn route(d: &Dispatcher, msg: &Message) -> Handled {
    let event = match AnyEvent::from_slice(&msg.payload) {
        Ok(event) => event,
        Err(e) => return undecodable(&e),
    };
    let (items, cause) = match items(d, event).await {
        Ok(found) => found,
        Err(handled) => return handled,
    };
    for card in items {
        let partition = partitioning::partition_of(&card.bot_key);
        let lane = partitioning::dispatch_lane(partition, &card.integration_id);
        let subject = partitioning::dispatch(partition, Priority::Interactive, lane);
        // An item of the revision a card had when its payment cleared may
        // have been routed (and found nothing owed) before.
        let message_id = match cause {
            Cause::Cleared => format!("card:{}:{}:cleared", card.key(), card.revision),
            Cause::Opened | Cause::Updated => format!("card:{}:{}", card.key(), card.revision),
        };
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
