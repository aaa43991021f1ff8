//! The catalogue: statuses, suppliers, products, flows, questions and access grants.

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
                    .table("statuses")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("key", 64))
                    .col(string_len("name", 100))
                    .col(boolean("system"))
                    .col(integer("position"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("statuses", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("statuses", &["account_id", "key"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("suppliers")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("name", 200))
                    .col(boolean("contractant"))
                    .col(string_len_null("contact_name", 200))
                    .col(string_len_null("email", 254))
                    .col(string_len_null("phone", 50))
                    .col(string_len_null("website", 500))
                    .col(string_len_null("logo_url", 500))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("suppliers", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("suppliers", &["account_id", "name"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("products")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid_null("supplier_id"))
                    .col(uuid_null("parent_id"))
                    .col(string_len("sku", 100))
                    .col(string_len("name", 200))
                    .col(text_null("description"))
                    .col(string_len("product_type", 16))
                    .col(string_len_null("category", 100))
                    .col(json_binary("tariffs"))
                    .col(json_binary("extra_fields"))
                    .col(string_len_null("incentive", 200))
                    .col(boolean("active"))
                    .col(boolean("authorised"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("products", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("products", "supplier_id", "suppliers", ForeignKeyAction::SetNull))
                    .foreign_key(&mut fk("products", "parent_id", "products", ForeignKeyAction::SetNull))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("products", &["account_id", "sku"], true)).await?;
        manager.create_index(index("products", &["account_id", "updated_at"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("flows")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("name", 200))
                    .col(text_null("description"))
                    .col(boolean("active"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("flows", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("questions")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid_null("flow_id"))
                    .col(uuid_null("product_id"))
                    .col(string_len("key", 64))
                    .col(string_len("label", 500))
                    .col(string_len("question_type", 16))
                    .col(boolean("required"))
                    .col(json_binary("validations"))
                    .col(json_binary("conditions"))
                    .col(json_binary("options"))
                    .col(integer("position"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("questions", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("questions", "flow_id", "flows", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("questions", "product_id", "products", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("questions", &["account_id", "key"], true)).await?;

        manager
            .create_table(
                Table::create()
                    .table("access_grants")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("organisation_id"))
                    .col(string_len("target", 16))
                    .col(uuid("target_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("access_grants", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk(
                        "access_grants",
                        "organisation_id",
                        "organisations",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("access_grants", &["organisation_id", "target", "target_id"], true)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["access_grants", "questions", "flows", "products", "suppliers", "statuses"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
