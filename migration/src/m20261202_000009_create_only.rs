//! A field mapping may be **create-only** (seed 002's "update product info" unticked for a field): the
//! mapped value is written when the record is created and never overwritten by a later pass.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table("field_mappings").add_column(boolean("create_only").default(false)).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("field_mappings").drop_column("create_only").to_owned()).await
    }
}
