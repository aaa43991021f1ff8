//! Invoices gone at the remote (SnelStart has no deletion feed: an invoice a full listing no longer
//! shows). Under the `deactivate` missing-record policy the invoice stays, marked with when the pass
//! found it gone (`removed_at_remote`), so that it is shown as removed rather than silently kept; it is
//! cleared when the invoice comes back. Under `delete` the row goes.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("invoices")
                    .add_column(timestamp_with_time_zone_null("removed_at_remote"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("invoices").drop_column("removed_at_remote").to_owned()).await
    }
}
