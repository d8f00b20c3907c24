//! Removing uploads no send needs any more: once every send and broadcast
//! that claimed one has ended (or its claim expired), or once one nobody
//! claimed has waited `UPLOAD_UNUSED_SECONDS`, `upload.removed` is appended
//! fenced on the upload's last event (a claim that came meanwhile refuses
//! it), and its object is deleted from the store.
//!
//! What it decides on is kept in memory from the log: the uploads still
//! kept, the sends that use one (until they end), and each broadcast's open
//! sends. Every instance does this; the fence makes the first one win and
//! deleting an object twice is harmless. Objects the log does not account
//! for (a crash between the removal and the delete, or before an upload's
//! event) are deleted once an hour has passed since they were written.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use async_nats::jetstream::consumer::DeliverPolicy;
use chrono::Utc;
use novij_aggregates::upload::{remove, Upload};
use novij_aggregates::Aggregate;
use novij_bus::follow::{Followed, Follower};
use novij_bus::Expect;
use novij_events::broadcast::{BroadcastCancelled, BroadcastQueued, BroadcastRefused};
use novij_events::send::{MessageSent, SendAccepted, SendCancelled, SendFailed};
use novij_events::{ids, subjects, AnyEvent, Envelope, EventMeta};
use novij_runtime::Runtime;
use tokio::sync::watch;

/// How often the kept uploads are looked at.
const SWEEP_EVERY: Duration = Duration::from_secs(2);
/// An object with no upload on the log is left alone this long (its event may be on its way).
const ORPHAN_AFTER_SECONDS: i64 = 3600;

/// A broadcast's sends that use uploads: open, and whether all were made.
#[derive(Default)]
struct BroadcastUse {
    open: u32,
    settled: bool,
    cancelled: bool,
}

#[derive(Default)]
struct Uses {
    /// Uploads not removed yet, with the sequence of their last event.
    uploads: HashMap<String, (Upload, u64)>,
    /// Sends using an upload that have not ended, and their broadcast.
    sends: HashMap<String, Option<String>>,
    /// Sends that have ended.
    ended: HashSet<String>,
    broadcasts: HashMap<String, BroadcastUse>,
    /// Removed on the log, to delete from the store.
    to_delete: Vec<String>,
}

impl Uses {
    fn apply(&mut self, event: AnyEvent, sequence: u64) {
        match &event {
            AnyEvent::UploadRemoved(e) => {
                let upload_id = e.payload.upload_id.clone();
                if let Some((upload, _)) = self.uploads.remove(&upload_id) {
                    self.forget_users(upload.claims.keys());
                }
                self.to_delete.push(upload_id);
            }
            AnyEvent::UploadClaimed(e) if ids::is_valid(ids::BROADCAST, &e.payload.user) => {
                // Only broadcasts that use an upload are followed.
                self.broadcasts.entry(e.payload.user.clone()).or_default();
                self.evolve_upload(&event, sequence);
            }
            AnyEvent::UploadStored(_) | AnyEvent::UploadClaimed(_) | AnyEvent::UploadFileIdLearned(_) => {
                self.evolve_upload(&event, sequence)
            }
            AnyEvent::SendAccepted(e) if !e.payload.uploads.is_empty() => {
                let broadcast_id = e.payload.broadcast_id.clone();
                if let Some(id) = &broadcast_id {
                    self.broadcasts.entry(id.clone()).or_default().open += 1;
                }
                self.sends.insert(e.payload.send_id.clone(), broadcast_id);
            }
            AnyEvent::MessageSent(e) => self.end_send(&e.payload.send_id),
            AnyEvent::SendFailed(e) => self.end_send(&e.payload.send_id),
            AnyEvent::SendCancelled(e) => self.end_send(&e.payload.send_id),
            AnyEvent::BroadcastQueued(e) => self.broadcast(&e.payload.broadcast_id, |b| b.settled = true),
            AnyEvent::BroadcastRefused(e) => self.broadcast(&e.payload.broadcast_id, |b| b.settled = true),
            AnyEvent::BroadcastCancelled(e) => self.broadcast(&e.payload.broadcast_id, |b| b.cancelled = true),
            _ => {}
        }
    }

    fn evolve_upload(&mut self, event: &AnyEvent, sequence: u64) {
        let head = event.head();
        let (upload, _) = self.uploads.remove(&head.aggregate_id).unwrap_or_default();
        self.uploads.insert(head.aggregate_id, (upload.evolve(event), sequence));
    }

    /// Changes a followed broadcast; the others are none of this.
    fn broadcast(&mut self, broadcast_id: &str, change: impl FnOnce(&mut BroadcastUse)) {
        if let Some(b) = self.broadcasts.get_mut(broadcast_id) {
            change(b);
        }
    }

    fn end_send(&mut self, send_id: &str) {
        let Some(broadcast_id) = self.sends.remove(send_id) else { return };
        self.ended.insert(send_id.to_string());
        if let Some(b) = broadcast_id.and_then(|id| self.broadcasts.get_mut(&id)) {
            b.open = b.open.saturating_sub(1);
        }
    }

    fn has_ended(&self, user: &str) -> bool {
        if ids::is_valid(ids::BROADCAST, user) {
            return self.broadcasts.get(user).is_some_and(|b| (b.settled || b.cancelled) && b.open == 0);
        }
        self.ended.contains(user)
    }

    /// Users of a removed upload that no kept upload names are forgotten.
    fn forget_users<'a>(&mut self, users: impl Iterator<Item = &'a String>) {
        for user in users {
            if !self.uploads.values().any(|(u, _)| u.claims.contains_key(user)) {
                self.ended.remove(user);
                self.broadcasts.remove(user);
            }
        }
    }

    /// The removals due now, each with the sequence it is fenced on.
    fn due(&self) -> Vec<(novij_events::upload::UploadRemoved, u64)> {
        let now = Utc::now();
        self.uploads
            .values()
            .filter_map(|(upload, sequence)| {
                let ended: BTreeSet<String> = upload.claims.keys().filter(|u| self.has_ended(u)).cloned().collect();
                remove(upload, &ended, now).map(|removed| (removed, *sequence))
            })
            .collect()
    }
}

pub async fn run(rt: Runtime, shutdown: watch::Receiver<bool>) {
    let filters = vec![
        subjects::aggregate_type("upload"),
        subjects::all_of::<SendAccepted>(),
        subjects::all_of::<MessageSent>(),
        subjects::all_of::<SendFailed>(),
        subjects::all_of::<SendCancelled>(),
        subjects::all_of::<BroadcastQueued>(),
        subjects::all_of::<BroadcastRefused>(),
        subjects::all_of::<BroadcastCancelled>(),
    ];
    let mut follower = Follower::new(rt.jetstream.clone(), filters, DeliverPolicy::All, shutdown);
    let mut uses = Uses::default();
    let mut caught_up = false;
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    loop {
        tokio::select! {
            followed = follower.next() => {
                let Some(followed) = followed else { return };
                let pending = match followed {
                    Followed::Subscribed { pending } => pending,
                    Followed::Message(entry) => {
                        match AnyEvent::from_slice(&entry.message.payload) {
                            Ok(event) => uses.apply(event, entry.sequence),
                            Err(e) => tracing::error!(sequence = entry.sequence, error = %e, "an event this release cannot read; skipped"),
                        }
                        entry.pending
                    }
                    Followed::Lost(e) => {
                        tracing::warn!(error = %e, "following the log for uploads; resuming");
                        continue;
                    }
                };
                if pending == 0 && !caught_up {
                    caught_up = true;
                    // Only those still in the store are deleted, not every removal ever.
                    let removed: HashSet<String> = uses.to_delete.drain(..).collect();
                    delete_orphans(&rt, &uses, &removed).await;
                }
            }
            _ = sweep.tick(), if caught_up => {
                for upload_id in std::mem::take(&mut uses.to_delete) {
                    if let Err(e) = rt.uploads.remove(&upload_id).await {
                        tracing::warn!(upload_id, error = %e, "cannot delete a removed upload yet; the next start does");
                    }
                }
                for (removed, sequence) in uses.due() {
                    let upload_id = removed.upload_id.clone();
                    let reason = removed.reason;
                    let env = Envelope::new(removed, EventMeta::new(format!("upload-removal-{upload_id}")))
                        .with_event_id(ids::caused_event_id(&format!("{upload_id}:{sequence}"), "upload_removed"));
                    match rt.log.append(&env, Expect::LastSequence(sequence)).await {
                        Ok(_) => tracing::info!(upload_id, reason = reason.as_str(), "upload removed"),
                        // A claim came meanwhile, or another instance removed it: the log says next.
                        Err(novij_bus::AppendError::Conflict) => {}
                        Err(e) => tracing::warn!(upload_id, error = %e, "cannot remove an upload yet"),
                    }
                }
            }
        }
    }
}

/// Deletes the objects of `removed` uploads and those no kept upload
/// accounts for, once old enough.
async fn delete_orphans(rt: &Runtime, uses: &Uses, removed: &HashSet<String>) {
    let objects = match rt.uploads.list().await {
        Ok(objects) => objects,
        Err(e) => return tracing::warn!(error = %e, "cannot list the uploads' objects"),
    };
    let now = Utc::now().timestamp();
    for (name, written) in objects {
        let old = written.is_none_or(|at| now - at > ORPHAN_AFTER_SECONDS);
        if removed.contains(&name) || (old && !uses.uploads.contains_key(&name)) {
            if let Err(e) = rt.uploads.remove(&name).await {
                tracing::warn!(upload_id = name, error = %e, "cannot delete an orphaned upload");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as Span;
    use novij_crypto::Sealed;
    use novij_events::upload::{UploadClaimed, UploadStored};

    fn env<E: novij_events::Event>(e: E) -> AnyEvent {
        let bytes = serde_json::to_vec(&Envelope::new(e, EventMeta::new("t"))).expect("encode");
        AnyEvent::from_slice(&bytes).expect("decode")
    }

    fn sealed() -> Sealed {
        Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: "c".into() }
    }

    fn stored() -> AnyEvent {
        env(UploadStored {
            upload_id: "upl_1".into(),
            project_id: "p".into(),
            size: 1,
            content_type: "image/png".into(),
            filename: None,
            key: sealed(),
            chunks: 1,
            unused_until: Utc::now() + Span::hours(1),
        })
    }

    fn claimed(user: &str) -> AnyEvent {
        env(UploadClaimed { upload_id: "upl_1".into(), user: user.into(), until: Utc::now() + Span::hours(1) })
    }

    fn broadcast_send(send_id: &str) -> AnyEvent {
        let mut accepted: SendAccepted = serde_json::from_value(serde_json::json!({
            "send_id": send_id, "bot_key": "common", "template": "text_message", "payment_mode": "none",
            "request_hash": "h", "origin": "broadcast", "message": sealed(), "broadcast_id": "brd_1",
        }))
        .expect("accepted");
        accepted.uploads = vec!["upl_1".into()];
        env(accepted)
    }

    fn sent(send_id: &str) -> AnyEvent {
        env(MessageSent { send_id: send_id.into(), telegram_message_id: 1, attempts: 1 })
    }

    #[test]
    fn a_broadcast_keeps_its_upload_until_it_is_queued_and_every_send_has_ended() {
        let mut uses = Uses::default();
        for (sequence, event) in
            [stored(), claimed("brd_1"), broadcast_send("snd_a"), broadcast_send("snd_b")].into_iter().enumerate()
        {
            uses.apply(event, sequence as u64 + 1);
        }
        uses.apply(sent("snd_a"), 5);
        uses.apply(sent("snd_b"), 6);
        assert!(uses.due().is_empty(), "its sends may still be queued");
        uses.apply(env(BroadcastQueued { broadcast_id: "brd_1".into(), queued: 2, skipped: Default::default() }), 7);
        let due = uses.due();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].1, 2, "fenced on the upload's last event");
        let other = BroadcastQueued { broadcast_id: "brd_2".into(), queued: 1, skipped: Default::default() };
        uses.apply(env(other), 8);
        assert!(!uses.broadcasts.contains_key("brd_2"), "a broadcast without uploads is not followed");
    }

    #[test]
    fn a_send_keeps_its_upload_until_it_ends() {
        let mut uses = Uses::default();
        uses.apply(stored(), 1);
        uses.apply(claimed("snd_a"), 2);
        let mut accepted = broadcast_send("snd_a");
        if let AnyEvent::SendAccepted(e) = &mut accepted {
            e.payload.broadcast_id = None;
        }
        uses.apply(accepted, 3);
        assert!(uses.due().is_empty());
        uses.apply(sent("snd_a"), 4);
        assert_eq!(uses.due().len(), 1);
        uses.apply(
            env(novij_events::upload::UploadRemoved {
                upload_id: "upl_1".into(),
                reason: novij_events::upload::UploadRemovalReason::UsesEnded,
            }),
            5,
        );
        assert!(uses.due().is_empty() && uses.ended.is_empty(), "forgotten once removed");
        assert_eq!(uses.to_delete, ["upl_1"]);
    }
}
