//! Per integration and entity: when a pass last checked the remote, and when one last changed something.

use crate::enums::LinkedEntity;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub entity: LinkedEntity,
    /// The end of the last pass that read the remote completely enough to finish.
    pub last_checked_at: Option<DateTimeUtc>,
    /// The last pass that changed something locally.
    pub last_synced_at: Option<DateTimeUtc>,
    /// Where the next incremental pass goes on from, in the remote's own terms (SnelStart: the highest
    /// `modifiedOn` seen, as SnelStart wrote it; Exact Online: its Timestamps as JSON). None: from the start.
    pub cursor: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
