//! The engine's tables: the durable job queue, sync runs and sync events.
//!
//! - `jobs` is the queue the daemons share: a worker claims a due job with a lease (`FOR UPDATE SKIP
//!   LOCKED` on PostgreSQL), renews it while working, and another worker takes it again when the lease
//!   runs out. `dedupe_key` is unique, so a scheduled slot is enqueued once however many daemons fire it.
//! - `sync_runs` are what a person sees of a pass: trigger, state, progress and counts.
//! - `sync_events` are what came from the remote and what was written, with an increasing integer id so
//!   that a listener can follow them by id.

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
                    .table("jobs")
                    .col(pk_uuid("id"))
                    .col(uuid_null("account_id"))
                    .col(uuid_null("integration_id"))
                    .col(string_len("kind", 64))
                    .col(json_binary("payload"))
                    .col(string_len_null("dedupe_key", 300))
                    .col(string_len("state", 16))
                    .col(timestamp_with_time_zone("run_after"))
                    .col(integer("attempts"))
                    .col(integer("max_attempts"))
                    .col(string_len_null("lease_owner", 100))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(text_null("last_error"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(&mut fk("jobs", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("jobs", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("jobs", &["dedupe_key"], true)).await?;
        manager.create_index(index("jobs", &["state", "run_after"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("sync_runs")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("entity", 16))
                    .col(string_len("trigger", 16))
                    .col(string_len("state", 16))
                    .col(uuid_null("job_id"))
                    .col(integer("progress_done"))
                    .col(integer_null("progress_total"))
                    .col(integer("created"))
                    .col(integer("updated"))
                    .col(integer("unchanged"))
                    .col(integer("deactivated"))
                    .col(integer("deleted"))
                    .col(integer("ignored"))
                    .col(integer("failed"))
                    .col(text_null("held_back"))
                    .col(text_null("error"))
                    .col(timestamp_with_time_zone("queued_at"))
                    .col(timestamp_with_time_zone_null("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(&mut fk("sync_runs", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("sync_runs", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("sync_runs", &["integration_id", "entity", "state"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("sync_events")
                    .col(big_integer("id").auto_increment().primary_key())
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(uuid_null("run_id"))
                    .col(string_len("level", 8))
                    .col(string_len_null("entity", 16))
                    .col(uuid_null("local_id"))
                    .col(string_len_null("remote_id", 200))
                    .col(string_len("action", 32))
                    .col(string_len_null("direction", 8))
                    .col(text("message"))
                    .col(json_binary_null("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("sync_events", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("sync_events", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("sync_events", "run_id", "sync_runs", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("sync_events", &["integration_id", "id"], false)).await?;
        manager.create_index(index("sync_events", &["created_at"], false)).await?;

        // A record a pass switched off (gone at the remote) is switched on again when it comes back; one
        // a person switched off is not. The link remembers which.
        manager
            .alter_table(
                Table::alter()
                    .table("remote_links")
                    .add_column(boolean("deactivated_by_sync").default(false))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("remote_links").drop_column("deactivated_by_sync").to_owned()).await?;
        for table in ["sync_events", "sync_runs", "jobs"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
