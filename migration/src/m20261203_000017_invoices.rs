//! Sales invoices pulled from a bookkeeping remote (seed 004, SnelStart's verkoopfacturen), with what is
//! still open of each: a payment is a lower open balance. An invoice is linked to its integration
//! through `remote_links` (entity `invoice`), like every synced record; its customer is the Koppel
//! customer linked to its relatie, once that link exists (`remote_customer_id` keeps the relatie until
//! then).

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
                    .table("invoices")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid_null("customer_id"))
                    .col(string_len_null("remote_customer_id", 200))
                    .col(string_len("number", 100))
                    .col(date_null("invoice_date"))
                    .col(date_null("due_date"))
                    .col(big_integer("amount_cents"))
                    .col(big_integer("open_cents"))
                    .col(timestamp_with_time_zone_null("modified_on"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("invoices", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("invoices", "customer_id", "customers", ForeignKeyAction::SetNull))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("invoices", &["account_id", "customer_id"], false)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("invoices").to_owned()).await
    }
}
