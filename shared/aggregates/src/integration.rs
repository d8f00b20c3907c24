//! The integration aggregate (`nt.ev.integration.<id>.*`): a project's use of
//! the common bot or of its own bot.

use chrono::{DateTime, Utc};
use novij_crypto::Sealed;
use novij_events::commands::{CommandSpec, CommandsSet};
use novij_events::integration::{
    BotIdentity, BotMode, IntegrationDeleted, IntegrationInboundSecretRotated, IntegrationUpdated, PaymentMode,
};
use novij_events::AnyEvent;

use crate::Aggregate;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Integration {
    pub integration_id: String,
    /// `None`: the integration has no events.
    pub project_id: Option<String>,
    /// The Relay wallet that owns it: it signs the integration's requests
    /// when signatures are required.
    pub owner_wallet_id: String,
    pub bot_key: String,
    pub bot_mode: Option<BotMode>,
    pub bot: Option<BotIdentity>,
    /// Every token the custom bot had, sealed: deleting the integration
    /// shreds their keys.
    pub tokens: Vec<Sealed>,
    pub unauthorized: bool,
    pub allow_paid_broadcast: bool,
    pub payment_mode: PaymentMode,
    pub default_reminder_minutes: u32,
    /// `None`: the service's default.
    pub default_locale: Option<String>,
    pub deleted: bool,
    pub commands: Commands,
    pub inbound: InboundWebhook,
}

/// Where the project takes its inbound messages, and the secrets they are signed with.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InboundWebhook {
    pub url: Option<String>,
    /// Sealed, purpose `inbound_secret`.
    pub secret: Option<Sealed>,
    /// The secret before the last rotation, still signing until the instant given.
    pub previous: Option<(Sealed, DateTime<Utc>)>,
}

impl InboundWebhook {
    /// The secrets a message is signed with at `now`: the current one, and
    /// the previous one during the overlap after a rotation.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&Sealed> {
        let previous = self.previous.as_ref().filter(|(_, until)| now < *until).map(|(s, _)| s);
        self.secret.iter().chain(previous).collect()
    }
}

/// The bot's command manifest and how far Telegram's menus follow it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commands {
    pub list: Vec<CommandSpec>,
    /// 0: never set.
    pub version: u32,
    /// The newest version Telegram's menus show (0: none).
    pub pushed: u32,
    /// The newest version Telegram refused, and why.
    pub failed: Option<(u32, String)>,
}

impl Commands {
    pub fn find(&self, name: &str) -> Option<&CommandSpec> {
        self.list.iter().find(|c| c.name == name)
    }
}

impl Integration {
    /// It exists and was not deleted.
    pub fn is_live(&self) -> bool {
        self.project_id.is_some() && !self.deleted
    }
}

impl Aggregate for Integration {
    const TYPE: &'static str = "integration";

    fn evolve(mut self, event: &AnyEvent) -> Self {
        match event {
            AnyEvent::IntegrationCreated(e) => {
                let p = &e.payload;
                self.integration_id = p.integration_id.clone();
                self.project_id = Some(p.project_id.clone());
                self.owner_wallet_id = p.owner_wallet_id.clone();
                self.bot_key = p.bot_key().to_string();
                self.bot_mode = Some(p.bot_mode);
                self.bot = Some(p.bot.clone());
                self.tokens.extend(p.bot_token.clone());
                self.allow_paid_broadcast = p.allow_paid_broadcast;
                self.payment_mode = p.payment_mode;
                self.default_reminder_minutes = p.default_reminder_minutes;
                self.default_locale = p.default_locale.clone();
                self.inbound.url = p.inbound_webhook_url.clone();
                self.inbound.secret = p.inbound_secret.clone();
            }
            AnyEvent::IntegrationUpdated(e) => {
                if let Some(token) = &e.payload.bot_token {
                    self.tokens.push(token.clone());
                    self.unauthorized = false;
                }
                self.allow_paid_broadcast = e.payload.allow_paid_broadcast.unwrap_or(self.allow_paid_broadcast);
                self.default_reminder_minutes =
                    e.payload.default_reminder_minutes.unwrap_or(self.default_reminder_minutes);
                if let Some(locale) = &e.payload.default_locale {
                    self.default_locale = Some(locale.clone());
                }
                if let Some(url) = &e.payload.inbound_webhook_url {
                    self.inbound.url = Some(url.clone());
                }
                if e.payload.inbound_webhook_removed {
                    self.inbound.url = None;
                }
                if let Some(secret) = &e.payload.inbound_secret {
                    self.inbound.secret = Some(secret.clone());
                }
            }
            AnyEvent::IntegrationInboundSecretRotated(e) => {
                let previous = self.inbound.secret.replace(e.payload.secret.clone());
                self.inbound.previous = previous.map(|s| (s, e.payload.previous_valid_until));
            }
            AnyEvent::CommandsSet(e) => {
                self.commands.list = e.payload.commands.clone();
                self.commands.version = e.payload.version;
            }
            AnyEvent::CommandsPushed(e) => self.commands.pushed = self.commands.pushed.max(e.payload.version),
            AnyEvent::CommandsPushFailed(e)
                if self.commands.failed.as_ref().is_none_or(|(v, _)| *v <= e.payload.version) =>
            {
                self.commands.failed = Some((e.payload.version, e.payload.detail.clone()));
            }
            AnyEvent::IntegrationBotUnauthorized(_) => self.unauthorized = true,
            AnyEvent::IntegrationDeleted(_) => self.deleted = true,
            _ => {}
        }
        self
    }
}

/// A new token for the custom bot, sealed, with what getMe said of it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewToken {
    pub sealed: Sealed,
    pub bot: BotIdentity,
}

/// What a `PATCH` changes; absent fields keep their value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub token: Option<NewToken>,
    pub allow_paid_broadcast: Option<bool>,
    pub default_reminder_minutes: Option<u32>,
    pub default_locale: Option<String>,
    pub inbound_webhook: Option<InboundTarget>,
}

/// A change of where inbound messages go.
#[derive(Debug, Clone, PartialEq)]
pub enum InboundTarget {
    /// POST them to this URL (checked by the caller). `fresh_secret` becomes
    /// the integration's secret if it has none yet.
    Url { url: String, fresh_secret: Sealed },
    /// POST them nowhere.
    Removed,
}

#[derive(Debug, Clone, PartialEq)]
pub enum IntegrationCommand {
    Update(Changes),
    /// A new inbound secret; the current one keeps signing until `previous_valid_until`.
    RotateInboundSecret {
        secret: Sealed,
        previous_valid_until: DateTime<Utc>,
    },
    Delete,
    /// A new command manifest (validated by the caller); empty clears it.
    SetCommands(Vec<CommandSpec>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum IntegrationChange {
    Updated(IntegrationUpdated),
    Deleted(IntegrationDeleted),
    CommandsSet(CommandsSet),
    InboundSecretRotated(IntegrationInboundSecretRotated),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntegrationRefusal {
    #[error("integration not found")]
    NotFound,
    #[error("the request names nothing to change")]
    NothingToChange,
    #[error("the integration uses the common bot")]
    CommonBotHasNoToken,
    #[error("is only for custom bots: the common bot's Stars are not the project's")]
    PaidBroadcastIsForCustomBots,
    #[error("belongs to @{given}, not to this integration's bot @{ours}; create a new integration for another bot")]
    AnotherBot { given: String, ours: String },
    /// Every integration of the common bot shares its menu.
    #[error("commands need the integration's own bot (bot_mode custom): the common bot's menu is shared")]
    CommandsNeedCustomBot,
    #[error("the integration has no inbound_webhook_url, so no secret to rotate")]
    NoInboundWebhook,
}

/// Whether a new token may be offered at all (before it is verified with getMe).
pub fn takes_a_token(integration: &Integration) -> Result<(), IntegrationRefusal> {
    match integration.bot_mode {
        _ if !integration.is_live() => Err(IntegrationRefusal::NotFound),
        Some(BotMode::Custom) => Ok(()),
        _ => Err(IntegrationRefusal::CommonBotHasNoToken),
    }
}

pub fn decide(
    integration: &Integration,
    command: IntegrationCommand,
) -> Result<Option<IntegrationChange>, IntegrationRefusal> {
    if integration.project_id.is_none() {
        return Err(IntegrationRefusal::NotFound);
    }
    match command {
        IntegrationCommand::Delete if integration.deleted => Ok(None),
        IntegrationCommand::Delete => Ok(Some(IntegrationChange::Deleted(IntegrationDeleted {
            integration_id: integration.integration_id.clone(),
            bot_key: integration.bot_key.clone(),
        }))),
        _ if integration.deleted => Err(IntegrationRefusal::NotFound),
        IntegrationCommand::SetCommands(_) if integration.bot_mode != Some(BotMode::Custom) => {
            Err(IntegrationRefusal::CommandsNeedCustomBot)
        }
        // The same manifest again changes nothing.
        IntegrationCommand::SetCommands(commands) if commands == integration.commands.list => Ok(None),
        IntegrationCommand::SetCommands(commands) => Ok(Some(IntegrationChange::CommandsSet(CommandsSet {
            integration_id: integration.integration_id.clone(),
            version: integration.commands.version + 1,
            commands,
        }))),
        IntegrationCommand::RotateInboundSecret { .. } if integration.inbound.url.is_none() => {
            Err(IntegrationRefusal::NoInboundWebhook)
        }
        IntegrationCommand::RotateInboundSecret { secret, previous_valid_until } => {
            Ok(Some(IntegrationChange::InboundSecretRotated(IntegrationInboundSecretRotated {
                integration_id: integration.integration_id.clone(),
                secret,
                previous_valid_until,
            })))
        }
        IntegrationCommand::Update(changes) => {
            if changes == Changes::default() {
                return Err(IntegrationRefusal::NothingToChange);
            }
            let custom = integration.bot_mode == Some(BotMode::Custom);
            if changes.allow_paid_broadcast == Some(true) && !custom {
                return Err(IntegrationRefusal::PaidBroadcastIsForCustomBots);
            }
            if let Some(token) = &changes.token {
                takes_a_token(integration)?;
                let ours = integration.bot.as_ref();
                if ours.map(|b| b.bot_id) != Some(token.bot.bot_id) {
                    return Err(IntegrationRefusal::AnotherBot {
                        given: token.bot.username.clone(),
                        ours: ours.map(|b| b.username.clone()).unwrap_or_default(),
                    });
                }
            }
            let (inbound_webhook_url, inbound_webhook_removed, inbound_secret) = match changes.inbound_webhook {
                None => (None, false, None),
                Some(InboundTarget::Removed) => (None, true, None),
                Some(InboundTarget::Url { url, fresh_secret }) => {
                    (Some(url), false, integration.inbound.secret.is_none().then_some(fresh_secret))
                }
            };
            Ok(Some(IntegrationChange::Updated(IntegrationUpdated {
                integration_id: integration.integration_id.clone(),
                bot_token: changes.token.map(|t| t.sealed),
                allow_paid_broadcast: changes.allow_paid_broadcast,
                default_reminder_minutes: changes.default_reminder_minutes,
                default_locale: changes.default_locale,
                inbound_webhook_url,
                inbound_webhook_removed,
                inbound_secret,
            })))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fold;
    use crate::testing::env;
    use novij_events::integration::{IntegrationBotUnauthorized, IntegrationCreated, PaymentMode};

    const ID: &str = "int_1";

    fn sealed(ct: &str) -> Sealed {
        Sealed { ad: None, kid: "k1".into(), nonce: "n".into(), ct: ct.into() }
    }

    fn created(mode: BotMode) -> AnyEvent {
        env(IntegrationCreated {
            integration_id: ID.into(),
            project_id: "p1".into(),
            owner_wallet_id: "w".into(),
            bot_mode: mode,
            bot: BotIdentity { bot_id: 77, username: "acme_bot".into() },
            bot_token: (mode == BotMode::Custom).then(|| sealed("t1")),
            payment_mode: PaymentMode::None,
            default_reminder_minutes: 30,
            inbound_webhook_url: None,
            inbound_secret: None,
            default_locale: None,
            allow_paid_broadcast: false,
        })
    }

    fn given(events: Vec<AnyEvent>) -> Integration {
        fold::<Integration>(events.into_iter().zip(1..)).state
    }

    fn token(bot_id: i64, username: &str) -> Changes {
        Changes {
            token: Some(NewToken { sealed: sealed("t2"), bot: BotIdentity { bot_id, username: username.into() } }),
            ..Changes::default()
        }
    }

    #[test]
    fn a_new_token_of_the_same_bot_clears_unauthorized_and_is_remembered() {
        let unauthorized =
            env(IntegrationBotUnauthorized { integration_id: ID.into(), bot_key: ID.into(), detail: "401".into() });
        let state = given(vec![created(BotMode::Custom), unauthorized]);
        assert!(state.unauthorized);
        let Ok(Some(IntegrationChange::Updated(updated))) =
            decide(&state, IntegrationCommand::Update(token(77, "acme_bot")))
        else {
            panic!("not updated")
        };
        let after = state.evolve(&env(updated));
        assert!(!after.unauthorized);
        assert_eq!(after.tokens, vec![sealed("t1"), sealed("t2")]);
    }

    #[test]
    fn updates_that_break_a_rule_are_refused() {
        let custom = given(vec![created(BotMode::Custom)]);
        let common = given(vec![created(BotMode::Common)]);
        let update = |state: &Integration, changes| decide(state, IntegrationCommand::Update(changes));
        assert_eq!(update(&custom, Changes::default()), Err(IntegrationRefusal::NothingToChange));
        assert_eq!(
            update(&custom, token(78, "other_bot")),
            Err(IntegrationRefusal::AnotherBot { given: "other_bot".into(), ours: "acme_bot".into() })
        );
        assert_eq!(update(&common, token(77, "acme_bot")), Err(IntegrationRefusal::CommonBotHasNoToken));
        assert_eq!(takes_a_token(&common), Err(IntegrationRefusal::CommonBotHasNoToken));
        let paid = Changes { allow_paid_broadcast: Some(true), ..Changes::default() };
        assert_eq!(update(&common, paid.clone()), Err(IntegrationRefusal::PaidBroadcastIsForCustomBots));
        assert!(matches!(update(&custom, paid), Ok(Some(IntegrationChange::Updated(_)))));
        assert_eq!(update(&Integration::default(), token(77, "x")), Err(IntegrationRefusal::NotFound));
    }

    #[test]
    fn a_deleted_integration_is_deleted_once_and_changes_no_more() {
        let live = given(vec![created(BotMode::Custom)]);
        let Ok(Some(IntegrationChange::Deleted(deleted))) = decide(&live, IntegrationCommand::Delete) else {
            panic!("not deleted")
        };
        assert_eq!((deleted.integration_id.as_str(), deleted.bot_key.as_str()), (ID, ID));
        let gone = live.evolve(&env(deleted));
        assert!(!gone.is_live());
        assert_eq!(decide(&gone, IntegrationCommand::Delete), Ok(None));
        let minutes = Changes { default_reminder_minutes: Some(5), ..Changes::default() };
        assert_eq!(decide(&gone, IntegrationCommand::Update(minutes)), Err(IntegrationRefusal::NotFound));
        assert_eq!(decide(&Integration::default(), IntegrationCommand::Delete), Err(IntegrationRefusal::NotFound));
    }

    fn command(name: &str) -> CommandSpec {
        CommandSpec {
            name: name.into(),
            description: "d".into(),
            executor_key: "ops".into(),
            args_hint: None,
            timeout_seconds: 60,
            scope: novij_events::commands::CommandScope::All,
            descriptions: Default::default(),
            allowed_refs: Vec::new(),
        }
    }

    #[test]
    fn a_manifest_is_versioned_needs_a_custom_bot_and_the_same_one_again_writes_nothing() {
        let custom = given(vec![created(BotMode::Custom)]);
        let set = |state: &Integration, names: &[&str]| {
            decide(state, IntegrationCommand::SetCommands(names.iter().map(|n| command(n)).collect()))
        };
        let Ok(Some(IntegrationChange::CommandsSet(first))) = set(&custom, &["deploy", "status"]) else {
            panic!("not set")
        };
        assert_eq!(first.version, 1);
        let state = custom.evolve(&env(first));
        assert_eq!(state.commands.find("status").map(|c| c.executor_key.as_str()), Some("ops"));
        assert_eq!(set(&state, &["deploy", "status"]), Ok(None));
        let Ok(Some(IntegrationChange::CommandsSet(cleared))) = set(&state, &[]) else { panic!("not cleared") };
        assert_eq!((cleared.version, cleared.commands.len()), (2, 0));

        let pushed = |version| env(novij_events::commands::CommandsPushed { integration_id: ID.into(), version });
        let state = state.evolve(&env(cleared)).evolve(&pushed(2)).evolve(&pushed(1));
        assert_eq!((state.commands.version, state.commands.pushed), (2, 2), "a late record never goes back");

        let common = given(vec![created(BotMode::Common)]);
        assert_eq!(set(&common, &["deploy"]), Err(IntegrationRefusal::CommandsNeedCustomBot));
    }

    #[test]
    fn the_first_inbound_url_brings_a_secret_a_rotation_keeps_the_old_one_signing_for_the_overlap() {
        let state = given(vec![created(BotMode::Common)]);
        let now = chrono::Utc::now();
        let rotate = |state: &Integration, ct: &str| {
            decide(
                state,
                IntegrationCommand::RotateInboundSecret {
                    secret: sealed(ct),
                    previous_valid_until: now + chrono::Duration::hours(24),
                },
            )
        };
        assert_eq!(rotate(&state, "s0"), Err(IntegrationRefusal::NoInboundWebhook), "nothing to rotate yet");

        let set = |state: &Integration, url: &str, ct: &str| {
            let target = InboundTarget::Url { url: url.into(), fresh_secret: sealed(ct) };
            let changes = Changes { inbound_webhook: Some(target), ..Changes::default() };
            match decide(state, IntegrationCommand::Update(changes)) {
                Ok(Some(IntegrationChange::Updated(updated))) => updated,
                other => panic!("not updated: {other:?}"),
            }
        };
        let first = set(&state, "https://a.example/in", "s1");
        assert_eq!(first.inbound_secret, Some(sealed("s1")));
        let state = state.evolve(&env(first));
        let second = set(&state, "https://b.example/in", "s2");
        assert_eq!(second.inbound_secret, None, "a new URL keeps the secret");
        let state = state.evolve(&env(second));
        assert_eq!(state.inbound.url.as_deref(), Some("https://b.example/in"));
        assert_eq!(state.inbound.signing_secrets(now), vec![&sealed("s1")]);

        let Ok(Some(IntegrationChange::InboundSecretRotated(rotated))) = rotate(&state, "s3") else {
            panic!("not rotated")
        };
        let state = state.evolve(&env(rotated));
        assert_eq!(state.inbound.signing_secrets(now), vec![&sealed("s3"), &sealed("s1")], "both during the overlap");
        let later = now + chrono::Duration::hours(25);
        assert_eq!(state.inbound.signing_secrets(later), vec![&sealed("s3")], "the new one only after it");

        let removed = Changes { inbound_webhook: Some(InboundTarget::Removed), ..Changes::default() };
        let Ok(Some(IntegrationChange::Updated(removed))) = decide(&state, IntegrationCommand::Update(removed)) else {
            panic!("not removed")
        };
        let state = state.evolve(&env(removed));
        assert_eq!(state.inbound.url, None);
        assert_eq!(rotate(&state, "s4"), Err(IntegrationRefusal::NoInboundWebhook));
    }
}
