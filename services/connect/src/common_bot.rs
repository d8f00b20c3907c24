//! The common bot's username, which a command addressed `/name@bot` must
//! name: asked of the dispatcher (getMe, over `nt.rpc.dispatcher.bot.verify`)
//! once per process.

use std::sync::Arc;
use std::time::Duration;

use novij_events::rpc::{BotCredential, BotVerifyReply, BotVerifyRequest};
use novij_events::subjects;
use novij_runtime::Runtime;
use tokio::sync::OnceCell;

use crate::domain::commands::CommandError;

const ASK_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Default)]
pub struct CommonBot(Arc<OnceCell<String>>);

impl CommonBot {
    pub async fn username(&self, rt: &Runtime) -> Result<&str, CommandError> {
        self.0.get_or_try_init(|| ask(rt)).await.map(String::as_str)
    }
}

async fn ask(rt: &Runtime) -> Result<String, CommandError> {
    let failed = |e: &dyn std::fmt::Display| CommandError::Log(format!("the common bot's name: {e}"));
    let payload = serde_json::to_vec(&BotVerifyRequest { bot: BotCredential::Common }).map_err(|e| failed(&e))?;
    let reply = tokio::time::timeout(ASK_TIMEOUT, rt.nats.request(subjects::RPC_BOT_VERIFY, payload.into()))
        .await
        .map_err(|_| failed(&"no answer in time"))?
        .map_err(|e| failed(&e))?;
    match serde_json::from_slice::<BotVerifyReply>(&reply.payload).map_err(|e| failed(&e))? {
        BotVerifyReply::Verified { bot } => Ok(bot.username),
        other => Err(failed(&format!("{other:?}"))),
    }
}
