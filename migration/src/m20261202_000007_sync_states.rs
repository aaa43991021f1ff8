//! `sync_states`: per integration and entity, when a pass last checked the remote (`last_checked_at`)
//! and when one last changed something (`last_synced_at`). Kept apart from the runs, which are purged
//! after their retention: an integration whose passes stopped still shows when it was last checked.

use crate::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sync_states")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("entity", 16))
                    .col(timestamp_with_time_zone_null("last_checked_at"))
                    .col(timestamp_with_time_zone_null("last_synced_at"))
                    .foreign_key(&mut fk("sync_states", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("sync_states", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("sync_states", &["integration_id", "entity"], true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("sync_states").to_owned()).await
    }
}
