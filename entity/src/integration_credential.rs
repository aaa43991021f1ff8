//! One credential field of an integration for one mode, encrypted with AES-256-GCM.

use crate::enums::IntegrationMode;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "integration_credentials")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub mode: IntegrationMode,
    pub field: String,
    /// Base64 of nonce and ciphertext; the additional data binds it to integration, mode and field.
    pub ciphertext: String,
    /// The last four characters, to recognise the value by.
    pub last_four: String,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
