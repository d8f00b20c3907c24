//! `/start <code>` binds the chat to the code's user; `/stop` disables it.
//!
//! Each step is safe to repeat: the redemption is fenced on the code's
//! aggregate (a code is redeemed once, by one chat), and the events a retry
//! writes again carry deterministic ids that JetStream deduplicates.

use chrono::Utc;
use novij_bus::{AppendError, Expect};
use novij_events::connect::{ConnectCodeIssued, ConnectCodeRedeemed};
use novij_events::integration::IntegrationDeleted;
use novij_events::recipient::{ChatKind, DisableReason, RecipientBound, RecipientDisabled};
use novij_events::{ids, Envelope, EventMeta};
use novij_runtime::{derive, Runtime};

use crate::domain::update::Chat;
use crate::replies::{self, Reply, ReplyOwner};

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("event log: {0}")]
    Log(String),
    #[error("projections: {0}")]
    Db(#[from] sea_orm::DbErr),
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
    pub bot_key: &'a str,
    pub update_id: i64,
    pub chat: &'a Chat,
    pub meta: EventMeta,
}

impl Context<'_> {
    async fn reply(&self, purpose: &str, text: &str, owner: ReplyOwner) -> Result<(), CommandError> {
        let reply = Reply { bot_key: self.bot_key, update_id: self.update_id, chat_id: self.chat.id, purpose, text };
        Ok(replies::send(self.rt, self.meta.clone(), reply, owner).await?)
    }

    fn event_id(&self, purpose: &str) -> uuid::Uuid {
        ids::caused_event_id(&format!("update:{}:{}", self.bot_key, self.update_id), purpose)
    }
}

/// Outcome of trying to redeem a code for this chat.
enum Redemption {
    /// This chat holds the code now (first time, or a retry of the same update).
    Redeemed,
    AlreadyUsed,
}

pub async fn start(ctx: &Context<'_>, code: Option<&str>) -> Result<(), CommandError> {
    let rt = ctx.rt;
    let Some(code) = code else {
        return ctx.reply("start_without_code", replies::NO_CODE, ReplyOwner::default()).await;
    };
    let code_id = derive::code_id(&rt.keyring, code);
    let issued = match rt.log.last::<ConnectCodeIssued>(&code_id).await? {
        Some((issued, seq)) if issued.payload.bot_key == ctx.bot_key => (issued.payload, seq),
        _ => return ctx.reply("invalid_code", replies::INVALID_CODE, ReplyOwner::default()).await,
    };
    let (code, issued_seq) = issued;
    // A deleted integration's codes lead nowhere.
    if rt.log.last_is::<IntegrationDeleted>(&code.integration_id).await? {
        return ctx.reply("invalid_code", replies::INVALID_CODE, ReplyOwner::default()).await;
    }
    let owner = || ReplyOwner {
        project_id: Some(code.project_id.clone()),
        integration_id: Some(code.integration_id.clone()),
        recipient_id: None,
    };
    let chat_hash = derive::chat_hash(&rt.keyring, ctx.bot_key, ctx.chat.id);
    let recipient_id = derive::recipient_id(&rt.keyring, &code.integration_id, &code.public_user_ref);

    let redemption = match rt.log.last::<ConnectCodeRedeemed>(&code_id).await? {
        Some((r, _)) if r.payload.chat_hash == chat_hash => Redemption::Redeemed,
        Some(_) => Redemption::AlreadyUsed,
        None if code.expires_at <= Utc::now() => {
            return ctx.reply("expired_code", replies::EXPIRED_CODE, owner()).await;
        }
        None => {
            let redeemed = ConnectCodeRedeemed {
                code_id: code_id.clone(),
                integration_id: code.integration_id.clone(),
                recipient_id: recipient_id.clone(),
                chat_hash: chat_hash.clone(),
            };
            let env = Envelope::new(redeemed, ctx.meta.clone()).with_event_id(ctx.event_id("redeemed"));
            match rt.log.append(&env, Expect::LastSequence(issued_seq)).await {
                Ok(_) => Redemption::Redeemed,
                // Another chat (or instance) got there first; look at who.
                Err(AppendError::Conflict) => match rt.log.last::<ConnectCodeRedeemed>(&code_id).await? {
                    Some((r, _)) if r.payload.chat_hash == chat_hash => Redemption::Redeemed,
                    _ => Redemption::AlreadyUsed,
                },
                Err(e) => return Err(e.into()),
            }
        }
    };
    if let Redemption::AlreadyUsed = redemption {
        return ctx.reply("used_code", replies::USED_CODE, owner()).await;
    }

    let chat = rt
        .keyring
        .seal_str(derive::purpose::CHAT_ID, &ctx.chat.id.to_string())
        .map_err(|e| CommandError::Log(e.to_string()))?;
    let bound = RecipientBound {
        recipient_id: recipient_id.clone(),
        integration_id: code.integration_id.clone(),
        project_id: code.project_id.clone(),
        public_user_ref: code.public_user_ref.clone(),
        chat,
        chat_hash,
        chat_kind: if ctx.chat.kind == "private" { ChatKind::Private } else { ChatKind::Group },
    };
    rt.log.append(&Envelope::new(bound, ctx.meta.clone()).with_event_id(ctx.event_id("bound")), Expect::Any).await?;
    tracing::info!(integration_id = %code.integration_id, recipient_id = %recipient_id, "recipient bound");
    let owner = ReplyOwner { recipient_id: Some(recipient_id), ..owner() };
    ctx.reply("welcome", replies::WELCOME, owner).await
}

pub async fn stop(ctx: &Context<'_>) -> Result<(), CommandError> {
    let rt = ctx.rt;
    let chat_hash = derive::chat_hash(&rt.keyring, ctx.bot_key, ctx.chat.id);
    let recipients = novij_projections::queries::recipients_by_chat(&rt.db, &chat_hash).await?;
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
        rt.log.append(&env, Expect::Any).await?;
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
