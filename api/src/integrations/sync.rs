//! Product sync for one integration: "sync now" (seed 001: *Synchroniseer nu* checks the remote in real
//! time) and its dry run, `reconcilePlan`. The pass reads the whole remote catalogue, compares it with the
//! linked local products by content hash ([`koppel_daemon::reconcile::plan`]), refreshes what changed,
//! and applies the integration's missing-record policy to what is gone, within the safety limits.
//! `lastSyncedAt` moves only when something changed.

use super::MissingRecordPolicy;
use super::mappings::load_field_mappings;
use super::remote::{link_hash, store_products};
use super::service::{self, connector_for, policies_of};
use crate::error::{ApiError, ApiResult};
use crate::graphql::{ContextExt, ids};
use crate::state::AppState;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, SubsecRound, Utc};
use koppel_daemon::connectors::{ListRequest, RemoteProduct};
use koppel_daemon::reconcile::{self, LocalRecord, MissingAction, PlanLimits, RemoteRecord};
use koppel_entity::enums::GrantTarget;
use koppel_entity::{Scoped, access_grant, integration, product, remote_link, sale};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// At most this many remote pages of 100 are read in one pass.
const MAX_PAGES: usize = 500;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
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

crate::payload!(SyncNowPayload { report: SyncReport });

#[derive(Default)]
pub struct SyncQuery;

#[Object]
impl SyncQuery {
    /// What "sync now" would do for the imported products, without doing it (admins only).
    async fn reconcile_plan(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<SyncReport> {
        let principal = ctx.principal()?.require_admin()?;
        let integration = service::find(ctx.db(), principal.account_id, &integration_id).await?;
        product_pass(ctx.state(), &integration, false).await
    }
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Checks the remote now and brings the imported products in step (admins only).
    async fn sync_now(&self, ctx: &Context<'_>, input: SyncNowInput) -> ApiResult<SyncNowPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let integration = service::find(ctx.db(), principal.account_id, &input.integration_id).await?;
        SyncNowPayload::from_result(product_pass(ctx.state(), &integration, true).await)
    }
}

/// The most of a remote catalogue one pass holds in memory; a larger one is read in part (and then
/// nothing is deactivated or deleted).
const MAX_REMOTE_BYTES: usize = 64 * 1024 * 1024;

/// Reads every remote page; a failure after the first page, a remote that sends more than it was asked
/// for, or a catalogue over the size limit gives what was read and `complete = false`.
async fn read_remote(connector: &dyn koppel_daemon::connectors::Connector) -> ApiResult<(Vec<RemoteProduct>, bool)> {
    let mut products = Vec::new();
    let mut bytes = 0usize;
    let mut after = None;
    for page_number in 0..MAX_PAGES {
        match connector.products(ListRequest { first: 100, after: after.take(), changed_since: None }).await {
            Ok(page) => {
                let oversized = page.items.len() > 100;
                bytes += page.items.iter().map(|p| serde_json::to_vec(p).map_or(0, |v| v.len())).sum::<usize>();
                products.extend(page.items);
                if oversized || bytes > MAX_REMOTE_BYTES {
                    tracing::warn!(pages = page_number + 1, bytes, "remote catalogue too large: read in part");
                    return Ok((products, false));
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => return Ok((products, true)),
                }
            }
            Err(error) if page_number == 0 => return Err(error.into()),
            Err(error) => {
                tracing::warn!(%error, pages = page_number, "remote catalogue read only in part");
                return Ok((products, false));
            }
        }
    }
    Ok((products, false))
}

fn plan_action(policy: MissingRecordPolicy) -> MissingAction {
    match policy {
        MissingRecordPolicy::Ignore => MissingAction::Ignore,
        MissingRecordPolicy::Deactivate => MissingAction::Deactivate,
        MissingRecordPolicy::Delete => MissingAction::Delete,
    }
}

pub async fn product_pass(state: &AppState, integration: &integration::Model, apply: bool) -> ApiResult<SyncReport> {
    let db = &state.db;
    let connector = connector_for(state, integration, integration.mode).await?;
    let (remote, complete) = read_remote(connector.as_ref()).await?;
    let links: HashMap<Uuid, remote_link::Model> = remote_link::Entity::find_in(integration.account_id)
        .filter(remote_link::Column::IntegrationId.eq(integration.id))
        .filter(remote_link::Column::Entity.eq("product"))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.local_id, l))
        .collect();
    let linked_ids = || {
        remote_link::Entity::find()
            .select_only()
            .column(remote_link::Column::LocalId)
            .filter(remote_link::Column::IntegrationId.eq(integration.id))
            .filter(remote_link::Column::Entity.eq("product"))
            .into_query()
    };
    let products: HashMap<Uuid, product::Model> = product::Entity::find_in(integration.account_id)
        .filter(product::Column::Id.in_subquery(linked_ids()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    // Sold products cannot be deleted: their sales keep them.
    let sold: HashSet<Uuid> = sale::Entity::find_in(integration.account_id)
        .select_only()
        .column(sale::Column::ProductId)
        .distinct()
        .filter(sale::Column::ProductId.in_subquery(linked_ids()))
        .into_tuple()
        .all(db)
        .await?
        .into_iter()
        .collect();
    // A link whose product was deleted by hand is no longer synced.
    let local: Vec<LocalRecord<Uuid>> = links
        .values()
        .filter_map(|link| {
            let product = products.get(&link.local_id)?;
            Some(LocalRecord {
                local_id: link.local_id,
                remote_id: link.remote_id.clone(),
                content_hash: link.content_hash.clone(),
                active: product.active,
                deletable: !sold.contains(&link.local_id),
            })
        })
        .collect();
    let mapping_rows = load_field_mappings(db, integration, Some("product")).await?;
    let remote_records: Vec<RemoteRecord> = remote
        .iter()
        .map(|p| RemoteRecord { remote_id: p.id.clone(), content_hash: link_hash(p, &mapping_rows) })
        .collect();
    let policy = policies_of(integration)
        .into_iter()
        .find(|p| p.entity == "product")
        .map_or(MissingRecordPolicy::Deactivate, |p| p.policy);
    let limits = PlanLimits { remote_complete: complete, ..PlanLimits::default() };
    let plan = reconcile::plan(&local, &remote_records, plan_action(policy), limits);
    if let Some(reason) = &plan.held_back {
        tracing::warn!(integration = %integration.id, reason = %reason, "sync held back");
    }

    let remote_by_id: HashMap<&str, &RemoteProduct> = remote.iter().map(|p| (p.id.as_str(), p)).collect();
    let remote_of = |local_id: Uuid| links.get(&local_id).map(|l| l.remote_id.clone()).unwrap_or_default();
    let sku_of = |local_id: Uuid| products.get(&local_id).map(|p| p.sku.clone());
    let mut changes: Vec<SyncChange> = Vec::new();
    for (id, _) in &plan.update {
        changes.push(change(remote_of(*id), sku_of(*id), Some(*id), SyncAction::Update, None));
    }
    for id in &plan.unchanged {
        changes.push(change(remote_of(*id), sku_of(*id), Some(*id), SyncAction::Unchanged, None));
    }
    for (id, action) in &plan.missing {
        let (sync_action, note) = match action {
            MissingAction::Ignore => (SyncAction::Ignore, None),
            MissingAction::Deactivate if plan_action(policy) == MissingAction::Delete => {
                (SyncAction::Deactivate, Some("sales refer to it, so it is deactivated instead of deleted".to_owned()))
            }
            MissingAction::Deactivate => (SyncAction::Deactivate, None),
            MissingAction::Delete => (SyncAction::Delete, None),
        };
        changes.push(change(remote_of(*id), sku_of(*id), Some(*id), sync_action, note));
    }
    for remote_id in &plan.new_remote {
        let sku = remote_by_id.get(remote_id.as_str()).map(|p| p.sku.clone());
        changes.push(change(remote_id.clone(), sku, None, SyncAction::NotImported, None));
    }

    let mut last_synced_at = integration.last_synced_at;
    if apply {
        // Microseconds: what PostgreSQL stores, so that the report says what a later read says.
        let now = Utc::now().trunc_subsecs(6);
        // One transaction: a pass is applied whole or not at all.
        let txn = crate::db::begin_write(db).await?;
        let mut changed = plan.missing.iter().any(|(_, action)| *action != MissingAction::Ignore);
        // Refresh what changed, through the same path as an import (mappings, supplier, limits). A product
        // that the local rules refuse is reported as failed and does not stop the others.
        for (id, _) in &plan.update {
            let Some(remote_product) = remote_by_id.get(remote_of(*id).as_str()) else { continue };
            let wanted = vec![(format!("product {}", remote_product.sku), (*remote_product).clone())];
            match store_products(&txn, integration, wanted).await {
                Ok(_) => changed = true,
                Err(ApiError::Invalid(problems)) => {
                    if let Some(entry) = changes.iter_mut().find(|c| c.product_id == Some(ids::to_id(*id))) {
                        entry.action = SyncAction::Failed;
                        entry.note = Some(problems.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; "));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        for chunk in plan.unchanged.chunks(500) {
            remote_link::Entity::update_many()
                .col_expr(remote_link::Column::LastSeenAt, Expr::value(Some(now)))
                .filter(remote_link::Column::IntegrationId.eq(integration.id))
                .filter(remote_link::Column::Entity.eq("product"))
                .filter(remote_link::Column::LocalId.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
        }
        for (id, action) in &plan.missing {
            match action {
                MissingAction::Ignore => {}
                MissingAction::Deactivate => deactivate(&txn, integration.account_id, *id, now).await?,
                MissingAction::Delete => delete_product(&txn, integration, *id).await?,
            }
        }
        if changed {
            let mut active: integration::ActiveModel = integration.clone().into();
            active.last_synced_at = Set(Some(now));
            active.update(&txn).await?;
            last_synced_at = Some(now);
        }
        txn.commit().await?;
        tracing::info!(integration = %integration.id, updated = plan.update.len(), missing = plan.missing.len(),
                       held_back = plan.held_back.is_some(), "products synced");
    }
    let count = |action: SyncAction| changes.iter().filter(|c| c.action == action).count() as i32;
    Ok(SyncReport {
        applied: apply,
        updated: count(SyncAction::Update),
        unchanged: count(SyncAction::Unchanged),
        deactivated: count(SyncAction::Deactivate),
        deleted: count(SyncAction::Delete),
        ignored: count(SyncAction::Ignore),
        not_imported: count(SyncAction::NotImported),
        failed: count(SyncAction::Failed),
        held_back: plan.held_back,
        policy,
        last_synced_at,
        changes,
    })
}

/// Deletes a product that left the remote, with its link and the grants that named it.
async fn delete_product(db: &impl ConnectionTrait, integration: &integration::Model, id: Uuid) -> ApiResult<()> {
    access_grant::Entity::delete_many()
        .filter(access_grant::Column::AccountId.eq(integration.account_id))
        .filter(access_grant::Column::Target.eq(GrantTarget::Product))
        .filter(access_grant::Column::TargetId.eq(id))
        .exec(db)
        .await?;
    remote_link::Entity::delete_many()
        .filter(remote_link::Column::IntegrationId.eq(integration.id))
        .filter(remote_link::Column::LocalId.eq(id))
        .exec(db)
        .await?;
    product::Entity::delete_many()
        .filter(product::Column::AccountId.eq(integration.account_id))
        .filter(product::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

fn change(
    remote_id: String,
    sku: Option<String>,
    product: Option<Uuid>,
    action: SyncAction,
    note: Option<String>,
) -> SyncChange {
    SyncChange { remote_id, sku, product_id: product.map(ids::to_id), action, note }
}

async fn deactivate(
    db: &impl sea_orm::ConnectionTrait,
    account_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    product::Entity::update_many()
        .col_expr(product::Column::Active, Expr::value(false))
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .filter(product::Column::AccountId.eq(account_id))
        .filter(product::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
