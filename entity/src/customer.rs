//! A customer: a person or a company debtor.

use crate::enums::CustomerKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "customers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub kind: CustomerKind,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub kvk_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A JSON array of `{kind, street, houseNumber, postcode, city, country}`.
    pub addresses: Json,
    pub extra_fields: Json,
    /// Switched off when it left a remote it is synchronised from (the missing-record policy).
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
