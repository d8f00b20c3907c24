//! Publishes each project's feed (`novij_events::feed`) from the log: one
//! durable consumer (`feed`, one event in flight over all instances, so a
//! project sees its events in log order), each event published once to the
//! `FEED` stream with its event id as `Nats-Msg-Id`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::message::PublishMessage as Publish;
use novij_bus::{publish_acked, run_consumer, undecodable, Handled, ReadError};
use novij_events::broadcast::BroadcastCreated;
use novij_events::feed::{self, ProjectOf};
use novij_events::incident::CardOpened;
use novij_events::integration::IntegrationCreated;
use novij_events::recipient::RecipientBound;
use novij_events::send::SendAccepted;
use novij_events::{subjects, AnyEvent};
use novij_runtime::Runtime;
use tokio::sync::watch;

const DURABLE: &str = "feed";
/// Projects remembered per aggregate before the memory starts over.
const REMEMBERED: usize = 100_000;

/// Which project each send, recipient, integration and incident belongs to: it never
/// changes, so one log read per aggregate is enough.
#[derive(Clone, Default)]
struct Projects(Arc<Mutex<HashMap<String, Option<String>>>>);

impl Projects {
    async fn of(&self, rt: &Runtime, of: ProjectOf) -> Result<Option<String>, ReadError> {
        let key = match &of {
            ProjectOf::Known(project) => return Ok(Some(project.clone())),
            ProjectOf::Send(id)
            | ProjectOf::Integration(id)
            | ProjectOf::Recipient(id)
            | ProjectOf::Incident(id)
            | ProjectOf::Broadcast(id) => id.clone(),
        };
        if let Some(known) = self.0.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(known);
        }
        let project = match &of {
            ProjectOf::Send(id) => rt.log.last::<SendAccepted>(id).await?.and_then(|(e, _)| e.payload.project_id),
            ProjectOf::Integration(id) => {
                rt.log.last::<IntegrationCreated>(id).await?.map(|(e, _)| e.payload.project_id)
            }
            ProjectOf::Recipient(id) => rt.log.last::<RecipientBound>(id).await?.map(|(e, _)| e.payload.project_id),
            ProjectOf::Incident(id) => rt.log.last::<CardOpened>(id).await?.map(|(e, _)| e.payload.project_id),
            ProjectOf::Broadcast(id) => rt.log.last::<BroadcastCreated>(id).await?.map(|(e, _)| e.payload.project_id),
            ProjectOf::Known(_) => None,
        };
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= REMEMBERED {
                map.clear();
            }
            map.insert(key, project.clone());
        }
        Ok(project)
    }
}

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    let projects = Projects::default();
    run_consumer(rt.jetstream.clone(), subjects::EVENTS_STREAM, DURABLE, 1, shutdown, move |msg| {
        let (rt, projects) = (rt.clone(), projects.clone());
        async move {
            let outcome = match AnyEvent::from_slice(&msg.payload) {
                Ok(event) => publish(&rt, &projects, &event).await,
                Err(e) => undecodable(&e),
            };
            (msg, outcome)
        }
    })
    .await
}

async fn publish(rt: &Runtime, projects: &Projects, event: &AnyEvent) -> Handled {
    let Some((of, update)) = feed::view(event) else { return Handled::Done };
    let project = match projects.of(rt, of).await {
        Ok(Some(project)) => project,
        // A system reply to a chat of no integration: no project's feed.
        Ok(None) => return Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell the event's project; will retry");
            return Handled::Retry(Duration::from_secs(1));
        }
    };
    let message = feed::message(event, project, update);
    let payload = match serde_json::to_vec(&message) {
        Ok(p) => p,
        Err(e) => return Handled::Reject(e.to_string()),
    };
    let publish = Publish::build().payload(payload.into()).message_id(message.event_id.to_string());
    match publish_acked(&rt.jetstream, message.subject(), publish, Duration::from_secs(5)).await {
        Ok(_) => Handled::Done,
        Err(e) => {
            tracing::warn!(error = %e, "cannot publish to the feed; will retry");
            Handled::Retry(Duration::from_secs(1))
        }
    }
}
