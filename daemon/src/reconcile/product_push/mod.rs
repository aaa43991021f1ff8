//! The product push (seed 002: products created or updated by SKU at the ERP): Koppel's products go to
//! a remote as its items, written once over the connector trait ([`Connector::find_items`],
//! [`Connector::category_id`], [`Connector::create_item`], [`Connector::update_item`]) so that every
//! ERP target runs the same steps and only speaks its own API. A kind takes products when it declares
//! [`crate::connectors::Capability::ProductPush`]; a run of [`LinkedEntity::ProductPush`] runs it.
//!
//! - **What**: the account's active products changed since the last push (a cursor on their
//!   `updated_at`, in `sync_states` like every pass's cursor), except those that come from this same
//!   integration (linked to its items by the product pass): they would go back where they came from.
//!   A configurable product is not an item: its variants are (with its description and category when
//!   they have none), and a change of it takes its variants along.
//! - **How**: every item is looked for by its code first (the SKU), so a push cut off after the ERP
//!   took an item, run again, finds it and makes no second one. A new item is made with every field;
//!   an existing one gets only the fields the integration updates on update (`itemUpdateFields`) that
//!   differ — the others are create-only. The category (Exact's item group) is found by code, and made
//!   once when the ERP has none.
//! - **Failures**: a product the ERP refuses ([`ConnectorError::Refused`]) fails alone, with the ERP's
//!   reason in its event, and the others go on; the cursor stops before the first that failed, so it
//!   is tried again at the next push (the ones after it are found unchanged). Any other error (the ERP
//!   unreachable, busy, the connection lost) stops the pass, and the job tries it again.

mod items;

use super::cursor::{cursor_of, save_cursor};
use super::report::{Change, ChangeAction, PassReport};
use super::{EntitySync, Progress, Recorder};
use crate::Context;
use crate::connect;
use crate::connectors::{Connector, ConnectorError, ItemField, OutboundItem, RemoteItem};
use crate::error::EngineResult;
use crate::links;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use items::Decision;
use koppel_entity::enums::{LinkedEntity, MissingRecordPolicy, ProductType};
use koppel_entity::{Scoped, integration, product, remote_link};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use std::collections::HashMap;
use uuid::Uuid;

/// Products looked for at the ERP at once, and told in one transaction.
const CHUNK: usize = 50;

/// The product push, as the engine runs it by entity.
pub struct ProductPush;

#[async_trait::async_trait]
impl EntitySync for ProductPush {
    fn entity(&self) -> LinkedEntity {
        LinkedEntity::ProductPush
    }

    async fn pass(
        &self,
        ctx: &Context,
        integration: &integration::Model,
        apply: bool,
        progress: &Progress,
        recorder: &dyn Recorder,
    ) -> EngineResult<PassReport> {
        push_products(ctx, integration, apply, progress, recorder).await
    }
}

/// One product to push: the product, its configurable product (for a variant), and when it counts as
/// changed (the later of its own change and its configurable product's).
struct Candidate {
    product: product::Model,
    parent: Option<product::Model>,
    changed_at: DateTime<Utc>,
}

/// Pushes the products changed since the last push; with `apply = false` it only says what it would do.
#[tracing::instrument(skip_all, fields(integration = %integration.id, apply))]
pub async fn push_products(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
    progress: &Progress,
    recorder: &dyn Recorder,
) -> EngineResult<PassReport> {
    let db = &ctx.db;
    let mut report = PassReport {
        applied: apply,
        held_back: None,
        // Nothing is removed at the ERP: a product switched off here is no longer pushed.
        policy: MissingRecordPolicy::Ignore,
        last_synced_at: None,
        changes: Vec::new(),
    };
    let cursor = cursor_of(db, integration, LinkedEntity::ProductPush).await?;
    let candidates = changed_products(db, integration, cursor).await?;
    let total = candidates.len() as u64;
    progress.advanced(0, Some(total));
    if candidates.is_empty() {
        return Ok(report);
    }
    let connector = connect::connector_for(ctx, integration, integration.mode).await?;
    let updated = ItemField::updated_on_update(&integration.settings);
    let mut categories: HashMap<String, Result<Option<String>, ConnectorError>> = HashMap::new();
    for chunk in candidates.chunks(CHUNK) {
        let from = report.changes.len();
        let outcome =
            push_chunk(connector.as_ref(), chunk, &updated, &mut categories, apply, &mut report.changes).await;
        if apply {
            // What reached the ERP is told, also when the pass stops here.
            let txn = crate::db::begin_write(db).await?;
            let told: Vec<&Change> = report.changes[from..].iter().filter(|c| written(c.action)).collect();
            recorder.written(&txn, &told).await?;
            txn.commit().await?;
        }
        outcome?;
        progress.advanced(report.changes.len() as u64, Some(total));
    }
    if apply {
        let failed_at =
            candidates.iter().zip(&report.changes).filter(|(_, c)| c.action == ChangeAction::Failed).map(|(p, _)| p);
        save_cursor(db, integration, LinkedEntity::ProductPush, next_cursor(&candidates, failed_at)).await?;
        if report.changes.iter().any(|c| matches!(c.action, ChangeAction::Create | ChangeAction::Update)) {
            report.last_synced_at = Some(Utc::now().trunc_subsecs(6));
        }
    }
    tracing::info!(
        products = report.changes.len(),
        created = report.count(ChangeAction::Create),
        updated = report.count(ChangeAction::Update),
        failed = report.count(ChangeAction::Failed),
        "products pushed"
    );
    Ok(report)
}

/// Whether the push wrote (or tried to write) the item: what a run's events tell as it goes.
fn written(action: ChangeAction) -> bool {
    matches!(action, ChangeAction::Create | ChangeAction::Update | ChangeAction::Failed)
}

/// Where the next push goes on from: after the last product read, or just before the first that failed
/// (so it is tried again).
fn next_cursor<'a>(candidates: &[Candidate], failed: impl Iterator<Item = &'a Candidate>) -> DateTime<Utc> {
    let last = candidates.iter().map(|c| c.changed_at).max().expect("some products were read");
    match failed.map(|c| c.changed_at).min() {
        Some(first_failed) => first_failed - Duration::microseconds(1),
        None => last,
    }
}

/// Pushes one chunk of products, a change per product onto `changes`. Only an error that is not the
/// ERP refusing one product is returned (the pass stops).
async fn push_chunk(
    connector: &dyn Connector,
    chunk: &[Candidate],
    updated: &[ItemField],
    categories: &mut HashMap<String, Result<Option<String>, ConnectorError>>,
    apply: bool,
    changes: &mut Vec<Change>,
) -> Result<(), ConnectorError> {
    let items: Vec<_> = chunk.iter().map(|c| items::outbound(&c.product, c.parent.as_ref())).collect();
    let codes: Vec<String> = items.iter().filter_map(|i| i.as_ref().ok()).map(|(item, _)| item.code.clone()).collect();
    let existing = if codes.is_empty() { HashMap::new() } else { connector.find_items(&codes).await? };
    for (candidate, item) in chunk.iter().zip(items) {
        let product = &candidate.product;
        let mut change = Change {
            remote_id: product.sku.trim().to_owned(),
            label: Some(product.sku.trim().to_owned()),
            local_id: Some(product.id),
            action: ChangeAction::Ignore,
            note: None,
            payload: None,
        };
        match item {
            Err(why) => {
                change.action = if why == items::CONFIGURABLE { ChangeAction::Ignore } else { ChangeAction::Failed };
                change.note = Some(why.to_owned());
            }
            Ok((mut item, category)) => {
                let outcome = async {
                    if let Some(code) = category {
                        item.values.category_id = category_of(connector, categories, &code, apply).await?;
                    }
                    push_one(connector, &item, existing.get(&item.code), updated, apply, &mut change).await
                }
                .await;
                match outcome {
                    Ok(()) => {}
                    Err(ConnectorError::Refused(why)) => {
                        change.action = ChangeAction::Failed;
                        change.note = Some(why);
                        change.payload = Some(serde_json::json!({ "item": item }));
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        changes.push(change);
    }
    Ok(())
}

/// The ERP's id of a category, asked once per pass (a refusal too: every product of it fails alike).
async fn category_of(
    connector: &dyn Connector,
    categories: &mut HashMap<String, Result<Option<String>, ConnectorError>>,
    code: &str,
    apply: bool,
) -> Result<Option<String>, ConnectorError> {
    if let Some(known) = categories.get(code) {
        return known.clone();
    }
    let found = connector.category_id(code, apply).await;
    match &found {
        Ok(_) | Err(ConnectorError::Refused(_)) => {
            categories.insert(code.to_owned(), found.clone());
        }
        Err(_) => {}
    }
    found.map_err(|error| match error {
        ConnectorError::Refused(why) => ConnectorError::Refused(format!("its category {code}: {why}")),
        other => other,
    })
}

/// Creates or updates one item (or, for a dry run, says which), setting the change's action.
async fn push_one(
    connector: &dyn Connector,
    item: &OutboundItem,
    existing: Option<&RemoteItem>,
    updated: &[ItemField],
    apply: bool,
    change: &mut Change,
) -> Result<(), ConnectorError> {
    match items::decide(item, existing, updated) {
        Decision::Create => {
            if apply {
                change.remote_id = connector.create_item(item).await?;
            }
            change.action = ChangeAction::Create;
            change.payload = Some(serde_json::json!({ "item": item }));
        }
        Decision::Update(fields) => {
            let existing = existing.expect("an update of an existing item");
            change.remote_id = existing.id.clone();
            if apply {
                connector.update_item(&existing.id, item, &fields).await?;
            }
            let names: Vec<&str> = fields.iter().map(|f| f.key()).collect();
            change.action = ChangeAction::Update;
            change.note = Some(format!("updated: {}", names.join(", ")));
            change.payload = Some(serde_json::json!({ "item": item, "fields": fields }));
        }
        Decision::Unchanged => {
            change.remote_id = existing.expect("an existing item").id.clone();
            change.action = ChangeAction::Unchanged;
        }
    }
    Ok(())
}

/// The active products of the account changed after `cursor` (every one without), oldest change first,
/// with the variants of the configurable products among them; none that this integration imported.
async fn changed_products(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    cursor: Option<DateTime<Utc>>,
) -> EngineResult<Vec<Candidate>> {
    let imported =
        links::of(integration, LinkedEntity::Product).select_only().column(remote_link::Column::LocalId).into_query();
    let products = || {
        product::Entity::find_in(integration.account_id)
            .filter(product::Column::Active.eq(true))
            .filter(product::Column::Id.not_in_subquery(imported.clone()))
    };
    let mut changed = products();
    if let Some(cursor) = cursor {
        changed = changed.filter(product::Column::UpdatedAt.gt(cursor));
    }
    let mut found: Vec<product::Model> =
        changed.order_by_asc(product::Column::UpdatedAt).order_by_asc(product::Column::Id).all(db).await?;
    // The variants of a changed configurable product change with it (its description, its category).
    let configurable: Vec<Uuid> =
        found.iter().filter(|p| p.product_type == ProductType::Configurable).map(|p| p.id).collect();
    for ids in configurable.chunks(500) {
        let variants = products().filter(product::Column::ParentId.is_in(ids.to_vec())).all(db).await?;
        for variant in variants {
            if !found.iter().any(|p| p.id == variant.id) {
                found.push(variant);
            }
        }
    }
    // Every variant's configurable product, to inherit from.
    let parent_ids: Vec<Uuid> = found.iter().filter_map(|p| p.parent_id).collect();
    let mut parents: HashMap<Uuid, product::Model> = HashMap::new();
    for ids in parent_ids.chunks(500) {
        parents.extend(
            product::Entity::find_by_ids_in(integration.account_id, ids.to_vec())
                .all(db)
                .await?
                .into_iter()
                .map(|p| (p.id, p)),
        );
    }
    let mut candidates: Vec<Candidate> = found
        .into_iter()
        .map(|product| {
            let parent = product.parent_id.and_then(|id| parents.get(&id).cloned());
            let changed_at = parent.as_ref().map_or(product.updated_at, |p| p.updated_at.max(product.updated_at));
            Candidate { product, parent, changed_at }
        })
        .collect();
    candidates.sort_by_key(|c| (c.changed_at, c.product.id));
    Ok(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::ConnectionCheck;
    use async_trait::async_trait;
    use std::sync::Mutex;

    /// An ERP in memory that refuses code `BAD`, is unreachable for `DOWN`, and notes every call.
    #[derive(Default)]
    struct Erp {
        calls: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Connector for Erp {
        async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError> {
            Ok(ConnectionCheck { identity: "erp".into() })
        }
        async fn find_items(&self, codes: &[String]) -> Result<HashMap<String, RemoteItem>, ConnectorError> {
            self.calls.lock().unwrap().push(format!("find {}", codes.join(",")));
            Ok(HashMap::new())
        }
        async fn category_id(&self, code: &str, create: bool) -> Result<Option<String>, ConnectorError> {
            self.calls.lock().unwrap().push(format!("category {code} {create}"));
            Ok(Some(format!("group-{code}")))
        }
        async fn create_item(&self, item: &OutboundItem) -> Result<String, ConnectorError> {
            self.calls.lock().unwrap().push(format!("create {}", item.code));
            match item.code.as_str() {
                "BAD" => Err(ConnectorError::Refused("Code: not like that".into())),
                "DOWN" => Err(ConnectorError::Unreachable("connection refused".into())),
                code => Ok(format!("item-{code}")),
            }
        }
    }

    fn candidate(sku: &str) -> Candidate {
        let now = Utc::now();
        let product = product::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            supplier_id: None,
            parent_id: None,
            sku: sku.into(),
            name: sku.into(),
            description: None,
            product_type: ProductType::Simple,
            category: Some("OVENS".into()),
            tariffs: serde_json::json!([]),
            extra_fields: serde_json::json!({}),
            incentive: None,
            active: true,
            authorised: true,
            created_at: now,
            updated_at: now,
        };
        Candidate { product, parent: None, changed_at: now }
    }

    async fn push(erp: &Erp, skus: &[&str]) -> (Result<(), ConnectorError>, Vec<Change>) {
        let chunk: Vec<Candidate> = skus.iter().map(|s| candidate(s)).collect();
        let (mut categories, mut changes) = (HashMap::new(), Vec::new());
        let outcome = push_chunk(erp, &chunk, &[ItemField::Price], &mut categories, true, &mut changes).await;
        (outcome, changes)
    }

    #[tokio::test]
    async fn a_refused_product_fails_alone_and_the_category_is_asked_once() {
        let erp = Erp::default();
        let (outcome, changes) = push(&erp, &["OVEN-1", "BAD", "OVEN-2"]).await;
        assert_eq!(outcome, Ok(()));
        let actions: Vec<ChangeAction> = changes.iter().map(|c| c.action).collect();
        assert_eq!(actions, [ChangeAction::Create, ChangeAction::Failed, ChangeAction::Create]);
        assert_eq!(changes[1].note.as_deref(), Some("Code: not like that"));
        assert_eq!(changes[0].remote_id, "item-OVEN-1", "the change names the item made");
        let calls = erp.calls.lock().unwrap().clone();
        assert_eq!(calls.iter().filter(|c| c.starts_with("category")).count(), 1, "{calls:?}");
        assert_eq!(calls[0], "find OVEN-1,BAD,OVEN-2", "looked for by code first, together");
    }

    #[tokio::test]
    async fn an_erp_that_cannot_be_reached_stops_the_push_after_what_it_took() {
        let erp = Erp::default();
        let (outcome, changes) = push(&erp, &["OVEN-1", "DOWN", "OVEN-2"]).await;
        assert_eq!(outcome, Err(ConnectorError::Unreachable("connection refused".into())));
        assert_eq!(changes.len(), 1, "the one made is told; the rest waits for the retry");
        assert!(!erp.calls.lock().unwrap().contains(&"create OVEN-2".to_owned()));
    }

    #[test]
    fn the_cursor_stops_before_the_first_failure() {
        let mut all = [candidate("A"), candidate("B"), candidate("C")];
        for (n, candidate) in all.iter_mut().enumerate() {
            candidate.changed_at += Duration::seconds(n as i64);
        }
        assert_eq!(next_cursor(&all, std::iter::empty()), all[2].changed_at);
        let stopped = next_cursor(&all, [&all[1], &all[2]].into_iter());
        assert!(stopped < all[1].changed_at && stopped >= all[0].changed_at, "B is read again");
    }
}
