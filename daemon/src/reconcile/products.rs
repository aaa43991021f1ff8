//! The product pass of one integration: read the remote catalogue page by page, compare it with the linked
//! local products by content hash ([`super::Planner`]), refresh what changed through the import path, and
//! apply the missing-record policy to what is gone, within the safety limits. Products are import-only: a
//! remote product that is not linked is reported, never created. `lastSyncedAt` moves only when something
//! changed, and a pass over an unchanged catalogue writes nothing.
//!
//! A remote with a cursor of its own and a deletion feed (Exact Online's Sync API and `sync/Deleted`) is
//! not read whole each time: after a first full read the pass reads only the products changed after the
//! cursor and the deletions after the feed's cursor (both kept in `sync_states`), leaves every other
//! linked product as it is, and applies the same policy and brake to what the feed says is gone. A
//! change of the product field mappings clears the changes cursor (`read_all_again`): the next pass is a
//! full read again, as every product's content is new.
//!
//! Memory: the pass holds the linked products (id, SKU, remote id and a 32-byte hash each) and, of the
//! remote, only the full records that changed or came back — never the whole catalogue — so a pass over
//! a million products stays in the hundreds of MiB (docs/BENCHMARKS.md).

mod read;

pub use super::report::{Change, ChangeAction, PassReport};

use super::cursor::{FeedCursors, cursor_text_of, save_cursor_text};
use super::{ContentHash, EntitySync, LocalRecord, MissingAction, NoRecorder, PlanLimits, Planner, Progress, Recorder};
use crate::Context;
use crate::attachments;
use crate::connect;
use crate::connectors::Capability;
use crate::error::{EngineError, EngineResult};
use crate::import::{Written, store_products};
use crate::links;
use crate::mapping::stored;
use chrono::{DateTime, SubsecRound, Utc};
use koppel_entity::enums::{GrantTarget, LinkedEntity, MissingRecordPolicy};
use koppel_entity::{Scoped, access_grant, integration, product, remote_link, sale};
use read::{Deleted, PAGE, SYNC_PAGE, Source, read_deleted, read_remote};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    TransactionTrait,
};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Whether the pass reads only what changed after the remote's own cursor, and what is gone from its
/// deletion feed (Exact Online), rather than the whole catalogue each time.
fn reads_changes(integration: &integration::Model) -> bool {
    crate::connectors::kind(&integration.kind).is_some_and(|kind| {
        kind.capabilities.contains(&Capability::DeletedRecordsFeed)
            && kind.capabilities.contains(&Capability::IncrementalSince)
    })
}

/// The integration's policy for records of `entity` gone at the remote; `deactivate` when none is stored.
pub fn missing_policy(integration: &integration::Model, entity: LinkedEntity) -> MissingRecordPolicy {
    integration.missing_policies[entity.as_str()]
        .as_str()
        .and_then(|p| serde_json::from_value(serde_json::Value::String(p.into())).ok())
        .unwrap_or(MissingRecordPolicy::Deactivate)
}

/// The plan's action for records gone at the remote under `policy`.
pub(super) fn plan_action(policy: MissingRecordPolicy) -> MissingAction {
    match policy {
        MissingRecordPolicy::Ignore => MissingAction::Ignore,
        MissingRecordPolicy::Deactivate => MissingAction::Deactivate,
        MissingRecordPolicy::Delete => MissingAction::Delete,
    }
}

/// A linked local product, as the report names it.
struct Linked {
    product_id: Uuid,
    sku: String,
    remote_id: String,
}

/// Rows read per statement when loading the linked products: a million rows fetched at once cost
/// several times their own size while the driver holds them.
const LOAD_CHUNK: u64 = 20_000;

/// The linked products of an integration and what the plan needs of each, reading only those columns,
/// in chunks. A link whose product was deleted by hand is no longer synced.
async fn linked_products(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> EngineResult<(Vec<Linked>, Vec<LocalRecord<u32>>)> {
    let linked_ids = || {
        links::of(integration, LinkedEntity::Product).select_only().column(remote_link::Column::LocalId).into_query()
    };
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
    let mut products: Vec<(Uuid, String, bool)> = Vec::new();
    loop {
        let mut select = product::Entity::find_in(integration.account_id)
            .select_only()
            .columns([product::Column::Id, product::Column::Sku, product::Column::Active])
            .filter(product::Column::Id.in_subquery(linked_ids()))
            .order_by_asc(product::Column::Id)
            .limit(LOAD_CHUNK);
        if let Some((last, _, _)) = products.last() {
            select = select.filter(product::Column::Id.gt(*last));
        }
        let chunk: Vec<(Uuid, String, bool)> = select.into_tuple().all(db).await?;
        let done = (chunk.len() as u64) < LOAD_CHUNK;
        products.extend(chunk);
        if done {
            break;
        }
    }
    // Both are read in id order: walk them side by side rather than index a million rows.
    let mut products = products.into_iter().peekable();
    let mut linked = Vec::new();
    let mut local = Vec::new();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = links::of(integration, LinkedEntity::Product)
            .select_only()
            .columns([
                remote_link::Column::LocalId,
                remote_link::Column::RemoteId,
                remote_link::Column::ContentHash,
                remote_link::Column::DeactivatedBySync,
            ])
            .order_by_asc(remote_link::Column::LocalId)
            .limit(LOAD_CHUNK);
        if let Some(last) = after {
            select = select.filter(remote_link::Column::LocalId.gt(last));
        }
        let chunk: Vec<(Uuid, String, String, bool)> = select.into_tuple().all(db).await?;
        let done = (chunk.len() as u64) < LOAD_CHUNK;
        after = chunk.last().map(|(id, _, _, _)| *id).or(after);
        for (local_id, remote_id, content_hash, deactivated_by_sync) in chunk {
            while products.next_if(|(id, _, _)| *id < local_id).is_some() {}
            let Some((_, sku, active)) = products.next_if(|(id, _, _)| *id == local_id) else { continue };
            local.push(LocalRecord {
                local_id: linked.len() as u32,
                remote_id: remote_id.clone(),
                content_hash: ContentHash::from_stored(&content_hash),
                active,
                deletable: !sold.contains(&local_id),
                deactivated_by_sync,
            });
            linked.push(Linked { product_id: local_id, sku, remote_id });
        }
        if done {
            break;
        }
    }
    Ok((linked, local))
}

/// The product pass, as the engine runs it by entity.
pub struct ProductSync;

#[async_trait::async_trait]
impl EntitySync for ProductSync {
    fn entity(&self) -> LinkedEntity {
        LinkedEntity::Product
    }

    async fn pass(
        &self,
        ctx: &Context,
        integration: &integration::Model,
        apply: bool,
        progress: &Progress,
        recorder: &dyn Recorder,
    ) -> EngineResult<PassReport> {
        reconcile_products_with(ctx, integration, apply, progress, recorder).await
    }
}

/// Runs a product pass; with `apply = false` it only says what it would do.
#[tracing::instrument(skip_all, fields(integration = %integration.id, apply))]
pub async fn reconcile_products(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
) -> EngineResult<PassReport> {
    reconcile_products_with(ctx, integration, apply, &Progress::none(), &NoRecorder).await
}

/// [`reconcile_products`], telling `progress` the records read, then how many the pass goes through,
/// and `recorder` what each committed batch wrote.
pub async fn reconcile_products_with(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
    progress: &Progress,
    recorder: &dyn Recorder,
) -> EngineResult<PassReport> {
    let db = &ctx.db;
    let connector = connect::connector_for(ctx, integration, integration.mode).await?;
    let mapping_rows = stored::load(db, integration, Some("product")).await?;
    let (mut linked, local) = linked_products(db, integration).await?;
    let mut planner = Planner::new(local);
    let fingerprint = stored::fingerprint(&mapping_rows);
    let feed = reads_changes(integration);
    let cursors = match feed {
        true => FeedCursors::parse(cursor_text_of(db, integration, LinkedEntity::Product).await?.as_deref()),
        false => FeedCursors::default(),
    };
    // Only what changed after the cursor (none when the mappings changed since: see `read_all_again`).
    let since = cursors.changes.as_deref();
    // The deletions first: a record deleted while the changes are read is read by the next pass.
    let deleted = match feed {
        true => read_deleted(connector.as_ref(), cursors.deleted.as_deref(), progress).await?,
        false => Deleted::default(),
    };
    let source = Source { since, page: if feed { SYNC_PAGE } else { PAGE }, deleted: &deleted.ids };
    let mut remote = read_remote(connector.as_ref(), source, &mut planner, &fingerprint, progress).await?;
    if since.is_some() {
        planner.leave_unlisted(|id| deleted.ids.contains(id) || remote.gone.contains(id));
    }
    let policy = missing_policy(integration, LinkedEntity::Product);
    let limits = PlanLimits {
        remote_complete: remote.complete && deleted.complete,
        max_missing_share: crate::connectors::max_removal_share(&integration.settings),
    };
    let plan = planner.finish(plan_action(policy), limits);
    if let Some(reason) = &plan.held_back {
        tracing::warn!(%reason, "sync held back");
    }

    let mut changes: Vec<Change> = Vec::with_capacity(linked.len() + plan.new_remote.len());
    // Where each product's entry is, for the changes the apply step may correct (never the unchanged).
    let mut entry_of: HashMap<Uuid, usize> = HashMap::new();
    let mut push = |changes: &mut Vec<Change>, linked: &Linked, action: ChangeAction, note: Option<String>| {
        entry_of.insert(linked.product_id, changes.len());
        changes.push(Change {
            remote_id: linked.remote_id.clone(),
            label: Some(linked.sku.clone()),
            local_id: Some(linked.product_id),
            action,
            note,
            payload: None,
        });
    };
    let reactivated: HashSet<u32> = plan.reactivate.iter().copied().collect();
    for i in &plan.reactivate {
        push(&mut changes, &linked[*i as usize], ChangeAction::Reactivate, None);
    }
    for (i, _) in &plan.update {
        if !reactivated.contains(i) {
            push(&mut changes, &linked[*i as usize], ChangeAction::Update, None);
        }
    }
    // The unchanged are the bulk of a large pass: their names move into the report rather than copied.
    for i in &plan.unchanged {
        let entry = &mut linked[*i as usize];
        changes.push(Change {
            remote_id: std::mem::take(&mut entry.remote_id),
            label: Some(std::mem::take(&mut entry.sku)),
            local_id: Some(entry.product_id),
            action: ChangeAction::Unchanged,
            note: None,
            payload: None,
        });
    }
    for (i, action) in &plan.missing {
        let (action, note) = match action {
            MissingAction::Ignore => (ChangeAction::Ignore, None),
            MissingAction::Deactivate if plan_action(policy) == MissingAction::Delete => (
                ChangeAction::Deactivate,
                Some("sales refer to it, so it is deactivated instead of deleted".to_owned()),
            ),
            MissingAction::Deactivate => (ChangeAction::Deactivate, None),
            MissingAction::Delete => (ChangeAction::Delete, None),
        };
        push(&mut changes, &linked[*i as usize], action, note);
    }
    for (remote_id, sku) in plan.new_remote.iter().zip(std::mem::take(&mut remote.new_skus)) {
        changes.push(Change {
            remote_id: remote_id.clone(),
            label: Some(sku),
            local_id: None,
            action: ChangeAction::NotImported,
            note: None,
            payload: None,
        });
    }

    // Read and planned: the records the pass goes through are known.
    progress.advanced(remote.records.min(changes.len() as u64), Some(changes.len() as u64));
    let mut last_synced_at = integration.last_synced_at;
    if apply {
        // Microseconds: what PostgreSQL stores, so that the report says what a later read says.
        let now = Utc::now().trunc_subsecs(6);
        // In batches: a large pass does not hold the database (SQLite's one write lock) for its whole
        // apply, and each batch tells what it wrote in its own transaction, so a pass cut off after some
        // batches and run again tells every change once.
        // Attachments whose content is new to the account are downloaded before any transaction opens.
        let changed = plan.update.iter().filter_map(|(i, _)| remote.changed.get(&linked[*i as usize].remote_id));
        let fetched = attachments::fetch(ctx, connector.as_ref(), integration.account_id, changed).await?;
        let mut released = Vec::new();
        let mut batch = Batch::begin(db).await?;
        let total = changes.len() as u64;
        for i in &plan.reactivate {
            let id = linked[*i as usize].product_id;
            set_active(&batch.txn, integration, id, true, now).await?;
            batch.wrote(entry_of.get(&id).copied());
            batch = batch.maybe_commit(db, &changes, recorder, integration, now, progress, total).await?;
        }
        // Refresh what changed, through the same path as an import (mappings, supplier, limits). A product
        // that the local rules refuse is reported as failed and does not stop the others.
        for (i, _) in &plan.update {
            let entry = &linked[*i as usize];
            let Some(remote_product) = remote.changed.remove(&entry.remote_id) else { continue };
            let came = serde_json::to_value(&remote_product).ok();
            let wanted = vec![(format!("product {}", remote_product.sku), remote_product)];
            let at = entry_of.get(&entry.product_id).copied();
            match store_products(&batch.txn, integration, wanted, &fetched).await {
                Ok(stored) => {
                    batch.changed = true;
                    if let Some(written) = stored.first() {
                        released.extend(written.attachments.release.iter().copied());
                    }
                    if let (Some(change), Some(Written { product: written, attachments })) =
                        (at.map(|at| &mut changes[at]), stored.first())
                    {
                        change.note = attachments.describe();
                        change.payload = Some(serde_json::json!({
                            "attachments": attachments,
                            "remote": came,
                            "written": {
                                "sku": written.sku, "name": written.name, "active": written.active,
                                "tariffs": written.tariffs, "extraFields": written.extra_fields,
                                "incentive": written.incentive, "category": written.category,
                            },
                        }));
                    }
                }
                Err(EngineError::Rejected(refused)) => {
                    if let Some(change) = at.map(|at| &mut changes[at]) {
                        change.action = ChangeAction::Failed;
                        change.note = Some(refused.0.iter().map(|p| p.message.clone()).collect::<Vec<_>>().join("; "));
                    }
                }
                Err(error) => return Err(error),
            }
            batch.wrote(at);
            batch = batch.maybe_commit(db, &changes, recorder, integration, now, progress, total).await?;
        }
        // Unchanged products are not written at all: a pass over an unchanged catalogue writes 0 rows.
        for (i, action) in &plan.missing {
            let id = linked[*i as usize].product_id;
            match action {
                MissingAction::Ignore => continue,
                MissingAction::Deactivate => set_active(&batch.txn, integration, id, false, now).await?,
                MissingAction::Delete => {
                    if remove_product(&batch.txn, integration, id, now).await? == Removed::Deactivated
                        && let Some(change) = entry_of.get(&id).map(|at| &mut changes[*at])
                    {
                        change.action = ChangeAction::Deactivate;
                        change.note = Some("sold while the pass ran, so it is deactivated instead of deleted".into());
                    }
                }
            }
            batch.changed = true;
            batch.wrote(entry_of.get(&id).copied());
            batch = batch.maybe_commit(db, &changes, recorder, integration, now, progress, total).await?;
        }
        if feed {
            // While the brake holds, neither cursor moves: the deletions (and the items no longer sold,
            // which the changes list) are read again once it is released. A product the local rules
            // refused is read again too, and so is everything when the mappings changed while the pass
            // ran (`read_all_again` cleared the changes cursor meanwhile).
            let mut next =
                FeedCursors::parse(cursor_text_of(&batch.txn, integration, LinkedEntity::Product).await?.as_deref());
            let failed = changes.iter().any(|c| c.action == ChangeAction::Failed);
            if plan.held_back.is_none() && remote.complete && !failed && next.changes == cursors.changes {
                next.changes = remote.cursor.take().or(next.changes);
            }
            if plan.held_back.is_none() && deleted.complete {
                next.deleted = deleted.cursor.or(next.deleted);
            }
            save_cursor_text(&batch.txn, integration, LinkedEntity::Product, next.text()).await?;
        }
        // The last batch; whether the pass changed something.
        if batch.commit(&changes, recorder, integration, now).await? {
            last_synced_at = Some(now);
        }
        // Files the remote replaced or removed, now that every batch committed.
        crate::files::service::release(ctx, integration.account_id, &released).await?;
        tracing::info!(
            updated = plan.update.len(),
            missing = plan.missing.len(),
            held_back = plan.held_back.is_some(),
            "products synced"
        );
    }
    Ok(PassReport { applied: apply, held_back: plan.held_back, policy, last_synced_at, changes })
}

/// Records written per transaction when a pass applies its plan.
const APPLY_BATCH: usize = 200;

/// One transaction of a pass's apply step: what it wrote, told to the recorder when it commits.
struct Batch {
    txn: DatabaseTransaction,
    /// Indices into the report's changes of the records this batch wrote.
    written: Vec<usize>,
    /// Something local changed in this batch (`lastSyncedAt` moves with it).
    changed: bool,
    /// Records written by the batches committed before this one.
    done: u64,
    /// Some batch of this pass changed something.
    any_changed: bool,
}

impl Batch {
    async fn begin(db: &impl TransactionTrait<Transaction = DatabaseTransaction>) -> EngineResult<Self> {
        Ok(Self {
            txn: crate::db::begin_write(db).await?,
            written: Vec::new(),
            changed: false,
            done: 0,
            any_changed: false,
        })
    }

    fn wrote(&mut self, change: Option<usize>) {
        if let Some(at) = change {
            self.written.push(at);
        }
    }

    /// Commits when the batch is full, and begins the next one.
    #[allow(clippy::too_many_arguments)]
    async fn maybe_commit(
        self,
        db: &impl TransactionTrait<Transaction = DatabaseTransaction>,
        changes: &[Change],
        recorder: &dyn Recorder,
        integration: &integration::Model,
        now: DateTime<Utc>,
        progress: &Progress,
        total: u64,
    ) -> EngineResult<Self> {
        if self.written.len() < APPLY_BATCH {
            return Ok(self);
        }
        let done = self.done + self.written.len() as u64;
        let any_changed = self.commit(changes, recorder, integration, now).await?;
        progress.advanced(done, Some(total));
        let mut next = Self::begin(db).await?;
        next.done = done;
        next.any_changed = any_changed;
        Ok(next)
    }

    /// Tells the recorder what the batch wrote, moves `lastSyncedAt` when it changed something, and
    /// commits; returns whether any batch so far changed something.
    async fn commit(
        self,
        changes: &[Change],
        recorder: &dyn Recorder,
        integration: &integration::Model,
        now: DateTime<Utc>,
    ) -> EngineResult<bool> {
        let written: Vec<&Change> = self.written.iter().map(|at| &changes[*at]).collect();
        recorder.written(&self.txn, &written).await?;
        if self.changed {
            integration::Entity::update_many_in(integration.account_id)
                .col_expr(integration::Column::LastSyncedAt, Expr::value(Some(now)))
                .filter(integration::Column::Id.eq(integration.id))
                .exec(&self.txn)
                .await?;
        }
        self.txn.commit().await?;
        Ok(self.any_changed || self.changed)
    }
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
