//! The connect-code aggregate (`nt.ev.connect_code.<code_id>.*`): a one-time
//! code a user redeems with `/start <code>` to bind their chat.

use chrono::{DateTime, Utc};
use novij_events::connect::{ConnectCodeIssued, ConnectCodeRedeemed};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnectCode {
    /// `None`: no such code.
    pub issued: Option<ConnectCodeIssued>,
    /// The chat (keyed hash) that redeemed it.
    pub redeemed_by: Option<String>,
    /// The id of the redemption's event, derived from the update that
    /// redeemed the code: only a redelivery of that update is the same.
    pub redeemed_event: Option<uuid::Uuid>,
}

impl Aggregate for ConnectCode {
    const TYPE: &'static str = "connect_code";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::ConnectCodeIssued(e) => self.issued = Some(e.payload.clone()),
            AnyEvent::ConnectCodeRedeemed(e) => {
                self.redeemed_by = Some(e.payload.chat_hash.clone());
                self.redeemed_event = Some(e.event_id);
            }
            _ => {}
        }
        self
    }
}

/// A chat redeems the code through a bot.
#[derive(Debug, Clone, PartialEq)]
pub struct Redeem {
    /// The bot the `/start` came through: a code works only on its own bot.
    pub bot_key: String,
    pub chat_hash: String,
    /// The recipient the code's user becomes (a keyed hash of integration and user).
    pub recipient_id: String,
    pub now: DateTime<Utc>,
    /// The event id the redemption gets, derived from the update.
    pub event_id: uuid::Uuid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedeemRefusal {
    #[error("no such code on this bot")]
    Unknown,
    #[error("the code has expired")]
    Expired,
    #[error("the code was redeemed before")]
    AlreadyUsed,
}

/// The redemption to append, `None` when this very update redeemed it
/// already (a redelivery), or why not. Once redeemed, a code binds nothing
/// more: not a replayed `/start <code>` of the same chat (after a `/stop`,
/// or by another member of a group), nor any other chat.
pub fn decide(code: &ConnectCode, redeem: Redeem) -> Result<Option<ConnectCodeRedeemed>, RedeemRefusal> {
    let issued = code.issued.as_ref().filter(|i| i.bot_key == redeem.bot_key).ok_or(RedeemRefusal::Unknown)?;
    match (&code.redeemed_by, code.redeemed_event) {
        (Some(chat), Some(event)) if *chat == redeem.chat_hash && event == redeem.event_id => Ok(None),
        (Some(_), _) => Err(RedeemRefusal::AlreadyUsed),
        (None, _) if issued.expires_at <= redeem.now => Err(RedeemRefusal::Expired),
        (None, _) => Ok(Some(ConnectCodeRedeemed {
            code_id: issued.code_id.clone(),
            integration_id: issued.integration_id.clone(),
            recipient_id: redeem.recipient_id,
            chat_hash: redeem.chat_hash,
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;

    fn issued(expires_at: DateTime<Utc>) -> AnyEvent {
        env(ConnectCodeIssued {
            code_id: "cc_1".into(),
            integration_id: "int_1".into(),
            project_id: "p1".into(),
            bot_key: "common".into(),
            public_user_ref: "user:1".into(),
            expires_at,
        })
    }

    fn given(events: Vec<AnyEvent>) -> ConnectCode {
        fold::<ConnectCode>(events.into_iter().zip(1..)).state
    }

    fn update(n: u8) -> uuid::Uuid {
        novij_events::ids::caused_event_id(&format!("update-{n}"), "redeemed")
    }

    fn redeem(chat: &str) -> Redeem {
        Redeem {
            bot_key: "common".into(),
            chat_hash: chat.into(),
            recipient_id: "rcp_1".into(),
            now: Utc::now(),
            event_id: update(1),
        }
    }

    #[test]
    fn a_code_is_redeemed_once_by_one_update() {
        let code = given(vec![issued(Utc::now() + chrono::Duration::minutes(10))]);
        let redeemed = decide(&code, redeem("chat_a")).expect("decided").expect("redeemed");
        assert_eq!((redeemed.code_id.as_str(), redeemed.recipient_id.as_str()), ("cc_1", "rcp_1"));
        let event = novij_events::Envelope::new(redeemed, novij_events::EventMeta::new("t")).with_event_id(update(1));
        let code = code.evolve(&crate::testing::any(event));
        assert_eq!(decide(&code, redeem("chat_a")), Ok(None), "the same update again: nothing new");
        let replayed = Redeem { event_id: update(2), ..redeem("chat_a") };
        assert_eq!(decide(&code, replayed), Err(RedeemRefusal::AlreadyUsed), "a later /start of the same chat");
        assert_eq!(decide(&code, redeem("chat_b")), Err(RedeemRefusal::AlreadyUsed));
    }

    #[test]
    fn unknown_foreign_and_expired_codes_are_refused() {
        assert_eq!(decide(&ConnectCode::default(), redeem("chat_a")), Err(RedeemRefusal::Unknown));
        let code = given(vec![issued(Utc::now() + chrono::Duration::minutes(10))]);
        let other_bot = Redeem { bot_key: "int_2".into(), ..redeem("chat_a") };
        assert_eq!(decide(&code, other_bot), Err(RedeemRefusal::Unknown));
        let old = given(vec![issued(Utc::now() - chrono::Duration::seconds(1))]);
        assert_eq!(decide(&old, redeem("chat_a")), Err(RedeemRefusal::Expired));
    }
}
