//! A file attached to a product (conditions, a brochure, a tariff sheet), in order.

use crate::enums::AttachmentKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "product_attachments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub product_id: Uuid,
    pub file_id: Uuid,
    pub title: String,
    pub kind: AttachmentKind,
    pub position: i32,
    /// The attachment's id at the remote, for attachments a peer pass brought in.
    pub remote_id: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
