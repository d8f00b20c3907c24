//! The key store's schema, tracked apart from the projections'
//! (`keystore_migrations`), so dropping and migrating the projections again
//! never touches it.

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(K0001PayloadKeys)]
    }

    fn migration_table_name() -> DynIden {
        Alias::new("keystore_migrations").into_iden()
    }
}

struct K0001PayloadKeys;

impl MigrationName for K0001PayloadKeys {
    fn name(&self) -> &str {
        "k0001_payload_keys"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for K0001PayloadKeys {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // IF NOT EXISTS: before this migrator, the projections' m0003 created it.
        manager
            .get_connection()
            .execute_unprepared(
                r#"
CREATE TABLE IF NOT EXISTS payload_keys (
    key_id     TEXT PRIMARY KEY,
    wrapped    JSONB NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS payload_keys_expiry ON payload_keys (expires_at);
"#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DROP TABLE IF EXISTS payload_keys").await?;
        Ok(())
    }
}
