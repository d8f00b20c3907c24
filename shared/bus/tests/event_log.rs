//! The event log's fences against a real nats-server: the rules every
//! uniqueness guarantee of the service rests on.

mod common;

use common::{log, queued};
use novij_bus::{AppendError, Expect};
use novij_events::send::{FailureReason, MessageSent, SendFailed};
use novij_events::{Envelope, EventMeta};

fn sent(id: &str) -> Envelope<MessageSent> {
    Envelope::new(MessageSent { send_id: id.into(), telegram_message_id: 7, attempts: 1 }, EventMeta::new("t"))
}

#[tokio::test]
async fn an_aggregates_first_event_can_be_written_once() {
    let (_nats, log) = log().await;
    let first = log.append(&queued("snd_a"), Expect::NoEvents).await.expect("first");
    assert!(matches!(log.append(&queued("snd_a"), Expect::NoEvents).await, Err(AppendError::Conflict)));
    // Another aggregate is not affected.
    log.append(&queued("snd_b"), Expect::NoEvents).await.expect("other aggregate");
    // The fence covers every event type of the aggregate, not just one subject.
    let failed = Envelope::new(
        SendFailed { send_id: "snd_a".into(), reason: FailureReason::ChatNotFound, detail: "d".into(), attempts: 1 },
        EventMeta::new("t"),
    );
    assert!(matches!(log.append(&failed, Expect::NoEvents).await, Err(AppendError::Conflict)));
    assert_eq!(log.last_sequence("send", "snd_a").await.unwrap(), Some(first.sequence));
}

#[tokio::test]
async fn a_stale_expected_sequence_is_a_conflict_and_the_last_sequence_sees_every_type() {
    let (_nats, log) = log().await;
    let q = log.append(&queued("snd_c"), Expect::NoEvents).await.unwrap();
    let s = log.append(&sent("snd_c"), Expect::LastSequence(q.sequence)).await.unwrap();
    assert!(matches!(log.append(&sent("snd_c"), Expect::LastSequence(q.sequence)).await, Err(AppendError::Conflict)));
    assert_eq!(log.last_sequence("send", "snd_c").await.unwrap(), Some(s.sequence));
    assert_eq!(log.last_sequence("send", "snd_missing").await.unwrap(), None);
    let (read, seq) = log.last::<MessageSent>("snd_c").await.unwrap().expect("sent event");
    assert_eq!((read.payload.telegram_message_id, seq), (7, s.sequence));
    let history = log.history("send", "snd_c").await.unwrap();
    let types: Vec<&str> = history.iter().map(|(e, _)| e.event_type.as_str()).collect();
    assert_eq!(types, ["send.queued", "send.sent"]);
}

#[tokio::test]
async fn republishing_the_same_event_is_stored_once() {
    let (_nats, log) = log().await;
    let event = sent("snd_d");
    let a = log.append(&event, Expect::Any).await.unwrap();
    let b = log.append(&event, Expect::Any).await.unwrap();
    assert!(!a.duplicate && b.duplicate);
    assert_eq!(a.sequence, b.sequence);
}
