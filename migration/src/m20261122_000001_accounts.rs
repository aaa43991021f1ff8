//! Tenancy and identity: accounts, organisations, users, API tokens, extra-field definitions.

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
                    .table("accounts")
                    .col(pk_uuid("id"))
                    .col(string_len("name", 64))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("accounts", &["name"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("organisations")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("name", 200))
                    .col(json_binary("extra_fields"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("organisations", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("organisations", &["account_id", "name"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid_null("organisation_id"))
                    .col(string_len("username", 100))
                    .col(string_len_null("display_name", 200))
                    .col(string_len_null("email", 254))
                    .col(string_len("role", 16))
                    .col(text_null("password_hash"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("users", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("users", "organisation_id", "organisations", ForeignKeyAction::SetNull))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("users", &["account_id", "username"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("api_tokens")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("user_id"))
                    .col(string_len("name", 100))
                    .col(string_len("token_hash", 64))
                    .col(string_len("prefix", 16))
                    .col(boolean("integration_only"))
                    .col(json_binary("scopes"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("api_tokens", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("api_tokens", "user_id", "users", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("api_tokens", &["token_hash"], true)).await?;
        manager.create_index(index("api_tokens", &["account_id", "user_id"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("extra_fields")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("entity", 16))
                    .col(string_len("key", 64))
                    .col(string_len("label", 200))
                    .col(string_len("field_type", 16))
                    .col(json_binary("options"))
                    .col(boolean("hidden"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("extra_fields", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("extra_fields", &["account_id", "entity", "key"], true)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["extra_fields", "api_tokens", "users", "organisations", "accounts"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
