//! A stored file of an account: its content is in the file store under its SHA-256; one row per account
//! and content, shared by every attachment and logo that uses it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// Lower-case hex; unique per account.
    pub sha256: String,
    pub size: i64,
    /// Sniffed from the bytes, never taken from the client.
    pub content_type: String,
    /// The name it was first uploaded with (downloads offer it).
    pub name: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
