//! An integration with a remote system: its kind, mode, base URL, typed settings and policies.

use crate::enums::IntegrationMode;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// The connector kind, e.g. `peer`.
    pub kind: String,
    pub name: String,
    pub enabled: bool,
    pub mode: IntegrationMode,
    pub base_url: String,
    /// The kind's settings, validated on save.
    pub settings: Json,
    /// The missing-record policy by entity, e.g. `{"product": "deactivate"}`.
    pub missing_policies: Json,
    pub last_synced_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
