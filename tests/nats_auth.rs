//! NATS with authentication on: every process connects as its own user, and
//! each user may publish and subscribe only what it needs
//! (`shared/bus/src/auth.rs`). The rest of the suite runs the same way, so
//! every service's permissions are enough for all it does.

mod support;

use async_nats::{ConnectOptions, Event};
use novij_bus::auth::{self, project_user};
use novij_events::feed::project_subjects;
use support::{Layout, TestStack, WAIT};
use tokio::sync::mpsc;

const A: &str = "p.a";
const B: &str = "p.b";

/// A connection as `user` and the server's complaints about it.
async fn watched(stack: &TestStack, user: &str) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = ConnectOptions::new()
        .user_and_password(user.into(), stack.nats_users.password(user).into())
        .custom_inbox_prefix(auth::inbox_prefix(user))
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let Event::ServerError(e) = event {
                    let _ = tx.send(e.to_string());
                }
            }
        })
        .connect(stack.nats.url())
        .await
        .expect("connect");
    (client, rx)
}

/// Waits for the server to refuse `what` (`publish to "<subject>"` or
/// `subscription to "<subject>"`).
async fn refused(errors: &mut mpsc::UnboundedReceiver<String>, what: &str) {
    let wanted = format!("permissions violation for {what}").to_lowercase();
    let found = tokio::time::timeout(WAIT, async {
        while let Some(error) = errors.recv().await {
            if error.to_lowercase().contains(&wanted) {
                return;
            }
        }
        panic!("the connection closed before the server refused {what}");
    })
    .await;
    assert!(found.is_ok(), "the server never refused {what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn each_user_may_do_only_its_own_part() {
    let keys = "p.a:project-a-key-0123456789,p.b:project-b-key-0123456789";
    let stack = TestStack::start_with(Layout::Single, &[("PROJECT_API_KEYS", keys)]).await;
    let events_before = stack.stream_last_sequence("EVENTS").await;

    // No credentials, or a wrong password: no connection at all.
    let anonymous = async_nats::connect(stack.nats.url()).await;
    assert!(anonymous.is_err(), "an anonymous connection was accepted");
    let wrong = ConnectOptions::new()
        .user_and_password(project_user(A), "not-the-password".into())
        .connect(stack.nats.url())
        .await;
    assert!(wrong.is_err(), "a wrong password was accepted");

    // A project calls the API and reads its own feed, nothing else.
    let (project, mut errors) = watched(&stack, &project_user(A)).await;
    let forged = "nt.ev.send.forged.queued";
    project.publish(forged, "{}".into()).await.expect("publish");
    refused(&mut errors, &format!("publish to \"{forged}\"")).await;
    let update = "nt.tg.update.common";
    project.publish(update, "{}".into()).await.expect("publish");
    refused(&mut errors, &format!("publish to \"{update}\"")).await;
    let others_feed = project_subjects(B);
    let _feed = project.subscribe(others_feed.clone()).await.expect("subscribe");
    refused(&mut errors, &format!("subscription to \"{others_feed}\"")).await;
    let _log = project.subscribe("nt.ev.>").await.expect("subscribe");
    refused(&mut errors, "subscription to \"nt.ev.>\"").await;
    // Nor may it make a consumer of the other project's feed.
    let steal = format!("$JS.API.CONSUMER.CREATE.FEED.{}.{others_feed}", auth::project_feed_consumer(A));
    project.publish(steal.clone(), "{}".into()).await.expect("publish");
    refused(&mut errors, &format!("publish to \"{steal}\"")).await;
    // Its own feed it may read, with its durable consumer.
    let js = async_nats::jetstream::new(project.clone());
    let own = async_nats::jetstream::consumer::pull::Config {
        durable_name: Some(auth::project_feed_consumer(A)),
        filter_subject: project_subjects(A),
        ..Default::default()
    };
    js.create_consumer_on_stream(own, "FEED").await.expect("its own feed consumer");

    // A service appends only the events it decides: a payment is the verifier's.
    let (ingress, mut errors) = watched(&stack, "ingress").await;
    let claim = "nt.ev.tx.forged.claimed";
    ingress.publish(claim, "{}".into()).await.expect("publish");
    refused(&mut errors, &format!("publish to \"{claim}\"")).await;
    let bind = "nt.ev.recipient.forged.bound";
    ingress.publish(bind, "{}".into()).await.expect("publish");
    refused(&mut errors, &format!("publish to \"{bind}\"")).await;

    // Operators read the log and may not write to it.
    let (ops, mut errors) = watched(&stack, auth::OPS).await;
    let _log = ops.subscribe("nt.ev.>").await.expect("subscribe");
    ops.publish(forged, "{}".into()).await.expect("publish");
    refused(&mut errors, &format!("publish to \"{forged}\"")).await;

    // Every refused message was dropped: nothing reached the log.
    assert_eq!(stack.stream_last_sequence("EVENTS").await, events_before);
}
