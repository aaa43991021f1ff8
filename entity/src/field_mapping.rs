//! A remote field mapped to a local extra field, question or attribute, with transforms and value mappings.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "field_mappings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub entity: String,
    pub remote_field: String,
    /// `extra_field`, `question` or `attribute`.
    pub target_kind: String,
    pub target: String,
    /// A JSON array of `{kind, argument}`, applied in order.
    pub transforms: Json,
    /// A JSON array of `{remote, local}`.
    pub value_mappings: Json,
    pub position: i32,
    /// Written when the record is created, never overwritten by a later pass.
    pub create_only: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
