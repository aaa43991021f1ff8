//! A sale submitted through the provider surface remembers a hash of what was submitted with its
//! idempotency key, so that the same key sent again with a different sale is refused instead of being
//! answered with the first sale. Nullable: sales submitted before this column have none, and are
//! answered as before.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("sales").add_column(string_len_null("idempotency_hash", 64)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("sales").drop_column("idempotency_hash").to_owned()).await
    }
}
