//! Schema migrations of the projections database.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(M0001Projections),
            Box::new(M0002DeliveryStates),
            Box::new(M0003PaymentsAndReminders),
            Box::new(M0004PaidBroadcast),
            Box::new(M0005AlertCards),
            Box::new(M0006AlertCardPayment),
            Box::new(M0007Broadcasts),
        ]
    }
}

/// Every projection table, plus the checkpoint of the projector.
pub const PROJECTION_TABLES: &[&str] =
    &["send_history", "sends", "recipients", "connect_codes", "integrations", "alert_cards", "broadcasts"];

struct M0001Projections;

impl MigrationName for M0001Projections {
    fn name(&self) -> &str {
        "m0001_projections"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0001Projections {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
CREATE TABLE projection_checkpoint (
    name          TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL
);
INSERT INTO projection_checkpoint (name, last_sequence) VALUES ('events', 0);

CREATE TABLE integrations (
    id                       TEXT PRIMARY KEY,
    project_id               TEXT NOT NULL,
    owner_wallet_id          TEXT NOT NULL,
    bot_mode                 TEXT NOT NULL,
    bot_key                  TEXT NOT NULL,
    bot_id                   BIGINT NOT NULL,
    bot_username             TEXT NOT NULL,
    payment_mode             TEXT NOT NULL,
    default_reminder_minutes INTEGER NOT NULL,
    inbound_webhook_url      TEXT,
    webhook_status           TEXT NOT NULL,
    webhook_error            TEXT,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX integrations_project ON integrations (project_id);

CREATE TABLE connect_codes (
    code_id         TEXT PRIMARY KEY,
    integration_id  TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    public_user_ref TEXT NOT NULL,
    status          TEXT NOT NULL,
    recipient_id    TEXT,
    expires_at      TIMESTAMPTZ NOT NULL,
    issued_at       TIMESTAMPTZ NOT NULL,
    redeemed_at     TIMESTAMPTZ
);

CREATE TABLE recipients (
    recipient_id    TEXT PRIMARY KEY,
    integration_id  TEXT NOT NULL,
    project_id      TEXT NOT NULL,
    public_user_ref TEXT NOT NULL,
    chat_sealed     JSONB NOT NULL,
    chat_hash       TEXT NOT NULL,
    chat_kind       TEXT NOT NULL,
    status          TEXT NOT NULL,
    disabled_reason TEXT,
    bound_at        TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (integration_id, public_user_ref)
);
CREATE INDEX recipients_chat_hash ON recipients (chat_hash);

CREATE TABLE sends (
    send_id             TEXT PRIMARY KEY,
    project_id          TEXT,
    integration_id      TEXT,
    recipient_id        TEXT,
    template            TEXT NOT NULL,
    payment_mode        TEXT NOT NULL,
    origin              TEXT NOT NULL,
    status              TEXT NOT NULL,
    telegram_message_id BIGINT,
    failure_reason      TEXT,
    failure_detail      TEXT,
    attempts            INTEGER NOT NULL,
    accepted_at         TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX sends_project ON sends (project_id, accepted_at);

CREATE TABLE send_history (
    send_id  TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    status   TEXT NOT NULL,
    at       TIMESTAMPTZ NOT NULL,
    detail   JSONB,
    PRIMARY KEY (send_id, sequence)
);
"#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TABLE IF EXISTS send_history, sends, recipients, connect_codes, integrations, projection_checkpoint;",
            )
            .await?;
        Ok(())
    }
}

/// Bot health on integrations; recipients may be `unreachable`, sends `dead_lettered`.
struct M0002DeliveryStates;

impl MigrationName for M0002DeliveryStates {
    fn name(&self) -> &str {
        "m0002_delivery_states"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0002DeliveryStates {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE integrations ADD COLUMN bot_status TEXT NOT NULL DEFAULT 'ok', ADD COLUMN bot_error TEXT;",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE integrations DROP COLUMN bot_status, DROP COLUMN bot_error;")
            .await?;
        Ok(())
    }
}

/// Reminders (`send_at`) and paid sends (`payment_tx`). (It also created
/// `payload_keys` once; that table is the key store's, `shared/keystore`.)
struct M0003PaymentsAndReminders;

impl MigrationName for M0003PaymentsAndReminders {
    fn name(&self) -> &str {
        "m0003_payments_and_reminders"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0003PaymentsAndReminders {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                r#"
ALTER TABLE sends ADD COLUMN send_at TIMESTAMPTZ, ADD COLUMN payment_tx TEXT;
ALTER TABLE integrations ADD COLUMN default_locale TEXT NOT NULL DEFAULT 'ru';
CREATE INDEX sends_scheduled ON sends (send_at) WHERE status = 'scheduled';
"#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP INDEX IF EXISTS sends_scheduled; \
                 ALTER TABLE sends DROP COLUMN send_at, DROP COLUMN payment_tx; \
                 ALTER TABLE integrations DROP COLUMN default_locale;",
            )
            .await?;
        Ok(())
    }
}

/// Integrations that may use Telegram's paid broadcast.
struct M0004PaidBroadcast;

impl MigrationName for M0004PaidBroadcast {
    fn name(&self) -> &str {
        "m0004_paid_broadcast"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0004PaidBroadcast {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE integrations ADD COLUMN allow_paid_broadcast BOOLEAN NOT NULL DEFAULT false;",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("ALTER TABLE integrations DROP COLUMN allow_paid_broadcast;")
            .await?;
        Ok(())
    }
}

/// Live alert cards and their states.
struct M0005AlertCards;

impl MigrationName for M0005AlertCards {
    fn name(&self) -> &str {
        "m0005_alert_cards"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0005AlertCards {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE TABLE alert_cards (
                    alert_id TEXT PRIMARY KEY,
                    incident_id TEXT NOT NULL,
                    project_id TEXT NOT NULL,
                    integration_id TEXT NOT NULL,
                    external_id TEXT NOT NULL,
                    generation INTEGER NOT NULL,
                    severity TEXT NOT NULL,
                    status TEXT NOT NULL,
                    revision INTEGER NOT NULL,
                    opened_at TIMESTAMPTZ NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL
                );
                CREATE INDEX alert_cards_by_integration ON alert_cards (project_id, integration_id, opened_at DESC);",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE alert_cards;").await?;
        Ok(())
    }
}

struct M0006AlertCardPayment;

impl MigrationName for M0006AlertCardPayment {
    fn name(&self) -> &str {
        "m0006_alert_card_payment"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0006AlertCardPayment {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // NULL: a free card (payment mode none).
        manager.get_connection().execute_unprepared("ALTER TABLE alert_cards ADD COLUMN payment TEXT;").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("ALTER TABLE alert_cards DROP COLUMN payment;").await?;
        Ok(())
    }
}

struct M0007Broadcasts;

impl MigrationName for M0007Broadcasts {
    fn name(&self) -> &str {
        "m0007_broadcasts"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0007Broadcasts {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE sends ADD COLUMN broadcast_id TEXT;
                 CREATE INDEX sends_by_broadcast ON sends (broadcast_id, status) WHERE broadcast_id IS NOT NULL;
                 CREATE TABLE broadcasts (
                     broadcast_id   TEXT PRIMARY KEY,
                     project_id     TEXT NOT NULL,
                     integration_id TEXT NOT NULL,
                     template       TEXT NOT NULL,
                     total          INTEGER NOT NULL,
                     status         TEXT NOT NULL,
                     queued         INTEGER,
                     skipped        JSONB,
                     failure_reason TEXT,
                     failure_detail TEXT,
                     send_at        TIMESTAMPTZ,
                     created_at     TIMESTAMPTZ NOT NULL,
                     updated_at     TIMESTAMPTZ NOT NULL
                 );",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "DROP TABLE broadcasts; DROP INDEX sends_by_broadcast; ALTER TABLE sends DROP COLUMN broadcast_id;",
            )
            .await?;
        Ok(())
    }
}
