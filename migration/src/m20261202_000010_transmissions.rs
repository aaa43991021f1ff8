//! `sale_transmissions`: the outbox of sale forwarding. One row per sale and integration, written in the
//! same transaction as the sale change that qualifies it: where the sending is (queued, scheduled,
//! sending, sent, failed, dead), not before when, how many attempts, what went wrong, the remote's id
//! and the idempotency key every attempt sends. The daemon claims due rows with a lease, like jobs.

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
                    .table("sale_transmissions")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("sale_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("state", 16))
                    .col(string_len("trigger", 16))
                    .col(timestamp_with_time_zone("not_before"))
                    .col(integer("attempts").default(0))
                    .col(string_len("idempotency_key", 100))
                    .col(string_len_null("remote_id", 200))
                    .col(string_len_null("remote_status", 100))
                    .col(string_len_null("failure", 16))
                    .col(text_null("last_error"))
                    .col(json_null("problems"))
                    .col(string_len_null("lease_owner", 200))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("sale_transmissions", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("sale_transmissions", "sale_id", "sales", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk(
                        "sale_transmissions",
                        "integration_id",
                        "integrations",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("sale_transmissions", &["sale_id", "integration_id"], true)).await?;
        manager.create_index(index("sale_transmissions", &["idempotency_key"], true)).await?;
        // The relay's claim: due rows by state and time.
        manager.create_index(index("sale_transmissions", &["state", "not_before"], false)).await?;
        manager.create_index(index("sale_transmissions", &["account_id", "state"], false)).await?;
        // Which integrations a sold product comes from, asked on every sale change.
        manager.create_index(index("remote_links", &["local_id", "entity"], false)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_remote_links_local_id_entity").table("remote_links").to_owned())
            .await?;
        manager.drop_table(Table::drop().table("sale_transmissions").to_owned()).await
    }
}
