//! One reconcile pass of one integration and entity, as people see it: trigger, state, progress, counts.

use crate::enums::{LinkedEntity, RunState, RunTrigger};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub entity: LinkedEntity,
    pub trigger: RunTrigger,
    pub state: RunState,
    pub job_id: Option<Uuid>,
    pub progress_done: i32,
    pub progress_total: Option<i32>,
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub deactivated: i32,
    pub deleted: i32,
    pub ignored: i32,
    pub failed: i32,
    /// Why records gone at the remote were left alone.
    pub held_back: Option<String>,
    pub error: Option<String>,
    pub queued_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
