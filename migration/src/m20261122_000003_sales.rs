//! Customers with their contact persons, and sales.

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
                    .table("customers")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("kind", 16))
                    .col(string_len_null("first_name", 100))
                    .col(string_len_null("last_name", 100))
                    .col(string_len_null("company_name", 200))
                    .col(string_len_null("kvk_number", 8))
                    .col(string_len_null("email", 254))
                    .col(string_len_null("phone", 50))
                    .col(json_binary("addresses"))
                    .col(json_binary("extra_fields"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("customers", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("customers", &["account_id", "email"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("contact_persons")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("customer_id"))
                    .col(string_len("name", 200))
                    .col(string_len_null("email", 254))
                    .col(string_len_null("phone", 50))
                    .col(json_binary("flags"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("contact_persons", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("contact_persons", "customer_id", "customers", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("contact_persons", &["customer_id"], false)).await?;

        manager
            .create_table(
                Table::create()
                    .table("sales")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid_null("organisation_id"))
                    .col(uuid("agent_id"))
                    .col(uuid_null("customer_id"))
                    .col(uuid("product_id"))
                    .col(uuid_null("flow_id"))
                    .col(uuid("status_id"))
                    .col(json_binary("answers"))
                    .col(json_binary_null("opt_in"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone("status_changed_at"))
                    .foreign_key(&mut fk("sales", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("sales", "organisation_id", "organisations", ForeignKeyAction::SetNull))
                    .foreign_key(&mut fk("sales", "agent_id", "users", ForeignKeyAction::Restrict))
                    .foreign_key(&mut fk("sales", "customer_id", "customers", ForeignKeyAction::SetNull))
                    .foreign_key(&mut fk("sales", "product_id", "products", ForeignKeyAction::Restrict))
                    .foreign_key(&mut fk("sales", "flow_id", "flows", ForeignKeyAction::SetNull))
                    .foreign_key(&mut fk("sales", "status_id", "statuses", ForeignKeyAction::Restrict))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("sales", &["account_id", "created_at"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["sales", "contact_persons", "customers"] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
