//! `sync_states.cursor` as text: a remote's own cursors are stored as JSON (Exact Online's
//! `{"changes","deleted"}`, two int64 Timestamps as text: up to 65 characters), longer than the 64 that
//! SnelStart's date needed. SQLite does not enforce a `varchar`'s length (and cannot alter a column):
//! only PostgreSQL changes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter().table("sync_states").modify_column(ColumnDef::new("cursor").text().null()).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .alter_table(
                Table::alter()
                    .table("sync_states")
                    .modify_column(ColumnDef::new("cursor").string_len(64).null())
                    .to_owned(),
            )
            .await
    }
}
