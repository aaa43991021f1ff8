//! Invoices get extra fields, like products and customers: an integration's `invoice` field mappings
//! write the remote's own fields there (SnelStart's factuurbedrag as a text, a reference, …).

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
                    .add_column(json_binary("extra_fields").default(Expr::cust("'{}'")))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("invoices").drop_column("extra_fields").to_owned()).await
    }
}
