//! Customers synchronised from a bookkeeping remote (seed 004, SnelStart):
//!
//! - `customers.active`: a customer gone at the remote is switched off under the `deactivate` policy,
//!   like a product.
//! - `sync_states.cursor`: where an incremental pass goes on from, in the remote's own terms (SnelStart:
//!   the highest `modifiedOn` seen, as SnelStart wrote it).
//! - `customer_matches`: remote customers that matched no local one and wait for a person to link them
//!   (or were unlinked by hand, which keeps automatic matching away from them).

use crate::{fk, index};
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("customers").add_column(boolean("active").default(true)).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table("sync_states").add_column(string_len_null("cursor", 64)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("customer_matches")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("remote_id", 200))
                    .col(string_len("label", 300))
                    .col(json_binary("remote"))
                    .col(boolean("unlinked_by_hand").default(false))
                    .col(timestamp_with_time_zone("seen_at"))
                    .foreign_key(&mut fk("customer_matches", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk(
                        "customer_matches",
                        "integration_id",
                        "integrations",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("customer_matches", &["integration_id", "remote_id"], true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("customer_matches").to_owned()).await?;
        manager.alter_table(Table::alter().table("sync_states").drop_column("cursor").to_owned()).await?;
        manager.alter_table(Table::alter().table("customers").drop_column("active").to_owned()).await
    }
}
