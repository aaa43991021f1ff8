//! Integrations with remote systems: their encrypted credentials, the links between local records and
//! their remote twins, the mappings, and the idempotency key of sales submitted through the provider surface.

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
                    .table("integrations")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("kind", 32))
                    .col(string_len("name", 200))
                    .col(boolean("enabled"))
                    .col(string_len("mode", 16))
                    .col(string_len("base_url", 500))
                    .col(json_binary("settings"))
                    .col(json_binary("missing_policies"))
                    .col(timestamp_with_time_zone_null("last_synced_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("integrations", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("integrations", &["account_id", "name"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("integration_credentials")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("mode", 16))
                    .col(string_len("field", 64))
                    .col(text("ciphertext"))
                    .col(string_len("last_four", 8))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk(
                        "integration_credentials",
                        "account_id",
                        "accounts",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "integration_credentials",
                        "integration_id",
                        "integrations",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("integration_credentials", &["integration_id", "mode", "field"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("remote_links")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("entity", 32))
                    .col(uuid("local_id"))
                    .col(string_len("remote_id", 200))
                    .col(string_len("content_hash", 64))
                    .col(boolean("manual"))
                    .col(timestamp_with_time_zone_null("last_seen_at"))
                    .col(timestamp_with_time_zone_null("last_synced_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("remote_links", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("remote_links", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("remote_links", &["integration_id", "entity", "remote_id"], true)).await?;
        manager.create_index(index("remote_links", &["integration_id", "entity", "local_id"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("field_mappings")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("entity", 32))
                    .col(string_len("remote_field", 200))
                    .col(string_len("target_kind", 16))
                    .col(string_len("target", 200))
                    .col(json_binary("transforms"))
                    .col(json_binary("value_mappings"))
                    .col(integer("position"))
                    .foreign_key(&mut fk("field_mappings", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("field_mappings", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("field_mappings", &["integration_id", "entity"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("status_mappings")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("remote_status", 200))
                    .col(uuid("local_status_id"))
                    .foreign_key(&mut fk("status_mappings", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk(
                        "status_mappings",
                        "integration_id",
                        "integrations",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk("status_mappings", "local_status_id", "statuses", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("status_mappings", &["integration_id", "remote_status"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("flow_mappings")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("remote_flow_id", 200))
                    .col(uuid("local_flow_id"))
                    .foreign_key(&mut fk("flow_mappings", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("flow_mappings", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("flow_mappings", "local_flow_id", "flows", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("flow_mappings", &["integration_id", "local_flow_id"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("question_mappings")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("remote_question", 200))
                    .col(uuid("local_question_id"))
                    .col(json_binary("option_mappings"))
                    .col(json_binary("warnings"))
                    .foreign_key(&mut fk("question_mappings", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk(
                        "question_mappings",
                        "integration_id",
                        "integrations",
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "question_mappings",
                        "local_question_id",
                        "questions",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("question_mappings", &["integration_id", "remote_question"], true)).await?;

        manager
            .alter_table(Table::alter().table("sales").add_column(string_len_null("idempotency_key", 200)).to_owned())
            .await?;
        manager.create_index(index("sales", &["account_id", "agent_id", "idempotency_key"], true)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_sales_account_id_agent_id_idempotency_key").table("sales").to_owned())
            .await?;
        manager.alter_table(Table::alter().table("sales").drop_column("idempotency_key").to_owned()).await?;
        for table in [
            "question_mappings",
            "flow_mappings",
            "status_mappings",
            "field_mappings",
            "remote_links",
            "integration_credentials",
            "integrations",
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
