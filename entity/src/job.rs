//! A durable job: the daemons' shared queue.

use crate::enums::JobState;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account the job works for; `None` for system jobs (retention).
    pub account_id: Option<Uuid>,
    pub integration_id: Option<Uuid>,
    /// What to run, e.g. `reconcile`.
    pub kind: String,
    pub payload: Json,
    /// Unique: a second enqueue with the same key is a no-op (one job per integration and slot).
    pub dedupe_key: Option<String>,
    pub state: JobState,
    pub run_after: DateTimeUtc,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
