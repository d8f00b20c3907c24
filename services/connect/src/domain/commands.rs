//! `/start <code>` binds the chat to the code's user; `/stop` disables it.
//!
//! Each step is safe to repeat: the redemption is fenced on the code's
//! aggregate (a code is redeemed once, by one chat), and the events a retry
//! writes again carry deterministic ids that JetStream deduplicates.

use chrono::Utc;
use novij_aggregates::connect_code::{decide, ConnectCode, Redeem, RedeemRefusal};
use novij_aggregates::Loaded;
use novij_bus::{AppendError, Expect};
use novij_events::connect::ConnectCodeIssued;
use novij_events::integration::IntegrationDeleted;
use novij_events::recipient::{DisableReason, RecipientBound, RecipientDisabled};
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::{derive, Runtime};

use crate::domain::update::Chat;
use crate::replies::{self, Reply, ReplyOwner};
use novij_runtime::connected::ConnectedRecipients;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("event log: {0}")]
    Log(String),
    #[error(transparent)]
    NotReady(#[from] novij_runtime::connected::NotReady),
}

impl From<AppendError> for CommandError {
    fn from(e: AppendError) -> Self {
        CommandError::Log(e.to_string())
    }
}

impl From<novij_bus::ReadError> for CommandError {
    fn from(e: novij_bus::ReadError) -> Self {
        CommandError::Log(e.to_string())
    }
}

pub struct Context<'a> {
    pub rt: &'a Runtime,
    pub connected: &'a ConnectedRecipients,
    pub bot_key: &'a str,
    pub update_id: i64,
    pub chat: &'a Chat,
    pub meta: EventMeta,
}

impl Context<'_> {
    pub async fn reply(&self, purpose: &str, text: &str, owner: ReplyOwner) -> Result<(), CommandError> {
        let reply = Reply { bot_key: self.bot_key, update_id: self.update_id, chat_id: self.chat.id, purpose, text };
        Ok(replies::send(self.rt, self.meta.clone(), reply, owner).await?)
    }

    pub fn event_id(&self, purpose: &str) -> uuid::Uuid {
        ids::caused_event_id(&format!("update:{}:{}", self.bot_key, self.update_id), purpose)
    }

    /// The chat's id, sealed for the log as the chat of `recipient_id`
    /// (purpose `chat_id`; it opens as no other recipient's): replies go there.
    pub fn sealed_chat(&self, recipient_id: &str) -> Result<novij_crypto::Sealed, CommandError> {
        let chat = self.chat.id.to_string();
        let sealed = self.rt.keyring.seal_owned(derive::purpose::CHAT_ID, recipient_id, &chat);
        sealed.map_err(|e| CommandError::Log(e.to_string()))
    }

    /// What a user wrote, sealed for the log with the data key of the epoch
    /// it expires in (the payload retention from now): it is personal data.
    pub async fn sealed_words(
        &self,
        purpose: &str,
        words: &impl serde::Serialize,
    ) -> Result<novij_crypto::Sealed, CommandError> {
        let unavailable = |e: &dyn std::fmt::Display| CommandError::Log(e.to_string());
        let bytes = serde_json::to_vec(words).map_err(|e| unavailable(&e))?;
        let kept_until = Utc::now() + chrono::Duration::seconds(self.rt.config.retention.payload_seconds.into());
        self.rt.payloads.seal(purpose, &bytes, kept_until).await.map_err(|e| unavailable(&e))
    }
}

fn owner_of(code: &ConnectCodeIssued) -> ReplyOwner {
    ReplyOwner {
        project_id: Some(code.project_id.clone()),
        integration_id: Some(code.integration_id.clone()),
        recipient_id: None,
    }
}

/// How many times a redemption that lost a race is decided again.
const REDEEM_ATTEMPTS: usize = 5;

pub async fn start(ctx: &Context<'_>, code: Option<&str>) -> Result<(), CommandError> {
    let rt = ctx.rt;
    let Some(code) = code else {
        return ctx.reply("start_without_code", replies::NO_CODE, ReplyOwner::default()).await;
    };
    let code_id = derive::code_id(&rt.keyring, code);
    let chat_hash = derive::chat_hash(&rt.keyring, ctx.bot_key, ctx.chat.id);
    let mut attempt = 0;
    let (code, recipient_id) = loop {
        attempt += 1;
        let Loaded { state, version } = rt.log.load::<ConnectCode>(&code_id).await?;
        let Some(issued) = state.issued.clone() else {
            return ctx.reply("invalid_code", replies::INVALID_CODE, ReplyOwner::default()).await;
        };
        // A deleted integration's codes lead nowhere.
        if rt.log.last_is::<IntegrationDeleted>(&issued.integration_id).await? {
            return ctx.reply("invalid_code", replies::INVALID_CODE, ReplyOwner::default()).await;
        }
        let owner = owner_of(&issued);
        let recipient_id = derive::recipient_id(&rt.keyring, &issued.integration_id, &issued.public_user_ref);
        let redeem = Redeem {
            bot_key: ctx.bot_key.to_string(),
            chat_hash: chat_hash.clone(),
            recipient_id: recipient_id.clone(),
            now: Utc::now(),
            event_id: ctx.event_id("redeemed"),
        };
        let redeemed = match decide(&state, redeem) {
            Ok(Some(redeemed)) => redeemed,
            // This update's redemption is on the log already (a redelivery).
            Ok(None) => break (issued, recipient_id),
            Err(RedeemRefusal::Unknown) => {
                return ctx.reply("invalid_code", replies::INVALID_CODE, ReplyOwner::default()).await
            }
            Err(RedeemRefusal::Expired) => return ctx.reply("expired_code", replies::EXPIRED_CODE, owner).await,
            Err(RedeemRefusal::AlreadyUsed) => return ctx.reply("used_code", replies::USED_CODE, owner).await,
        };
        let env = Envelope::new(redeemed, ctx.meta.clone()).with_event_id(ctx.event_id("redeemed"));
        match rt.log.append(&env, Expect::LastSequence(version)).await {
            Ok(_) => break (issued, recipient_id),
            // Another chat (or instance) got there first: decide again on what it wrote.
            Err(AppendError::Conflict) if attempt < REDEEM_ATTEMPTS => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let chat = ctx.sealed_chat(&recipient_id)?;
    let bound = RecipientBound {
        recipient_id: recipient_id.clone(),
        integration_id: code.integration_id.clone(),
        project_id: code.project_id.clone(),
        public_user_ref: code.public_user_ref.clone(),
        chat,
        chat_hash,
        chat_kind: ctx.chat.kind(),
    };
    let appended = rt
        .log
        .append(&Envelope::new(bound, ctx.meta.clone()).with_event_id(ctx.event_id("bound")), Expect::Any)
        .await?;
    // The chat's next update (a message right after /start) sees it connected.
    ctx.connected.wait_for(appended.sequence).await;
    tracing::info!(integration_id = %code.integration_id, recipient_id = %recipient_id, "recipient bound");
    let owner = ReplyOwner { recipient_id: Some(recipient_id), ..owner_of(&code) };
    ctx.reply("welcome", replies::WELCOME, owner).await
}

pub async fn stop(ctx: &Context<'_>) -> Result<(), CommandError> {
    let rt = ctx.rt;
    let chat_hash = derive::chat_hash(&rt.keyring, ctx.bot_key, ctx.chat.id);
    let recipients = ctx.connected.in_chat(&chat_hash).await?;
    if recipients.is_empty() {
        return ctx.reply("stop", replies::NOT_CONNECTED, ReplyOwner::default()).await;
    }
    for r in &recipients {
        let disabled = RecipientDisabled {
            recipient_id: r.recipient_id.clone(),
            integration_id: r.integration_id.clone(),
            reason: DisableReason::UserStopped,
        };
        let env =
            Envelope::new(disabled, ctx.meta.clone()).with_event_id(ctx.event_id(&format!("stop:{}", r.recipient_id)));
        let appended = rt.log.append(&env, Expect::Any).await?;
        ctx.connected.wait_for(appended.sequence).await;
        tracing::info!(integration_id = %r.integration_id, recipient_id = %r.recipient_id, "recipient disabled");
    }
    let first = &recipients[0];
    let owner = ReplyOwner {
        project_id: Some(first.project_id.clone()),
        integration_id: Some(first.integration_id.clone()),
        recipient_id: Some(first.recipient_id.clone()),
    };
    ctx.reply("stop", replies::STOPPED, owner).await
}
