//! Sync runs and events as people see them: `syncRuns` (a pass's trigger, state, progress and counts)
//! and `syncEvents` (what came from the remote and what was written), per integration, admins only.

mod live;

pub use live::RunSubscription;

use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Page, page_size, paginate};
use crate::graphql::{ContextExt, ids};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::enums;
use koppel_entity::{Scoped, integration, sync_event, sync_run};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

/// What a pass, a run or an event is about.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::LinkedEntity")]
pub enum SyncEntity {
    Product,
    Supplier,
    Customer,
    Invoice,
    Payment,
    Order,
    /// A sale forwarded to the remote (events of its transmission).
    Sale,
    /// The statuses of sales sent to the remote, pulled back.
    SaleStatus,
    /// Koppel's products pushed to the remote as its items (Exact Online: created or updated by SKU).
    ProductPush,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::RunState")]
pub enum RunState {
    Queued,
    Running,
    /// Finished, and its counts add up.
    Succeeded,
    Failed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::RunTrigger")]
pub enum RunTrigger {
    /// The integration's schedule.
    Schedule,
    /// `syncNow`.
    Manual,
    Import,
    Api,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::EventLevel")]
pub enum EventLevel {
    Debug,
    Info,
    Warn,
    Error,
    /// Something an operator must act on: a pass held back, a failed run.
    Alert,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::Direction")]
pub enum Direction {
    /// From the remote into Koppel.
    In,
    /// From Koppel to the remote.
    Out,
}

/// How many records a run went through, by what happened to them.
#[derive(SimpleObject, Clone)]
pub struct RunCounts {
    pub created: i32,
    pub updated: i32,
    pub unchanged: i32,
    pub deactivated: i32,
    pub deleted: i32,
    pub ignored: i32,
    pub failed: i32,
}

#[derive(SimpleObject, Clone)]
pub struct RunProgress {
    pub done: i32,
    /// Unknown until the remote was read.
    pub total: Option<i32>,
}

/// One reconcile pass of an integration and entity.
#[derive(SimpleObject, Clone)]
pub struct SyncRun {
    pub id: ID,
    pub integration_id: ID,
    pub entity: SyncEntity,
    pub trigger: RunTrigger,
    pub state: RunState,
    pub progress: RunProgress,
    pub counts: RunCounts,
    /// Why records gone at the remote were left alone.
    pub held_back: Option<String>,
    pub error: Option<String>,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<sync_run::Model> for SyncRun {
    fn from(m: sync_run::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            integration_id: ids::to_id(m.integration_id),
            entity: m.entity.into(),
            trigger: m.trigger.into(),
            state: m.state.into(),
            progress: RunProgress { done: m.progress_done, total: m.progress_total },
            counts: RunCounts {
                created: m.created,
                updated: m.updated,
                unchanged: m.unchanged,
                deactivated: m.deactivated,
                deleted: m.deleted,
                ignored: m.ignored,
                failed: m.failed,
            },
            held_back: m.held_back,
            error: m.error,
            queued_at: m.queued_at,
            started_at: m.started_at,
            finished_at: m.finished_at,
        }
    }
}

/// Where an integration stands for one entity it synchronises.
#[derive(SimpleObject, Clone)]
pub struct EntitySyncState {
    pub entity: SyncEntity,
    /// When a pass last checked the remote to the end (null: never).
    pub last_checked_at: Option<DateTime<Utc>>,
    /// When a pass last changed something here (null: never).
    pub last_synced_at: Option<DateTime<Utc>>,
}

/// The states of the entities `integration` synchronises, in the kind's order.
pub async fn sync_states(
    db: &impl sea_orm::ConnectionTrait,
    integration: &integration::Model,
    entities: &[enums::LinkedEntity],
) -> ApiResult<Vec<EntitySyncState>> {
    use koppel_entity::{IntegrationOwned, sync_state};
    let stored = sync_state::Entity::find_owned(integration.account_id, integration.id).all(db).await?;
    Ok(entities
        .iter()
        .map(|entity| {
            let state = stored.iter().find(|s| s.entity == *entity);
            EntitySyncState {
                entity: (*entity).into(),
                last_checked_at: state.and_then(|s| s.last_checked_at),
                last_synced_at: state.and_then(|s| s.last_synced_at),
            }
        })
        .collect())
}

/// What a pass read or wrote for one record, or what went wrong.
#[derive(SimpleObject, Clone)]
pub struct SyncEvent {
    pub id: ID,
    pub run_id: Option<ID>,
    pub level: EventLevel,
    pub entity: Option<SyncEntity>,
    pub local_id: Option<ID>,
    pub remote_id: Option<String>,
    /// `update`, `deactivate`, `delete`, `ignore`, `not_imported`, `unmapped`, `failed`, `held_back`.
    pub action: String,
    pub direction: Option<Direction>,
    pub message: String,
    /// What came from the remote and what was written, with secrets redacted.
    pub payload: Option<Json<serde_json::Value>>,
    pub created_at: DateTime<Utc>,
}

impl From<sync_event::Model> for SyncEvent {
    fn from(m: sync_event::Model) -> Self {
        Self {
            id: ID(m.id.to_string()),
            run_id: m.run_id.map(ids::to_id),
            level: m.level.into(),
            entity: m.entity.map(Into::into),
            local_id: m.local_id.map(ids::to_id),
            remote_id: m.remote_id,
            action: m.action,
            direction: m.direction.map(Into::into),
            message: m.message,
            payload: m.payload.map(Json),
            created_at: m.created_at,
        }
    }
}

/// The levels at or above `min`.
fn levels_from(min: EventLevel) -> Vec<enums::EventLevel> {
    use enums::EventLevel as L;
    let all = [L::Debug, L::Info, L::Warn, L::Error, L::Alert];
    let min = enums::EventLevel::from(min);
    let start = all.iter().position(|l| *l == min).unwrap_or(0);
    all[start..].to_vec()
}

async fn integration_of(ctx: &Context<'_>, id: &ID) -> ApiResult<integration::Model> {
    let principal = ctx.principal()?.require_admin()?;
    integration::Entity::find_by_id_in(principal.account_id, ids::parse(id, "integration")?)
        .one(ctx.db())
        .await?
        .ok_or(ApiError::NotFound("integration"))
}

#[derive(Default)]
pub struct RunQuery;

#[Object]
impl RunQuery {
    /// One run (admins only): follow what `syncNow` queued until it is done.
    async fn sync_run(&self, ctx: &Context<'_>, id: ID) -> ApiResult<SyncRun> {
        let principal = ctx.principal()?.require_admin()?;
        sync_run::Entity::find_by_id_in(principal.account_id, ids::parse(&id, "run")?)
            .one(ctx.db())
            .await?
            .map(SyncRun::from)
            .ok_or(ApiError::NotFound("run"))
    }

    /// The runs of an integration, oldest first (admins only).
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn sync_runs(
        &self,
        ctx: &Context<'_>,
        integration_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, SyncRun>> {
        let integration = integration_of(ctx, &integration_id).await?;
        let select = sync_run::Entity::find_in(integration.account_id)
            .filter(sync_run::Column::IntegrationId.eq(integration.id));
        paginate(ctx.db(), select, Page::new(first, after)?, SyncRun::from).await
    }

    /// The events of an integration, oldest first, of one run and from a level up when asked (admins only).
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn sync_events(
        &self,
        ctx: &Context<'_>,
        integration_id: ID,
        run_id: Option<ID>,
        min_level: Option<EventLevel>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, SyncEvent>> {
        let integration = integration_of(ctx, &integration_id).await?;
        let first = page_size(first)?;
        let after: Option<i64> = after
            .map(|cursor| {
                cursor.parse().map_err(|_| ApiError::BadUserInput("after is not a cursor of this list".into()))
            })
            .transpose()?;
        let mut select = sync_event::Entity::find()
            .filter(sync_event::Column::AccountId.eq(integration.account_id))
            .filter(sync_event::Column::IntegrationId.eq(integration.id))
            .order_by_asc(sync_event::Column::Id)
            .limit(first as u64 + 1);
        if let Some(run) = &run_id {
            let run: Uuid = ids::parse(run, "run")?;
            select = select.filter(sync_event::Column::RunId.eq(run));
        }
        if let Some(min) = min_level {
            select = select.filter(sync_event::Column::Level.is_in(levels_from(min)));
        }
        if let Some(after) = after {
            select = select.filter(sync_event::Column::Id.gt(after));
        }
        let mut rows = select.all(ctx.db()).await?;
        let has_next = rows.len() > first;
        rows.truncate(first);
        let mut connection = Connection::new(after.is_some(), has_next);
        connection.edges.extend(rows.into_iter().map(|row| Edge::new(row.id.to_string(), SyncEvent::from(row))));
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimum_level_keeps_that_level_and_above() {
        assert_eq!(
            levels_from(EventLevel::Warn),
            [enums::EventLevel::Warn, enums::EventLevel::Error, enums::EventLevel::Alert]
        );
        assert_eq!(levels_from(EventLevel::Debug).len(), 5);
    }
}
