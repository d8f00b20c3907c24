//! Following the log against a real nats-server: from a start, in order, on
//! across a server restart without a gap or a repeat, until shutdown.

mod common;

use std::time::Duration;

use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use async_nats::jetstream::stream;
use common::{log, queued};
use futures::TryStreamExt;
use novij_bus::follow::{FollowError, Followed, Follower, QUIET};
use novij_bus::{EventLog, Expect};
use novij_events::send::SendQueued;
use novij_events::subjects;
use tokio::sync::watch;

async fn queue(log: &EventLog, id: &str) -> u64 {
    log.append(&queued(id), Expect::Any).await.expect("append").sequence
}

/// The next message's sequence, with `next` dropped every 50 ms the way a
/// caller that also waits on a timer drops it; subscriptions are skipped.
async fn next_sequence(follower: &mut Follower) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no message within a minute");
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            followed = follower.next() => match followed.expect("not shut down") {
                Followed::Message(entry) => return entry.sequence,
                Followed::Subscribed { .. } | Followed::Lost(_) => {}
            },
        }
    }
}

#[tokio::test]
async fn a_follower_delivers_from_its_start_and_resumes_after_a_restart_without_gap_or_repeat() {
    let (mut nats, log) = log().await;
    let mut sequences = Vec::new();
    for id in ["snd_1", "snd_2", "snd_3"] {
        sequences.push(queue(&log, id).await);
    }
    let (stop, shutdown) = watch::channel(false);
    let from = DeliverPolicy::ByStartSequence { start_sequence: sequences[1] };
    let mut follower = Follower::new(log.jetstream().clone(), vec![subjects::all_of::<SendQueued>()], from, shutdown);
    match follower.next().await {
        Some(Followed::Subscribed { pending }) => assert_eq!(pending, 2),
        _ => panic!("the first step subscribes"),
    }
    let Some(Followed::Message(second)) = follower.next().await else { panic!("the start's message") };
    assert_eq!((second.sequence, second.pending), (sequences[1], 1));
    assert_eq!(next_sequence(&mut follower).await, sequences[2]);

    // Down long enough for the subscription to fail, not just to reconnect.
    nats.stop().await;
    let drive = tokio::time::timeout(Duration::from_secs(3), next_sequence(&mut follower));
    assert!(drive.await.is_err(), "nothing to deliver while the server is down");
    nats.restart().await.expect("restart");
    let fourth = queue(&log, "snd_4").await;
    assert_eq!(next_sequence(&mut follower).await, fourth, "the next message, none again");

    stop.send_replace(true);
    assert!(follower.next().await.is_none(), "shutdown ends the following");
}

/// Takes the stream's only consumer place from the follower: deletes its
/// consumer and makes one of its own, again if the follower's recreation
/// wins the race for the place.
async fn take_the_only_place(events: &mut stream::Stream) {
    loop {
        let names: Vec<String> = events.consumer_names().try_collect().await.expect("consumer names");
        for name in names.iter().filter(|name| *name != "blocker") {
            events.delete_consumer(name).await.ok();
        }
        let blocker = pull::Config { durable_name: Some("blocker".into()), ..Default::default() };
        if events.create_consumer(blocker).await.is_ok() {
            return;
        }
    }
}

#[tokio::test]
async fn a_follower_whose_subscription_stalls_says_so_and_resumes_without_gap_or_repeat() {
    let (_nats, log) = log().await;
    // The log again, with room for one consumer: when the follower's is taken
    // away, its ordered consumer cannot make another and retries silently.
    let js = log.jetstream().clone();
    js.delete_stream(subjects::EVENTS_STREAM).await.expect("delete the stream");
    let mut events = js
        .create_stream(stream::Config {
            name: subjects::EVENTS_STREAM.into(),
            subjects: vec!["nt.ev.>".into()],
            max_consumers: 1,
            ..Default::default()
        })
        .await
        .expect("a stream with room for one consumer");
    let first = queue(&log, "snd_1").await;
    let (_stop, shutdown) = watch::channel(false);
    let mut follower = Follower::new(js.clone(), vec![subjects::all_of::<SendQueued>()], DeliverPolicy::All, shutdown);
    assert_eq!(next_sequence(&mut follower).await, first);
    // Quiet, but not stalled: the follower keeps its subscription (a new one
    // would find no room and say so).
    let quiet = tokio::time::timeout(QUIET + Duration::from_secs(3), follower.next()).await;
    assert!(quiet.is_err(), "a quiet follower reported something");

    take_the_only_place(&mut events).await;
    let during = queue(&log, "snd_2").await;
    let said = tokio::time::timeout(QUIET * 3, async {
        loop {
            match follower.next().await.expect("not shut down") {
                Followed::Lost(FollowError::Subscribe(e)) => return e,
                Followed::Message(entry) => panic!("delivered {} without a consumer", entry.sequence),
                Followed::Subscribed { .. } | Followed::Lost(_) => {}
            }
        }
    })
    .await
    .expect("a stalled follower says so within its quiet period");
    assert!(said.contains("consumer"), "names the cause: {said}");

    events.delete_consumer("blocker").await.expect("give the place back");
    assert_eq!(next_sequence(&mut follower).await, during, "the message sent during the stall");
    let after = queue(&log, "snd_3").await;
    assert_eq!(next_sequence(&mut follower).await, after, "then the next, none again");
}
