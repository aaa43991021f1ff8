//! A product (proposition) with its tariffs.

use crate::enums::ProductType;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "products")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub supplier_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub product_type: ProductType,
    pub category: Option<String>,
    /// A JSON array of `{code, label, amount, unit}`; amounts are decimal strings.
    pub tariffs: Json,
    /// Extra-field values by field key.
    pub extra_fields: Json,
    pub incentive: Option<String>,
    pub active: bool,
    pub authorised: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
