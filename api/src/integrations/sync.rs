//! Sync for one integration: "sync now" (seed 001: *Synchroniseer nu* checks the remote in real time)
//! queues a pass per entity for the daemon and returns its runs at once; `reconcilePlan` is the dry run,
//! computed while the caller waits. The pass itself is the engine's ([`koppel_daemon::reconcile`]); this
//! module only authorises, queues and shows reports.

use super::MissingRecordPolicy;
use super::service;
use crate::error::{ApiError, ApiResult, UserError, UserErrorCode};
use crate::graphql::{ContextExt, ids};
use crate::runs::{SyncEntity, SyncRun};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::reconcile::job::queue_pass;
use koppel_daemon::reconcile::products::{ChangeAction, PassReport};
use koppel_entity::enums::{LinkedEntity, RunTrigger};
use koppel_entity::integration;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_daemon::reconcile::products::ChangeAction")]
pub enum SyncAction {
    /// The remote changed it: refreshed locally.
    Update,
    Unchanged,
    /// Gone at the remote: switched off locally.
    Deactivate,
    /// Gone at the remote: removed locally.
    Delete,
    /// Gone at the remote, left as it is (policy, already inactive, or held back).
    Ignore,
    /// At the remote but not imported (import it to sync it).
    NotImported,
    /// Changed at the remote, but the local rules refuse the new version (see the note).
    Failed,
    /// Switched off by an earlier pass because it was gone, back at the remote: switched on again.
    Reactivate,
    /// At the remote in a state with no local counterpart (a sale status that is not mapped): left as it
    /// is, with a warning event naming it. Map it to sync it.
    Unmapped,
    /// New at the remote with no local twin: created and linked (customers, when the integration
    /// creates the unmatched).
    Create,
    /// New at the remote and matched by the matching key to an unlinked local record: linked.
    Link,
    /// New at the remote and matched to nothing, or unlinked by hand: waits in `customerMatches`.
    Unmatched,
}

#[derive(SimpleObject, Clone)]
pub struct SyncChange {
    pub remote_id: String,
    pub sku: Option<String>,
    pub product_id: Option<ID>,
    pub action: SyncAction,
    /// Why the action differs from the plan, e.g. a product with sales is deactivated, not deleted.
    pub note: Option<String>,
}

/// What a pass found and did.
#[derive(SimpleObject)]
pub struct SyncReport {
    /// False for a dry run (`reconcilePlan`).
    pub applied: bool,
    pub updated: i32,
    pub unchanged: i32,
    pub deactivated: i32,
    pub deleted: i32,
    pub ignored: i32,
    pub not_imported: i32,
    pub failed: i32,
    /// Switched off by an earlier pass, back at the remote, switched on again.
    pub reactivated: i32,
    /// Sale statuses at the remote that are not mapped, so not applied.
    pub unmapped: i32,
    /// Customers created from the remote.
    pub created: i32,
    /// Customers matched by the matching key and linked.
    pub linked: i32,
    /// Customers that matched nothing and wait for a person (`customerMatches`).
    pub unmatched: i32,
    /// Why records gone at the remote were left alone (a partial read, or too many at once).
    pub held_back: Option<String>,
    pub policy: MissingRecordPolicy,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub changes: Vec<SyncChange>,
}

#[derive(InputObject)]
pub struct SyncNowInput {
    pub integration_id: ID,
    /// What to synchronise; every entity the integration's kind syncs when left out. The statuses of
    /// sent sales (`SALE_STATUS`, for kinds that pull them) are pulled only when named, and Koppel's
    /// products are pushed as the remote's items (`PRODUCT_PUSH`, for kinds that take them) only when
    /// named.
    pub entities: Option<Vec<SyncEntity>>,
}

/// What `syncNow` queued: one run per entity, queued (or already queued or running: a pass is never
/// queued twice). Follow them with `syncRun`, `syncRuns`, `syncEvents` or the `syncProgress`
/// subscription.
#[derive(SimpleObject)]
pub struct SyncNowPayload {
    pub runs: Vec<SyncRun>,
    pub user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// What a pass of `entity` (products when left out) would do now, without doing it (admins only).
    async fn reconcile_plan(
        &self,
        ctx: &Context<'_>,
        integration_id: ID,
        #[graphql(default_with = "SyncEntity::Product")] entity: SyncEntity,
    ) -> ApiResult<SyncReport> {
        let principal = ctx.principal()?.require_admin()?;
        let id = ids::parse(&integration_id, "integration")?;
        let integration = service::find(ctx.db(), principal.account_id, id).await?;
        let entity = LinkedEntity::from(entity);
        if !pass_entities(&integration).contains(&entity) {
            return Err(ApiError::Invalid(vec![not_synced("entity", &integration, entity)]));
        }
        // The pass the engine runs for this entity, as a dry run: it writes nothing and records nothing.
        let (progress, recorder) = (koppel_daemon::reconcile::Progress::none(), koppel_daemon::reconcile::NoRecorder);
        Ok(report(
            koppel_daemon::reconcile::reconcile(&ctx.state().engine, &integration, entity, false, &progress, &recorder)
                .await?,
        ))
    }
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Queues a pass now for each entity asked (every one the kind syncs by default) and returns the
    /// runs at once; the daemon runs them (admins only).
    async fn sync_now(&self, ctx: &Context<'_>, input: SyncNowInput) -> ApiResult<SyncNowPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let id = ids::parse(&input.integration_id, "integration")?;
        let integration = service::find(ctx.db(), principal.account_id, id).await?;
        let passes = pass_entities(&integration);
        // Left out: the synced entities (the catalogue). The sale-status pull runs on its own schedule
        // and is asked for by name (SALE_STATUS); so is the product push, which writes to the remote
        // (PRODUCT_PUSH).
        let entities: Vec<LinkedEntity> = match input.entities {
            Some(asked) => asked.into_iter().map(LinkedEntity::from).collect(),
            None => synced_entities(&integration).to_vec(),
        };
        let mut user_errors: Vec<_> =
            entities.iter().filter(|e| !passes.contains(e)).map(|e| not_synced("entities", &integration, *e)).collect();
        if entities.is_empty() {
            user_errors.push(UserError::new(
                "entities",
                UserErrorCode::Required,
                "name at least one entity to synchronise",
            ));
        }
        if !user_errors.is_empty() {
            return Ok(SyncNowPayload { runs: Vec::new(), user_errors });
        }
        let mut runs = Vec::with_capacity(entities.len());
        for entity in dedup(entities) {
            // Without a dedupe key a run is always returned: the new one, or the one queued or running.
            if let Some(run) = queue_pass(ctx.db(), &integration, entity, RunTrigger::Manual, None).await? {
                runs.push(run.into());
            }
        }
        Ok(SyncNowPayload { runs, user_errors: Vec::new() })
    }
}

/// The entities the integration's kind synchronises.
fn synced_entities(integration: &integration::Model) -> &'static [LinkedEntity] {
    koppel_daemon::connectors::kind(&integration.kind).map(|k| k.synced_entities).unwrap_or_default()
}

/// The entities a pass may be asked of: the synced ones and, for kinds that pull them, sale statuses.
fn pass_entities(integration: &integration::Model) -> Vec<LinkedEntity> {
    koppel_daemon::connectors::kind(&integration.kind).map(|k| k.pass_entities()).unwrap_or_default()
}

fn not_synced(field: &str, integration: &integration::Model, entity: LinkedEntity) -> UserError {
    UserError::new(
        field,
        UserErrorCode::NotAnOption,
        format!("a {} integration does not synchronise {entity}", integration.kind),
    )
}

fn dedup(entities: Vec<LinkedEntity>) -> Vec<LinkedEntity> {
    let mut seen = Vec::with_capacity(entities.len());
    for entity in entities {
        if !seen.contains(&entity) {
            seen.push(entity);
        }
    }
    seen
}

fn report(pass: PassReport) -> SyncReport {
    let count = |action| pass.count(action) as i32;
    SyncReport {
        applied: pass.applied,
        updated: count(ChangeAction::Update),
        unchanged: count(ChangeAction::Unchanged),
        deactivated: count(ChangeAction::Deactivate),
        deleted: count(ChangeAction::Delete),
        ignored: count(ChangeAction::Ignore),
        not_imported: count(ChangeAction::NotImported),
        failed: count(ChangeAction::Failed),
        reactivated: count(ChangeAction::Reactivate),
        unmapped: count(ChangeAction::Unmapped),
        created: count(ChangeAction::Create),
        linked: count(ChangeAction::Link),
        unmatched: count(ChangeAction::Unmatched),
        held_back: pass.held_back.map(|reason| reason.to_string()),
        policy: pass.policy.into(),
        last_synced_at: pass.last_synced_at,
        changes: pass
            .changes
            .into_iter()
            .map(|c| SyncChange {
                remote_id: c.remote_id,
                sku: c.label,
                product_id: c.local_id.map(ids::to_id),
                action: c.action.into(),
                note: c.note,
            })
            .collect(),
    }
}
