//! The incident aggregate (`nt.ev.incident.<id>.*`): one monitoring incident
//! of an integration and its alert cards, the current one last.
//!
//! An upsert opens a card, updates the current one, or, when the current
//! card is resolved and the incident fires again, opens the next card (the
//! PagerDuty dedup-key rule). An update that changes nothing writes nothing.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use novij_events::ids;
use novij_events::incident::{ActionPressed, ActionsAcked, AlertStatus, CardNotice, CardOpened, CardUpdated, Severity};
use novij_events::send::{FailureReason, PaymentClaim};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Incident {
    pub incident_id: String,
    /// `None`: the incident has no events.
    pub project_id: Option<String>,
    pub integration_id: String,
    pub bot_key: String,
    pub external_id: String,
    /// Every card, by generation (the first is generation 1); the last is current.
    pub cards: Vec<Card>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    pub alert_id: String,
    pub generation: u32,
    pub recipients: Vec<String>,
    pub revision: u32,
    pub severity: Severity,
    pub status: AlertStatus,
    /// The newest content, sealed.
    pub content: Sealed,
    pub content_hash: String,
    /// What each chat's message shows.
    pub shown: BTreeMap<String, Shown>,
    /// Chats whose message cannot show the card, and why.
    pub failed: BTreeMap<String, FailureReason>,
    /// The card's action ids, by button position.
    pub actions: Vec<String>,
    pub presses: Vec<Press>,
    /// Revisions that also notify the chats (edits are silent).
    pub notices: Vec<(u32, CardNotice)>,
    pub payment: CardPayment,
}

/// Whether a card may be shown: a card of an integration in payment mode
/// `dsr` waits for the payment-verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardPayment {
    NotRequired,
    Pending,
    Cleared,
    Refused(FailureReason),
}

impl CardPayment {
    pub fn label(self) -> Option<&'static str> {
        match self {
            CardPayment::NotRequired => None,
            CardPayment::Pending => Some("pending"),
            CardPayment::Cleared => Some("paid"),
            CardPayment::Refused(_) => Some("refused"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Press {
    pub action_id: String,
    pub action: String,
    pub pressed_by: String,
    pub pressed_at: DateTime<Utc>,
    pub acked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    pub revision: u32,
    pub telegram_message_id: i64,
}

impl Incident {
    pub fn current(&self) -> Option<&Card> {
        self.cards.last()
    }

    /// Whether an upsert with `status` opens a new card: the incident has
    /// none, or its current one is closed and it fires again.
    pub fn opens_with(&self, status: AlertStatus) -> bool {
        self.current().is_none_or(|c| c.closed() && status == AlertStatus::Firing)
    }

    pub fn card(&self, generation: u32) -> Option<&Card> {
        self.cards.get(usize::try_from(generation).ok()?.checked_sub(1)?)
    }

    fn card_mut(&mut self, alert_id: &str) -> Option<&mut Card> {
        let (_, generation) = ids::parse_alert_id(alert_id)?;
        self.cards.get_mut(usize::try_from(generation).ok()?.checked_sub(1)?)
    }
}

impl Card {
    /// The newest notice of the revisions after `shown` up to the card's
    /// own: what a chat brought from `shown` to now must still be told.
    pub fn notice_since(&self, shown: u32) -> Option<CardNotice> {
        self.notices.iter().rev().find(|(revision, _)| *revision > shown && *revision <= self.revision).map(|(_, n)| *n)
    }

    /// Free, or paid for: its messages may be sent.
    pub fn showable(&self) -> bool {
        matches!(self.payment, CardPayment::NotRequired | CardPayment::Cleared)
    }

    /// Resolved, or never to be shown: the incident's next firing opens a new card.
    pub fn closed(&self) -> bool {
        self.status == AlertStatus::Resolved || matches!(self.payment, CardPayment::Refused(_))
    }

    /// The revision a chat's message still has to be brought to, if any.
    pub fn owed(&self, recipient_id: &str) -> Option<u32> {
        let shown = self.shown.get(recipient_id).map_or(0, |s| s.revision);
        (self.showable() && shown < self.revision && !self.failed.contains_key(recipient_id)).then_some(self.revision)
    }
}

impl Aggregate for Incident {
    const TYPE: &'static str = "incident";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::CardOpened(e) => {
                let e = &e.payload;
                self.incident_id = e.incident_id.clone();
                self.project_id = Some(e.project_id.clone());
                self.integration_id = e.integration_id.clone();
                self.bot_key = e.bot_key.clone();
                self.external_id = e.external_id.clone();
                self.cards.push(Card {
                    alert_id: e.alert_id.clone(),
                    generation: e.generation,
                    recipients: e.recipients.clone(),
                    revision: 1,
                    severity: e.severity,
                    status: e.status,
                    content: e.card.clone(),
                    content_hash: e.content_hash.clone(),
                    shown: BTreeMap::new(),
                    failed: BTreeMap::new(),
                    actions: e.actions.clone(),
                    presses: Vec::new(),
                    notices: Vec::new(),
                    payment: if e.payment.is_some() { CardPayment::Pending } else { CardPayment::NotRequired },
                });
            }
            // The first outcome of a payment stands.
            AnyEvent::CardCleared(e) => {
                if let Some(card) = self.card_mut(&e.payload.alert_id).filter(|c| c.payment == CardPayment::Pending) {
                    card.payment = CardPayment::Cleared;
                }
            }
            AnyEvent::CardRefused(e) => {
                if let Some(card) = self.card_mut(&e.payload.alert_id).filter(|c| c.payment == CardPayment::Pending) {
                    card.payment = CardPayment::Refused(e.payload.reason);
                }
            }
            AnyEvent::CardUpdated(e) => {
                let e = &e.payload;
                if let Some(card) = self.card_mut(&e.alert_id).filter(|card| e.revision > card.revision) {
                    card.revision = e.revision;
                    card.severity = e.severity;
                    card.status = e.status;
                    card.content = e.card.clone();
                    card.content_hash = e.content_hash.clone();
                    card.actions = e.actions.clone();
                    card.notices.extend(e.notice.map(|n| (e.revision, n)));
                }
            }
            AnyEvent::CardShown(e) => {
                let e = &e.payload;
                if let Some(card) = self.card_mut(&e.alert_id) {
                    let shown = Shown { revision: e.revision, telegram_message_id: e.telegram_message_id };
                    // Records of one chat may land out of order across a
                    // hand-over; a fresh message replaces the old one anyway.
                    let newer = card.shown.get(&e.recipient_id).is_none_or(|s| e.fresh || s.revision <= e.revision);
                    if newer {
                        card.shown.insert(e.recipient_id.clone(), shown);
                    }
                }
            }
            AnyEvent::ActionPressed(e) => {
                let e = &e.payload;
                if let Some(card) = self.card_mut(&e.alert_id) {
                    card.presses.push(Press {
                        action_id: e.action_id.clone(),
                        action: e.action.clone(),
                        pressed_by: e.pressed_by.clone(),
                        pressed_at: e.pressed_at,
                        acked: false,
                    });
                }
            }
            AnyEvent::ActionsAcked(e) => {
                for press in self.cards.iter_mut().flat_map(|c| c.presses.iter_mut()) {
                    if e.payload.action_ids.contains(&press.action_id) {
                        press.acked = true;
                    }
                }
            }
            AnyEvent::CardFailed(e) => {
                let e = &e.payload;
                if let Some(card) = self.card_mut(&e.alert_id) {
                    card.failed.insert(e.recipient_id.clone(), e.reason);
                }
            }
            _ => {}
        }
        self
    }
}

/// A card's state as a caller asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub severity: Severity,
    pub status: AlertStatus,
    pub content: Sealed,
    pub content_hash: String,
    /// The action ids of the content, by position.
    pub actions: Vec<String>,
}

/// Presses of one button by one person closer than this are one action.
pub const SAME_PRESS: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

#[derive(Debug, Clone, PartialEq)]
pub enum IncidentCommand {
    /// `POST /alerts/upsert`: open or update the incident's card. `recipients`
    /// and `payment` are for a card it opens: a caller that expects an update
    /// gives none, and is refused if the incident opens a card after all.
    Upsert {
        project_id: String,
        integration_id: String,
        bot_key: String,
        recipients: Vec<String>,
        payment: Option<Box<PaymentClaim>>,
        change: Change,
    },
    /// `PATCH /alerts/{alert_id}` (and an ack's result): update that card.
    Update { generation: u32, change: Change },
    /// Someone pressed the card's button at `position`.
    Press { generation: u32, position: usize, pressed_by: String, at: DateTime<Utc>, action_id: String },
    /// The project took these presses (ids of other incidents are not this one's).
    Ack { action_ids: Vec<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Opened(Box<CardOpened>),
    Updated(CardUpdated),
    /// Nothing to write: the card (`alert_id`) already is so.
    Unchanged {
        alert_id: String,
    },
    Pressed(ActionPressed),
    Acked(ActionsAcked),
    /// Nothing to write: a press already recorded, or acks already taken.
    Nothing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IncidentRefusal {
    #[error("alert not found")]
    NotFound,
    /// A later card of the same incident was opened.
    #[error("a newer card of this incident replaced it")]
    Superseded,
    #[error("no recipients")]
    NoRecipients,
    /// A press on a resolved card.
    #[error("the alert is resolved")]
    Resolved,
    /// The card's payment was refused: it is never shown.
    #[error("the alert's payment was refused")]
    PaymentRefused,
}

/// `incident_id` and `external_id` are the command's: an incident is found
/// by them before it has events.
pub fn decide(
    incident: &Incident,
    incident_id: &str,
    external_id: &str,
    command: IncidentCommand,
) -> Result<Decision, IncidentRefusal> {
    match command {
        IncidentCommand::Upsert { project_id, integration_id, bot_key, recipients, payment, change } => {
            if !incident.opens_with(change.status) {
                let card = incident.current().ok_or(IncidentRefusal::NotFound)?;
                if card.closed() {
                    return Ok(Decision::Unchanged { alert_id: card.alert_id.clone() });
                }
                return Ok(update(card, change));
            }
            if recipients.is_empty() {
                return Err(IncidentRefusal::NoRecipients);
            }
            let generation = incident.cards.len() as u32 + 1;
            let alert_id = ids::alert_id(incident_id, generation).ok_or(IncidentRefusal::NotFound)?;
            Ok(Decision::Opened(Box::new(CardOpened {
                incident_id: incident_id.to_string(),
                alert_id,
                generation,
                project_id,
                integration_id,
                bot_key,
                external_id: external_id.to_string(),
                recipients,
                severity: change.severity,
                status: change.status,
                card: change.content,
                content_hash: change.content_hash,
                actions: change.actions,
                payment: payment.map(|p| *p),
            })))
        }
        IncidentCommand::Update { generation, change } => {
            let card = incident.card(generation).ok_or(IncidentRefusal::NotFound)?;
            if generation < incident.cards.len() as u32 {
                return Err(IncidentRefusal::Superseded);
            }
            if matches!(card.payment, CardPayment::Refused(_)) {
                return Err(IncidentRefusal::PaymentRefused);
            }
            Ok(update(card, change))
        }
        IncidentCommand::Press { generation, position, pressed_by, at, action_id } => {
            let card = incident.card(generation).ok_or(IncidentRefusal::NotFound)?;
            if generation < incident.cards.len() as u32 {
                return Err(IncidentRefusal::Superseded);
            }
            if card.status == AlertStatus::Resolved {
                return Err(IncidentRefusal::Resolved);
            }
            // Nobody can press a card that was never shown.
            if !card.showable() {
                return Err(IncidentRefusal::NotFound);
            }
            let action = card.actions.get(position).ok_or(IncidentRefusal::NotFound)?;
            let again = card.presses.iter().any(|p| {
                p.action_id == action_id
                    || (&p.action == action && p.pressed_by == pressed_by && (at - p.pressed_at).abs() < SAME_PRESS)
            });
            if again {
                return Ok(Decision::Nothing);
            }
            Ok(Decision::Pressed(ActionPressed {
                incident_id: incident_id.to_string(),
                alert_id: card.alert_id.clone(),
                action_id,
                action: action.clone(),
                pressed_by,
                pressed_at: at,
            }))
        }
        IncidentCommand::Ack { action_ids } => {
            let open: Vec<String> = incident
                .cards
                .iter()
                .flat_map(|c| &c.presses)
                .filter(|p| !p.acked && action_ids.contains(&p.action_id))
                .map(|p| p.action_id.clone())
                .collect();
            if open.is_empty() {
                return Ok(Decision::Nothing);
            }
            Ok(Decision::Acked(ActionsAcked { incident_id: incident_id.to_string(), action_ids: open }))
        }
    }
}

fn update(card: &Card, change: Change) -> Decision {
    if (card.severity, card.status, card.content_hash.as_str())
        == (change.severity, change.status, change.content_hash.as_str())
    {
        return Decision::Unchanged { alert_id: card.alert_id.clone() };
    }
    let notice = if change.severity.rank() > card.severity.rank() && change.status != AlertStatus::Resolved {
        Some(CardNotice::SeverityRaised)
    } else if change.status == AlertStatus::Firing && card.status != AlertStatus::Firing {
        Some(CardNotice::FiringAgain)
    } else {
        None
    };
    Decision::Updated(CardUpdated {
        incident_id: ids::parse_alert_id(&card.alert_id).map(|(incident, _)| incident).unwrap_or_default(),
        alert_id: card.alert_id.clone(),
        revision: card.revision + 1,
        severity: change.severity,
        status: change.status,
        card: change.content,
        content_hash: change.content_hash,
        actions: change.actions,
        notice,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;
    use novij_events::incident::{CardCleared, CardRefused, CardShown};
    use novij_events::send::Clearance;

    const INCIDENT: &str = "inc_0123456789abcdef0123456789abcdef";

    fn change(severity: Severity, status: AlertStatus, content: &str) -> Change {
        Change {
            severity,
            status,
            content: Sealed { ad: None, kid: "k".into(), nonce: "n".into(), ct: content.into() },
            content_hash: content.into(),
            actions: vec!["ack".into(), "resolve".into()],
        }
    }

    fn upsert(change: Change) -> IncidentCommand {
        IncidentCommand::Upsert {
            project_id: "p1".into(),
            integration_id: "int_1".into(),
            bot_key: "common".into(),
            recipients: vec!["rcp_1".into(), "rcp_2".into()],
            payment: None,
            change,
        }
    }

    /// The state after the decisions' events, like a caller that appends them.
    fn given(commands: Vec<IncidentCommand>) -> Incident {
        commands.into_iter().fold(Incident::default(), |state, command| {
            match decide(&state, INCIDENT, "disk-full", command).expect("decided") {
                Decision::Opened(e) => fold_one(state, env(*e)),
                Decision::Updated(e) => fold_one(state, env(e)),
                Decision::Pressed(e) => fold_one(state, env(e)),
                Decision::Acked(e) => fold_one(state, env(e)),
                Decision::Unchanged { .. } | Decision::Nothing => state,
            }
        })
    }

    fn fold_one(state: Incident, event: AnyEvent) -> Incident {
        state.evolve(&event)
    }

    #[test]
    fn the_first_upsert_opens_card_one_for_every_recipient() {
        let when = decide(
            &Incident::default(),
            INCIDENT,
            "disk-full",
            upsert(change(Severity::High, AlertStatus::Firing, "a")),
        );
        let Ok(Decision::Opened(opened)) = when else { panic!("opened: {when:?}") };
        assert_eq!(opened.generation, 1);
        assert_eq!(ids::parse_alert_id(&opened.alert_id), Some((INCIDENT.to_string(), 1)));
        let state = fold::<Incident>([(env(*opened), 1)]).state;
        let card = state.current().expect("a card");
        assert_eq!((card.revision, card.owed("rcp_1"), card.owed("rcp_2")), (1, Some(1), Some(1)));
    }

    #[test]
    fn an_update_raises_the_revision_and_one_that_changes_nothing_writes_nothing() {
        let state = given(vec![upsert(change(Severity::Warning, AlertStatus::Firing, "a"))]);
        let same = decide(&state, INCIDENT, "disk-full", upsert(change(Severity::Warning, AlertStatus::Firing, "a")));
        assert!(matches!(same, Ok(Decision::Unchanged { .. })), "{same:?}");
        let raised =
            decide(&state, INCIDENT, "disk-full", upsert(change(Severity::Critical, AlertStatus::Firing, "a")));
        let Ok(Decision::Updated(updated)) = raised else { panic!("updated: {raised:?}") };
        assert_eq!((updated.revision, updated.notice), (2, Some(CardNotice::SeverityRaised)));
        let after = state.clone().evolve(&env(updated));
        let card = after.current().expect("card");
        assert_eq!((card.notice_since(1), card.notice_since(2)), (Some(CardNotice::SeverityRaised), None));
        let text = decide(&state, INCIDENT, "disk-full", upsert(change(Severity::Warning, AlertStatus::Firing, "b")));
        assert!(matches!(text, Ok(Decision::Updated(CardUpdated { notice: None, .. }))), "{text:?}");
    }

    #[test]
    fn firing_again_after_an_ack_notifies() {
        let state = given(vec![
            upsert(change(Severity::High, AlertStatus::Firing, "a")),
            upsert(change(Severity::High, AlertStatus::Acknowledged, "a")),
        ]);
        let again = decide(&state, INCIDENT, "disk-full", upsert(change(Severity::High, AlertStatus::Firing, "a")));
        assert!(matches!(again, Ok(Decision::Updated(CardUpdated { notice: Some(CardNotice::FiringAgain), .. }))));
    }

    #[test]
    fn a_resolved_card_that_fires_again_opens_the_next_card_and_resolved_again_changes_nothing() {
        let state = given(vec![
            upsert(change(Severity::High, AlertStatus::Firing, "a")),
            upsert(change(Severity::High, AlertStatus::Resolved, "a")),
        ]);
        let first = state.current().expect("card").alert_id.clone();
        for status in [AlertStatus::Resolved, AlertStatus::Acknowledged] {
            let when = decide(&state, INCIDENT, "disk-full", upsert(change(Severity::High, status, "z")));
            assert_eq!(when, Ok(Decision::Unchanged { alert_id: first.clone() }));
        }
        let state = given(vec![
            upsert(change(Severity::High, AlertStatus::Firing, "a")),
            upsert(change(Severity::High, AlertStatus::Resolved, "a")),
            upsert(change(Severity::High, AlertStatus::Firing, "b")),
        ]);
        let current = state.current().expect("card");
        assert_eq!((current.generation, current.revision), (2, 1));
        assert_ne!(current.alert_id, first);
        // The old card is left as it was; updating it by id is refused.
        assert_eq!(state.card(1).map(|c| c.status), Some(AlertStatus::Resolved));
        let old = decide(
            &state,
            INCIDENT,
            "disk-full",
            IncidentCommand::Update { generation: 1, change: change(Severity::Info, AlertStatus::Firing, "c") },
        );
        assert_eq!(old, Err(IncidentRefusal::Superseded));
        let missing =
            IncidentCommand::Update { generation: 3, change: change(Severity::Info, AlertStatus::Firing, "c") };
        assert_eq!(decide(&state, INCIDENT, "disk-full", missing), Err(IncidentRefusal::NotFound));
    }

    #[test]
    fn a_chat_is_owed_the_newest_revision_until_shown_and_an_older_record_never_wins() {
        let state = given(vec![
            upsert(change(Severity::High, AlertStatus::Firing, "a")),
            upsert(change(Severity::High, AlertStatus::Firing, "b")),
            upsert(change(Severity::High, AlertStatus::Firing, "c")),
        ]);
        let alert_id = state.current().expect("card").alert_id.clone();
        let shown = |revision, message, fresh| {
            env(CardShown {
                incident_id: INCIDENT.into(),
                alert_id: alert_id.clone(),
                recipient_id: "rcp_1".into(),
                revision,
                telegram_message_id: message,
                fresh,
            })
        };
        let state = state.evolve(&shown(3, 10, true)).evolve(&shown(2, 10, false));
        let card = state.current().expect("card");
        assert_eq!(card.shown.get("rcp_1"), Some(&Shown { revision: 3, telegram_message_id: 10 }));
        assert_eq!((card.owed("rcp_1"), card.owed("rcp_2")), (None, Some(3)));
        // A fresh message (the user deleted the card) replaces the old one.
        let state = state.evolve(&shown(2, 11, true));
        assert_eq!(state.current().expect("card").shown["rcp_1"].telegram_message_id, 11);
    }

    fn paid(change: Change) -> IncidentCommand {
        let IncidentCommand::Upsert { project_id, integration_id, bot_key, recipients, change, .. } = upsert(change)
        else {
            unreachable!("an upsert")
        };
        let payment = Some(Box::new(PaymentClaim {
            tx_hash: "ab".repeat(32),
            payer_wallet_id: "w_payer".into(),
            payment_code: "code".into(),
            amount_due: "2".parse().expect("amount"),
            asset: "DSR".into(),
            receiver_wallet_id: "w_service".into(),
        }));
        IncidentCommand::Upsert { project_id, integration_id, bot_key, recipients, payment, change }
    }

    #[test]
    fn a_paid_card_is_shown_once_cleared_and_a_refused_one_never_and_the_next_firing_opens_a_new_card() {
        let state = given(vec![
            paid(change(Severity::High, AlertStatus::Firing, "a")),
            upsert(change(Severity::Critical, AlertStatus::Firing, "b")),
        ]);
        let card = state.current().expect("card");
        assert_eq!((card.payment, card.revision, card.owed("rcp_1")), (CardPayment::Pending, 2, None));
        let pressed = decide(&state, INCIDENT, "disk-full", press(0, "user:1", Utc::now(), "act_1"));
        assert_eq!(pressed, Err(IncidentRefusal::NotFound));
        let alert_id = card.alert_id.clone();

        let cleared = state.clone().evolve(&env(CardCleared {
            incident_id: INCIDENT.into(),
            alert_id: alert_id.clone(),
            clearance: Clearance::NoPaymentRequired,
        }));
        let card = cleared.current().expect("card");
        assert_eq!((card.payment, card.owed("rcp_1"), card.owed("rcp_2")), (CardPayment::Cleared, Some(2), Some(2)));

        let refusal = env(CardRefused {
            incident_id: INCIDENT.into(),
            alert_id: alert_id.clone(),
            reason: FailureReason::InsufficientAmount,
            detail: "short".into(),
        });
        // A later outcome does not undo the first.
        assert_eq!(cleared.clone().evolve(&refusal).current().map(|c| c.payment), Some(CardPayment::Cleared));
        let refused = state.evolve(&refusal);
        let card = refused.current().expect("card");
        assert_eq!((card.payment, card.owed("rcp_1")), (CardPayment::Refused(FailureReason::InsufficientAmount), None));
        let patch = IncidentCommand::Update { generation: 1, change: change(Severity::Info, AlertStatus::Firing, "c") };
        assert_eq!(decide(&refused, INCIDENT, "disk-full", patch), Err(IncidentRefusal::PaymentRefused));
        let acked =
            decide(&refused, INCIDENT, "disk-full", upsert(change(Severity::High, AlertStatus::Acknowledged, "c")));
        assert_eq!(acked, Ok(Decision::Unchanged { alert_id }));
        let again = decide(&refused, INCIDENT, "disk-full", paid(change(Severity::High, AlertStatus::Firing, "c")));
        let Ok(Decision::Opened(opened)) = again else { panic!("opened: {again:?}") };
        assert_eq!((opened.generation, opened.payment.is_some()), (2, true));
    }

    fn press(position: usize, by: &str, at: DateTime<Utc>, id: &str) -> IncidentCommand {
        IncidentCommand::Press { generation: 1, position, pressed_by: by.into(), at, action_id: id.into() }
    }

    #[test]
    fn a_press_is_recorded_once_and_leaves_the_open_presses_when_acked() {
        let state = given(vec![upsert(change(Severity::High, AlertStatus::Firing, "a"))]);
        let at = Utc::now();
        let first = decide(&state, INCIDENT, "disk-full", press(1, "user:1", at, "act_1"));
        let Ok(Decision::Pressed(pressed)) = first else { panic!("pressed: {first:?}") };
        assert_eq!((pressed.action.as_str(), pressed.pressed_by.as_str()), ("resolve", "user:1"));
        let state = state.evolve(&env(pressed));
        // The same update again, or the same button by the same person a moment later: one action.
        for again in [press(1, "user:1", at, "act_1"), press(1, "user:1", at + chrono::TimeDelta::seconds(2), "act_2")]
        {
            assert_eq!(decide(&state, INCIDENT, "disk-full", again), Ok(Decision::Nothing));
        }
        let later = press(1, "user:1", at + chrono::TimeDelta::seconds(6), "act_3");
        assert!(matches!(decide(&state, INCIDENT, "disk-full", later), Ok(Decision::Pressed(_))));
        let other = press(1, "user:2", at, "act_4");
        assert!(matches!(decide(&state, INCIDENT, "disk-full", other), Ok(Decision::Pressed(_))));
        assert_eq!(
            decide(&state, INCIDENT, "disk-full", press(7, "user:1", at, "act_5")),
            Err(IncidentRefusal::NotFound)
        );

        let ack = IncidentCommand::Ack { action_ids: vec!["act_1".into(), "act_other".into()] };
        let Ok(Decision::Acked(acked)) = decide(&state, INCIDENT, "disk-full", ack.clone()) else { panic!("acked") };
        assert_eq!(acked.action_ids, vec!["act_1".to_string()]);
        let state = state.evolve(&env(acked));
        assert_eq!(decide(&state, INCIDENT, "disk-full", ack), Ok(Decision::Nothing));
    }

    #[test]
    fn a_press_on_a_resolved_or_replaced_card_is_refused() {
        let resolved = given(vec![
            upsert(change(Severity::High, AlertStatus::Firing, "a")),
            upsert(change(Severity::High, AlertStatus::Resolved, "a")),
        ]);
        let at = Utc::now();
        assert_eq!(decide(&resolved, INCIDENT, "x", press(0, "u", at, "act_1")), Err(IncidentRefusal::Resolved));
        let replaced = given(vec![
            upsert(change(Severity::High, AlertStatus::Firing, "a")),
            upsert(change(Severity::High, AlertStatus::Resolved, "a")),
            upsert(change(Severity::High, AlertStatus::Firing, "b")),
        ]);
        assert_eq!(decide(&replaced, INCIDENT, "x", press(0, "u", at, "act_1")), Err(IncidentRefusal::Superseded));
    }
}
