//! The event types each service decides, and so may append: a service's
//! NATS user may publish `nt.ev.<aggregate>.*.<event>` for these alone.
//! Several services write some types (a send is accepted by ingress, by the
//! scheduler for a broadcast and by connect for a system reply).

use novij_events::api_key::{ApiKeyCreated, ApiKeyRevoked};
use novij_events::broadcast::{
    BroadcastCancelled, BroadcastCleared, BroadcastCreated, BroadcastQueued, BroadcastRefused,
};
use novij_events::commands::{
    CommandAcked, CommandExpired, CommandPressed, CommandPressesAcked, CommandReplied, CommandRequested,
    CommandsPushFailed, CommandsPushed, CommandsSet,
};
use novij_events::connect::{ConnectCodeIssued, ConnectCodeRedeemed};
use novij_events::inbound::{
    InboundDeadLettered, InboundDelivered, InboundDeliveryFailed, InboundReceived, InboundRedeliveryRequested,
};
use novij_events::incident::{
    ActionPressed, ActionsAcked, CardCleared, CardFailed, CardOpened, CardRefused, CardShown, CardUpdated,
};
use novij_events::integration::{
    IntegrationBotUnauthorized, IntegrationCreated, IntegrationDeleted, IntegrationInboundSecretRotated,
    IntegrationUpdated, IntegrationWebhookFailed, IntegrationWebhookSet,
};
use novij_events::payment::TxClaimed;
use novij_events::recipient::{
    RecipientBound, RecipientChatMigrated, RecipientDisabled, RecipientUnlinked, RecipientUnreachable,
};
use novij_events::send::{
    MessageSent, SendAccepted, SendCancelled, SendDeadLettered, SendFailed, SendQueued, SendScheduled,
};
use novij_events::subjects::all_of;
use novij_events::upload::{UploadClaimed, UploadFileIdLearned, UploadRemoved, UploadStored};

/// The subjects of the events `service` appends (none for an unknown name).
pub fn of(service: &str) -> Vec<String> {
    match service {
        // The API's decisions.
        "ingress" => vec![
            all_of::<SendAccepted>(),
            all_of::<SendCancelled>(),
            all_of::<SendQueued>(),
            all_of::<BroadcastCreated>(),
            all_of::<BroadcastCancelled>(),
            all_of::<ConnectCodeIssued>(),
            all_of::<IntegrationCreated>(),
            all_of::<IntegrationUpdated>(),
            all_of::<IntegrationDeleted>(),
            all_of::<CommandsSet>(),
            all_of::<IntegrationInboundSecretRotated>(),
            all_of::<InboundRedeliveryRequested>(),
            all_of::<RecipientUnlinked>(),
            all_of::<CardOpened>(),
            all_of::<CardUpdated>(),
            all_of::<ActionsAcked>(),
            all_of::<CommandAcked>(),
            all_of::<CommandReplied>(),
            all_of::<CommandPressesAcked>(),
            all_of::<UploadStored>(),
            all_of::<UploadClaimed>(),
            all_of::<ApiKeyCreated>(),
            all_of::<ApiKeyRevoked>(),
        ],
        // What Telegram answered.
        "dispatcher" => vec![
            all_of::<MessageSent>(),
            all_of::<SendCancelled>(),
            all_of::<SendFailed>(),
            all_of::<SendDeadLettered>(),
            all_of::<RecipientUnreachable>(),
            all_of::<RecipientChatMigrated>(),
            all_of::<IntegrationBotUnauthorized>(),
            all_of::<CardShown>(),
            all_of::<CardFailed>(),
            all_of::<UploadFileIdLearned>(),
            all_of::<IntegrationWebhookSet>(),
            all_of::<IntegrationWebhookFailed>(),
            all_of::<CommandsPushFailed>(),
            all_of::<CommandsPushed>(),
        ],
        // What time decides.
        "scheduler" => vec![
            all_of::<SendQueued>(),
            all_of::<SendCancelled>(),
            all_of::<SendAccepted>(),
            all_of::<CommandExpired>(),
            all_of::<BroadcastQueued>(),
            all_of::<UploadRemoved>(),
        ],
        // What users do in Telegram.
        "connect" => vec![
            all_of::<ConnectCodeRedeemed>(),
            all_of::<RecipientBound>(),
            all_of::<RecipientDisabled>(),
            all_of::<RecipientUnreachable>(),
            all_of::<CommandRequested>(),
            all_of::<CommandPressed>(),
            all_of::<ActionPressed>(),
            all_of::<InboundReceived>(),
            all_of::<InboundDelivered>(),
            all_of::<InboundDeliveryFailed>(),
            all_of::<InboundDeadLettered>(),
            all_of::<SendAccepted>(),
        ],
        // What the ledger says.
        "payment-verifier" => vec![
            all_of::<SendScheduled>(),
            all_of::<SendQueued>(),
            all_of::<SendFailed>(),
            all_of::<BroadcastCleared>(),
            all_of::<BroadcastRefused>(),
            all_of::<CardCleared>(),
            all_of::<CardRefused>(),
            all_of::<TxClaimed>(),
        ],
        _ => Vec::new(),
    }
}
