//! Files (issue 11): product attachments and supplier logos.
//!
//! - `files`: one row per account and content (SHA-256), whatever number of attachments or logos use
//!   it; the bytes live in the file store (a directory or S3), content-addressed by the same SHA-256.
//!   The name is the one it was first uploaded with; the content type is sniffed from the bytes.
//! - `product_attachments`: a product's files, in order, with a title and a kind; gone with the product
//!   (the file row it leaves unreferenced is swept by the daemon). `remote_id` is the attachment's id at
//!   the remote for attachments that a peer pass brought in.
//! - `suppliers.logo_file_id`: the supplier's logo. No foreign key: a file row is removed only when
//!   nothing references it, which the engine checks (and the nightly sweep catches what a crash left).

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
                    .table("files")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(string_len("sha256", 64))
                    .col(big_integer("size"))
                    .col(string_len("content_type", 200))
                    .col(string_len("name", 255))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("files", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        // The same content once per account: a second upload (or a concurrent one) finds this row.
        manager.create_index(index("files", &["account_id", "sha256"], true)).await?;
        // Whether any account still has an object (before it is deleted from the store).
        manager.create_index(index("files", &["sha256"], false)).await?;
        manager
            .create_table(
                Table::create()
                    .table("product_attachments")
                    .col(pk_uuid("id"))
                    .col(uuid("account_id"))
                    .col(uuid("product_id"))
                    .col(uuid("file_id"))
                    .col(string_len("title", 200))
                    .col(string_len("kind", 32))
                    .col(integer("position"))
                    .col(string_len_null("remote_id", 200))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(&mut fk("product_attachments", "account_id", "accounts", ForeignKeyAction::Cascade))
                    .foreign_key(&mut fk("product_attachments", "product_id", "products", ForeignKeyAction::Cascade))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("product_attachments", &["product_id", "position"], false)).await?;
        manager.create_index(index("product_attachments", &["file_id"], false)).await?;
        manager.alter_table(Table::alter().table("suppliers").add_column(uuid_null("logo_file_id")).to_owned()).await?;
        manager.create_index(index("suppliers", &["logo_file_id"], false)).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_suppliers_logo_file_id").table("suppliers").to_owned()).await?;
        manager.alter_table(Table::alter().table("suppliers").drop_column("logo_file_id").to_owned()).await?;
        manager.drop_table(Table::drop().table("product_attachments").to_owned()).await?;
        manager.drop_table(Table::drop().table("files").to_owned()).await
    }
}
