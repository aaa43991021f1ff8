//! Alert webhooks: one per account, where the daemon POSTs every alert (signed the Standard Webhooks
//! way). The signing secret is stored encrypted under the master key, like integration credentials;
//! the last delivery and the last error tell the admin whether the receiver is reachable.

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
                    .table("alert_webhooks")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("url", 2000))
                    .col(text("secret_ciphertext"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(timestamp_with_time_zone_null("last_delivered_at"))
                    .col(text_null("last_error"))
                    .foreign_key(&mut fk("alert_webhooks", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        // One webhook per account.
        manager.create_index(index("alert_webhooks", &["account_id"], true)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("alert_webhooks").to_owned()).await
    }
}
