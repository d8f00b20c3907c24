//! Following the log against a real nats-server: from a start, in order, on
//! across a server restart without a gap or a repeat, until shutdown.

mod common;

use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use common::{log, queued};
use novij_bus::follow::{Followed, Follower};
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
