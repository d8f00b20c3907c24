//! The upload aggregate (`nt.ev.upload.<id>.*`): stored; claimed by the
//! sends and broadcasts that use it; its `file_id` learned per bot; removed
//! once every claim has ended or expired (or, never claimed, once it was
//! left unused too long). A claim after the removal is refused, and a
//! removal is fenced on the claims it saw, so no send is left naming a file
//! that is gone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use novij_events::upload::{UploadClaimed, UploadRemovalReason, UploadRemoved, UploadStored};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Upload {
    /// `None`: the upload has no events.
    pub stored: Option<UploadStored>,
    /// Each user (send or broadcast id) and until when it may use the file.
    pub claims: BTreeMap<String, DateTime<Utc>>,
    /// Bot key → the sealed `file_id` Telegram gave the file for that bot.
    pub file_ids: BTreeMap<String, Sealed>,
    pub removed: bool,
}

impl Aggregate for Upload {
    const TYPE: &'static str = "upload";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::UploadStored(e) => self.stored = Some(e.payload.clone()),
            AnyEvent::UploadClaimed(e) => {
                let until = self.claims.entry(e.payload.user.clone()).or_insert(e.payload.until);
                *until = (*until).max(e.payload.until);
            }
            // The first answer for a bot stands: every later send reuses it.
            AnyEvent::UploadFileIdLearned(e) => {
                self.file_ids.entry(e.payload.bot_key.clone()).or_insert_with(|| e.payload.file_id.clone());
            }
            AnyEvent::UploadRemoved(_) => self.removed = true,
            _ => {}
        }
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadRefusal {
    #[error("no such upload")]
    NotFound,
    #[error("the upload belongs to another project")]
    OtherProject,
    #[error("the upload was removed: every send that used it has ended")]
    Removed,
}

/// The file as `project_id` may use it: its own, and still kept.
pub fn usable<'a>(upload: &'a Upload, project_id: &str) -> Result<&'a UploadStored, UploadRefusal> {
    let stored = upload.stored.as_ref().ok_or(UploadRefusal::NotFound)?;
    if stored.project_id != project_id {
        return Err(UploadRefusal::OtherProject);
    }
    if upload.removed {
        return Err(UploadRefusal::Removed);
    }
    Ok(stored)
}

/// A project's send or broadcast `user` will use the file until `until`:
/// `Ok(None)` when it holds a claim that long already.
pub fn claim(
    upload: &Upload,
    project_id: &str,
    user: &str,
    until: DateTime<Utc>,
) -> Result<Option<UploadClaimed>, UploadRefusal> {
    let stored = usable(upload, project_id)?;
    if upload.claims.get(user).is_some_and(|held| *held >= until) {
        return Ok(None);
    }
    Ok(Some(UploadClaimed { upload_id: stored.upload_id.clone(), user: user.to_string(), until }))
}

/// Whether the file may go now, given the users known to have ended:
/// every claim ended or expired, or, never claimed, left unused too long.
pub fn remove(upload: &Upload, ended: &BTreeSet<String>, now: DateTime<Utc>) -> Option<UploadRemoved> {
    let stored = upload.stored.as_ref().filter(|_| !upload.removed)?;
    let reason = if upload.claims.is_empty() {
        (now >= stored.unused_until).then_some(UploadRemovalReason::Unused)?
    } else {
        let over = upload.claims.iter().all(|(user, until)| ended.contains(user) || *until <= now);
        over.then_some(UploadRemovalReason::UsesEnded)?
    };
    Some(UploadRemoved { upload_id: stored.upload_id.clone(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;
    use chrono::Duration;

    fn sealed() -> Sealed {
        Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: "c".into() }
    }

    fn stored(now: DateTime<Utc>) -> AnyEvent {
        env(UploadStored {
            upload_id: "upl_1".into(),
            project_id: "p".into(),
            size: 3,
            content_type: "image/jpeg".into(),
            filename: None,
            key: sealed(),
            chunks: 1,
            unused_until: now + Duration::hours(1),
        })
    }

    fn given(events: Vec<AnyEvent>) -> Upload {
        fold::<Upload>(events.into_iter().zip(1..)).state
    }

    #[test]
    fn a_claimed_upload_stays_until_every_user_has_ended_or_expired() {
        let now = Utc::now();
        let upload = given(vec![stored(now)]);
        let a = claim(&upload, "p", "snd_a", now + Duration::hours(2)).unwrap().unwrap();
        let b = claim(&upload, "p", "brd_b", now + Duration::hours(3)).unwrap().unwrap();
        let upload = given(vec![stored(now), env(a.clone()), env(b)]);
        assert_eq!(claim(&upload, "p", "snd_a", now + Duration::hours(1)), Ok(None), "held long enough already");
        assert!(remove(&upload, &BTreeSet::from(["snd_a".to_string()]), now).is_none(), "brd_b goes on");
        let ended = BTreeSet::from(["snd_a".to_string(), "brd_b".to_string()]);
        let removed = remove(&upload, &ended, now).unwrap();
        assert_eq!(removed.reason, UploadRemovalReason::UsesEnded);
        assert!(remove(&upload, &BTreeSet::new(), now + Duration::hours(3)).is_some(), "or once every claim expired");
        let gone = given(vec![stored(now), env(a), env(removed)]);
        assert_eq!(claim(&gone, "p", "snd_c", now), Err(UploadRefusal::Removed));
        assert!(remove(&gone, &ended, now).is_none(), "once");
    }

    #[test]
    fn an_unused_upload_goes_after_its_time_and_only_its_project_may_claim_it() {
        let now = Utc::now();
        let upload = given(vec![stored(now)]);
        assert!(remove(&upload, &BTreeSet::new(), now).is_none());
        let removed = remove(&upload, &BTreeSet::new(), now + Duration::hours(1)).unwrap();
        assert_eq!(removed.reason, UploadRemovalReason::Unused);
        assert_eq!(claim(&upload, "q", "snd_a", now), Err(UploadRefusal::OtherProject));
        assert_eq!(claim(&Upload::default(), "p", "snd_a", now), Err(UploadRefusal::NotFound));
    }

    #[test]
    fn the_first_file_id_learned_for_a_bot_stands() {
        let now = Utc::now();
        let learned = |ct: &str| {
            env(novij_events::upload::UploadFileIdLearned {
                upload_id: "upl_1".into(),
                bot_key: "common".into(),
                file_id: Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: ct.into() },
            })
        };
        let upload = given(vec![stored(now), learned("first"), learned("second")]);
        assert_eq!(upload.file_ids["common"].ct, "first");
    }
}
