//! OAuth2 connections (Exact Online): the `state`s handed out when an admin starts connecting an
//! integration (single use, expiring, stored as a SHA-256 hash so a database reader cannot complete
//! someone's flow), and the tokens a completed flow gave, encrypted under the master key like every
//! credential. `generation` grows by one at every stored rotation: writers compare and swap on it, so
//! two processes refreshing the same single-use refresh token cannot overwrite each other unnoticed.

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
                    .table("oauth_states")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(uuid("user_id"))
                    .col(string_len("mode", 16))
                    .col(string_len("state_hash", 64))
                    .col(string_len("origin", 300))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("used_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("oauth_states", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("oauth_states", "integration_id", "integrations", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("oauth_states", "user_id", "users", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("oauth_states", &["state_hash"], true)).await?;
        manager
            .create_table(
                Table::create()
                    .table("oauth_connections")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("integration_id"))
                    .col(string_len("mode", 16))
                    .col(text("ciphertext"))
                    .col(big_integer("generation"))
                    .col(boolean("connected"))
                    .col(string_len_null("division", 32))
                    .col(string_len_null("identity", 300))
                    .col(text_null("problem"))
                    .col(timestamp_with_time_zone("connected_at"))
                    .col(timestamp_with_time_zone_null("refresh_valid_until"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut fk("oauth_connections", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk(
                        "oauth_connections",
                        "integration_id",
                        "integrations",
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("oauth_connections", &["integration_id", "mode"], true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("oauth_connections").to_owned()).await?;
        manager.drop_table(Table::drop().table("oauth_states").to_owned()).await
    }
}
