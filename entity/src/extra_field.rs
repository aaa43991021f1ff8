//! The definition of an extra field on products, organisations or customers.

use crate::enums::{ExtraFieldEntity, ExtraFieldType};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "extra_fields")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub entity: ExtraFieldEntity,
    pub key: String,
    pub label: String,
    pub field_type: ExtraFieldType,
    /// Allowed values of a select field: a JSON array of strings.
    pub options: Json,
    pub hidden: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
