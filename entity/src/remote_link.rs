//! How a local record knows its remote twin in one integration.

use crate::enums::LinkedEntity;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "remote_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub entity: LinkedEntity,
    pub local_id: Uuid,
    pub remote_id: String,
    /// Hex SHA-256 of the mapped remote content, to tell changed from unchanged.
    pub content_hash: String,
    /// Linked by hand: never replaced by automatic matching.
    pub manual: bool,
    /// The local record was switched off by a pass because it was gone at the remote.
    pub deactivated_by_sync: bool,
    pub last_seen_at: Option<DateTimeUtc>,
    pub last_synced_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
