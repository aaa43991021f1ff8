//! What a pass read and wrote, one row per record and action; ids increase, so listeners follow by id.

use crate::enums::{Direction, EventLevel, LinkedEntity};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub run_id: Option<Uuid>,
    pub level: EventLevel,
    pub entity: Option<LinkedEntity>,
    pub local_id: Option<Uuid>,
    pub remote_id: Option<String>,
    pub action: String,
    pub direction: Option<Direction>,
    pub message: String,
    /// What came from the remote and what was written, with secrets redacted.
    pub payload: Option<Json>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
