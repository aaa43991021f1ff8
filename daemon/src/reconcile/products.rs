//! The product pass of one integration: read the whole remote catalogue, compare it with the linked local
//! products by content hash ([`super::plan`]), refresh what changed through the import path, and apply the
//! missing-record policy to what is gone, within the safety limits. Products are import-only: a remote
//! product that is not linked is reported, never created. `lastSyncedAt` moves only when something changed.

pub use super::report::{Change, ChangeAction, PassReport};

use super::{EntitySync, LocalRecord, MissingAction, PlanLimits, RemoteRecord};
use crate::Context;
use crate::connect;
use crate::connectors::{Connector, ListRequest, RemoteProduct};
use crate::error::{EngineError, EngineResult};
use crate::import::{link_hash, store_products};
use crate::links;
use crate::mapping::stored;
use chrono::{DateTime, SubsecRound, Utc};
use koppel_entity::enums::{GrantTarget, LinkedEntity, MissingRecordPolicy};
use koppel_entity::{Scoped, access_grant, integration, product, remote_link, sale};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter, QuerySelect, QueryTrait, Set,
    TransactionTrait,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// At most this many remote pages of 100 are read in one pass.
const MAX_PAGES: usize = 500;

/// The most of a remote catalogue one pass holds in memory; a larger one is read in part (and then
/// nothing is deactivated or deleted).
const MAX_REMOTE_BYTES: usize = 64 * 1024 * 1024;

/// The integration's policy for records of `entity` gone at the remote; `deactivate` when none is stored.
pub fn missing_policy(integration: &integration::Model, entity: LinkedEntity) -> MissingRecordPolicy {
    integration.missing_policies[entity.as_str()]
        .as_str()
        .and_then(|p| serde_json::from_value(serde_json::Value::String(p.into())).ok())
        .unwrap_or(MissingRecordPolicy::Deactivate)
}

fn plan_action(policy: MissingRecordPolicy) -> MissingAction {
    match policy {
        MissingRecordPolicy::Ignore => MissingAction::Ignore,
        MissingRecordPolicy::Deactivate => MissingAction::Deactivate,
        MissingRecordPolicy::Delete => MissingAction::Delete,
    }
}

/// Reads every remote page; a failure after the first page, a remote that sends more than it was asked
/// for, or a catalogue over the size limit gives what was read and `complete = false`.
async fn read_remote(connector: &dyn Connector) -> EngineResult<(Vec<RemoteProduct>, bool)> {
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

/// The product pass, as the engine runs it by entity.
pub struct ProductSync;

#[async_trait::async_trait]
impl EntitySync for ProductSync {
    fn entity(&self) -> LinkedEntity {
        LinkedEntity::Product
    }

    async fn pass(&self, ctx: &Context, integration: &integration::Model, apply: bool) -> EngineResult<PassReport> {
        reconcile_products(ctx, integration, apply).await
    }
}

/// Runs a product pass; with `apply = false` it only says what it would do.
#[tracing::instrument(skip_all, fields(integration = %integration.id, apply))]
pub async fn reconcile_products(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
) -> EngineResult<PassReport> {
    let db = &ctx.db;
    let connector = connect::connector_for(ctx, integration, integration.mode).await?;
    let (remote, complete) = read_remote(connector.as_ref()).await?;
    let links: HashMap<Uuid, remote_link::Model> =
        links::of(integration, LinkedEntity::Product).all(db).await?.into_iter().map(|l| (l.local_id, l)).collect();
    let linked_ids = || {
        links::of(integration, LinkedEntity::Product).select_only().column(remote_link::Column::LocalId).into_query()
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
                deactivated_by_sync: link.deactivated_by_sync,
            })
        })
        .collect();
    let mapping_rows = stored::load(db, integration, Some("product")).await?;
    let remote_records: Vec<RemoteRecord> = remote
        .iter()
        .map(|p| RemoteRecord { remote_id: p.id.clone(), content_hash: link_hash(p, &mapping_rows) })
        .collect();
    let policy = missing_policy(integration, LinkedEntity::Product);
    let limits = PlanLimits { remote_complete: complete, ..PlanLimits::default() };
    let plan = super::plan(&local, &remote_records, plan_action(policy), limits);
    if let Some(reason) = &plan.held_back {
        tracing::warn!(%reason, "sync held back");
    }

    let remote_by_id: HashMap<&str, &RemoteProduct> = remote.iter().map(|p| (p.id.as_str(), p)).collect();
    let remote_of = |local_id: Uuid| links.get(&local_id).map(|l| l.remote_id.clone()).unwrap_or_default();
    let sku_of = |local_id: Uuid| products.get(&local_id).map(|p| p.sku.clone());
    let change = |id: Uuid, action: ChangeAction, note: Option<String>| Change {
        remote_id: remote_of(id),
        label: sku_of(id),
        local_id: Some(id),
        action,
        note,
    };
    let mut changes: Vec<Change> = Vec::new();
    for id in &plan.reactivate {
        changes.push(change(*id, ChangeAction::Reactivate, None));
    }
    for (id, _) in &plan.update {
        if !plan.reactivate.contains(id) {
            changes.push(change(*id, ChangeAction::Update, None));
        }
    }
    for id in &plan.unchanged {
        changes.push(change(*id, ChangeAction::Unchanged, None));
    }
    for (id, action) in &plan.missing {
        let (action, note) = match action {
            MissingAction::Ignore => (ChangeAction::Ignore, None),
            MissingAction::Deactivate if plan_action(policy) == MissingAction::Delete => (
                ChangeAction::Deactivate,
                Some("sales refer to it, so it is deactivated instead of deleted".to_owned()),
            ),
            MissingAction::Deactivate => (ChangeAction::Deactivate, None),
            MissingAction::Delete => (ChangeAction::Delete, None),
        };
        changes.push(change(*id, action, note));
    }
    for remote_id in &plan.new_remote {
        let sku = remote_by_id.get(remote_id.as_str()).map(|p| p.sku.clone());
        changes.push(Change {
            remote_id: remote_id.clone(),
            label: sku,
            local_id: None,
            action: ChangeAction::NotImported,
            note: None,
        });
    }

    let mut last_synced_at = integration.last_synced_at;
    if apply {
        // Microseconds: what PostgreSQL stores, so that the report says what a later read says.
        let now = Utc::now().trunc_subsecs(6);
        // One transaction: a pass is applied whole or not at all.
        let txn = crate::db::begin_write(db).await?;
        let mut changed =
            !plan.reactivate.is_empty() || plan.missing.iter().any(|(_, action)| *action != MissingAction::Ignore);
        for id in &plan.reactivate {
            set_active(&txn, integration, *id, true, now).await?;
        }
        // Refresh what changed, through the same path as an import (mappings, supplier, limits). A product
        // that the local rules refuse is reported as failed and does not stop the others.
        for (id, _) in &plan.update {
            let Some(remote_product) = remote_by_id.get(remote_of(*id).as_str()) else { continue };
            let wanted = vec![(format!("product {}", remote_product.sku), (*remote_product).clone())];
            match store_products(&txn, integration, wanted).await {
                Ok(_) => changed = true,
                Err(EngineError::Rejected(refused)) => {
                    if let Some(entry) = changes.iter_mut().find(|c| c.local_id == Some(*id)) {
                        entry.action = ChangeAction::Failed;
                        entry.note = Some(refused.0.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; "));
                    }
                }
                Err(error) => return Err(error),
            }
        }
        for chunk in plan.unchanged.chunks(500) {
            links::update_of(integration, LinkedEntity::Product)
                .col_expr(remote_link::Column::LastSeenAt, Expr::value(Some(now)))
                .filter(remote_link::Column::LocalId.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
        }
        for (id, action) in &plan.missing {
            match action {
                MissingAction::Ignore => {}
                MissingAction::Deactivate => set_active(&txn, integration, *id, false, now).await?,
                MissingAction::Delete => {
                    if remove_product(&txn, integration, *id, now).await? == Removed::Deactivated
                        && let Some(entry) = changes.iter_mut().find(|c| c.local_id == Some(*id))
                    {
                        entry.action = ChangeAction::Deactivate;
                        entry.note = Some("sold while the pass ran, so it is deactivated instead of deleted".into());
                    }
                }
            }
        }
        if changed {
            let mut active: integration::ActiveModel = integration.clone().into();
            active.last_synced_at = Set(Some(now));
            active.update(&txn).await?;
            last_synced_at = Some(now);
        }
        txn.commit().await?;
        tracing::info!(
            updated = plan.update.len(),
            missing = plan.missing.len(),
            held_back = plan.held_back.is_some(),
            "products synced"
        );
    }
    Ok(PassReport { applied: apply, held_back: plan.held_back, policy, last_synced_at, changes })
}

/// What became of a product the policy deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Deleted,
    /// Sold since the pass read the sales: the sale keeps it, so it is switched off instead.
    Deactivated,
}

/// Deletes a product that left the remote, with its link and the grants that named it. A product sold
/// between the plan and the delete (the foreign key refuses) is deactivated instead, within a savepoint,
/// so that the rest of the pass goes on.
pub async fn remove_product(
    txn: &DatabaseTransaction,
    integration: &integration::Model,
    id: Uuid,
    now: DateTime<Utc>,
) -> EngineResult<Removed> {
    let savepoint = txn.begin().await?;
    match delete_product(&savepoint, integration, id).await {
        Ok(()) => {
            savepoint.commit().await?;
            Ok(Removed::Deleted)
        }
        Err(EngineError::Database(error)) if crate::db::is_foreign_key_violation(&error) => {
            savepoint.rollback().await?;
            tracing::info!(product = %id, "sold while the pass ran: deactivated instead of deleted");
            set_active(txn, integration, id, false, now).await?;
            Ok(Removed::Deactivated)
        }
        Err(error) => Err(error),
    }
}

async fn delete_product(db: &impl ConnectionTrait, integration: &integration::Model, id: Uuid) -> EngineResult<()> {
    access_grant::Entity::delete_many_in(integration.account_id)
        .filter(access_grant::Column::Target.eq(GrantTarget::Product))
        .filter(access_grant::Column::TargetId.eq(id))
        .exec(db)
        .await?;
    links::delete_of(integration, LinkedEntity::Product).filter(remote_link::Column::LocalId.eq(id)).exec(db).await?;
    product::Entity::delete_many_in(integration.account_id).filter(product::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// Switches a linked product on or off on behalf of the remote, and says so on its link: a product
/// the pass switched off is switched on again when it comes back; one a person switched off is not.
async fn set_active(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    id: Uuid,
    active: bool,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    product::Entity::update_many_in(integration.account_id)
        .col_expr(product::Column::Active, Expr::value(active))
        .col_expr(product::Column::UpdatedAt, Expr::value(now))
        .filter(product::Column::Id.eq(id))
        .exec(db)
        .await?;
    links::update_of(integration, LinkedEntity::Product)
        .col_expr(remote_link::Column::DeactivatedBySync, Expr::value(!active))
        .filter(remote_link::Column::LocalId.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
