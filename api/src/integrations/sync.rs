//! Product sync for one integration: "sync now" (seed 001: *Synchroniseer nu* checks the remote in real
//! time) and its dry run, `reconcilePlan`. The pass itself is the engine's
//! ([`koppel_daemon::reconcile::products`]); this module only authorises and shows its report.

use super::MissingRecordPolicy;
use super::service;
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, ids};
use crate::runs::SyncRun;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::reconcile::job::run_now;
use koppel_daemon::reconcile::products::{ChangeAction, PassReport, reconcile_products};
use koppel_entity::enums::RunTrigger;

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

/// What a product pass found and did.
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
    /// Why records gone at the remote were left alone (a partial read, or too many at once).
    pub held_back: Option<String>,
    pub policy: MissingRecordPolicy,
    pub last_synced_at: Option<DateTime<Utc>>,
    pub changes: Vec<SyncChange>,
}

#[derive(InputObject)]
pub struct SyncNowInput {
    pub integration_id: ID,
}

/// What `syncNow` did: the pass's report, and the run that records it (see `syncRuns`, `syncEvents`).
#[derive(SimpleObject)]
pub struct SyncNowPayload {
    pub report: Option<SyncReport>,
    pub run: Option<SyncRun>,
    pub user_errors: Vec<crate::error::UserError>,
}

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// What "sync now" would do for the imported products, without doing it (admins only).
    async fn reconcile_plan(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<SyncReport> {
        let principal = ctx.principal()?.require_admin()?;
        let id = ids::parse(&integration_id, "integration")?;
        let integration = service::find(ctx.db(), principal.account_id, id).await?;
        Ok(report(reconcile_products(&ctx.state().engine, &integration, false).await?))
    }
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Checks the remote now and brings the imported products in step (admins only).
    async fn sync_now(&self, ctx: &Context<'_>, input: SyncNowInput) -> ApiResult<SyncNowPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let id = ids::parse(&input.integration_id, "integration")?;
        let integration = service::find(ctx.db(), principal.account_id, id).await?;
        match run_now(&ctx.state().engine, &integration, RunTrigger::Manual).await.map_err(ApiError::from) {
            Ok((run, pass)) => {
                Ok(SyncNowPayload { report: Some(report(pass)), run: Some(run.into()), user_errors: Vec::new() })
            }
            Err(ApiError::Invalid(user_errors)) => Ok(SyncNowPayload { report: None, run: None, user_errors }),
            Err(error) => Err(error),
        }
    }
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
