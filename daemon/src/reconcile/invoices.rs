//! The invoice pass of one integration (seed 004, SnelStart's verkoopfacturen): incremental from the
//! start date, then from the highest modification time seen (the `sync_states` cursor), page by page
//! until the remote's empty page, rate limits waited out like the customer pass. Each changed remote
//! invoice is written onto its linked Koppel invoice, or onto a new one it is then linked to.
//!
//! Payments: SnelStart tells what is still open of an invoice (`openstaandSaldo`), not the payments
//! themselves; a lower open balance is a payment, told in the invoice's event (its note and payload)
//! and reflected on the invoice (paid = amount − open). An invoice's customer is the Koppel customer
//! linked to its relatie: the customer pass may run at the same time, so an invoice whose relatie was
//! not linked yet gets its customer on a later pass.

use super::customers::{Listing, cursor_of, read_pages, save_cursor, start_of, touch};
use super::report::{Change, ChangeAction, PassReport};
use super::{EntitySync, Progress, Recorder};
use crate::Context;
use crate::connect;
use crate::connectors::{Connector, ConnectorError, ListRequest, Page, RemoteInvoice};
use crate::error::EngineResult;
use crate::links;
use chrono::{DateTime, SubsecRound, Utc};
use koppel_entity::enums::{LinkedEntity, MissingRecordPolicy};
use koppel_entity::{Scoped, integration, invoice, remote_link};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect, QueryTrait, Set};
use std::collections::HashMap;
use uuid::Uuid;

/// Ids per `IN (…)` list.
const CHUNK: usize = 500;
/// Records written per transaction.
const APPLY_BATCH: usize = 200;

/// The invoice pass, as the engine runs it by entity.
pub struct InvoiceSync;

#[async_trait::async_trait]
impl EntitySync for InvoiceSync {
    fn entity(&self) -> LinkedEntity {
        LinkedEntity::Invoice
    }

    #[tracing::instrument(skip_all, fields(integration = %integration.id, apply))]
    async fn pass(
        &self,
        ctx: &Context,
        integration: &integration::Model,
        apply: bool,
        progress: &Progress,
        recorder: &dyn Recorder,
    ) -> EngineResult<PassReport> {
        reconcile_invoices(ctx, integration, apply, progress, recorder).await
    }
}

#[async_trait::async_trait]
impl Listing for InvoiceSync {
    type Item = RemoteInvoice;

    async fn page(
        &self,
        connector: &dyn Connector,
        request: ListRequest,
    ) -> Result<Page<RemoteInvoice>, ConnectorError> {
        connector.invoices(request).await
    }
}

/// Runs an invoice pass; with `apply = false` it only says what it would do.
pub async fn reconcile_invoices(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
    progress: &Progress,
    recorder: &dyn Recorder,
) -> EngineResult<PassReport> {
    let db = &ctx.db;
    let start = start_of(integration)?;
    let connector = connect::connector_for(ctx, integration, integration.mode).await?;
    let cursor = cursor_of(db, integration, LinkedEntity::Invoice).await?.filter(|c| *c > start);

    let mut changed: Vec<RemoteInvoice> = Vec::new();
    let (complete, _) =
        read_pages(InvoiceSync, connector.as_ref(), Some(cursor.unwrap_or(start)), progress, 0, |page| {
            changed.extend(page)
        })
        .await?;
    // The last of each id counts.
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, remote) in changed.iter().enumerate() {
        last.insert(remote.id.clone(), i);
    }
    let changed: Vec<RemoteInvoice> =
        changed.into_iter().enumerate().filter(|(i, r)| last[&r.id] == *i).map(|(_, r)| r).collect();
    let highest = changed.iter().filter_map(|r| r.modified_at).max();

    let linked = linked_invoices(db, integration, &changed).await?;
    let customers = linked_customers(db, integration).await?;
    let mut changes: Vec<Change> = Vec::with_capacity(changed.len());
    for remote in &changed {
        let customer_id = remote.customer_id.as_ref().and_then(|id| customers.get(id)).copied();
        let local = linked.get(&remote.id);
        let (action, note) = match local {
            None => (ChangeAction::Create, None),
            Some(local) if same(local, remote, customer_id) => (ChangeAction::Unchanged, None),
            Some(local) => (ChangeAction::Update, payment_note(local.open_cents, remote.open_cents)),
        };
        changes.push(Change {
            remote_id: remote.id.clone(),
            label: Some(remote.number.clone()),
            local_id: local.map(|l| l.id),
            action,
            note,
            payload: None,
        });
    }
    progress.advanced(changes.len() as u64, Some(changes.len() as u64));

    let mut last_synced_at = integration.last_synced_at;
    if apply {
        let now = Utc::now().trunc_subsecs(6);
        // In batches, each telling what it wrote in its own transaction (see the product pass).
        let mut txn = crate::db::begin_write(db).await?;
        let mut written: Vec<usize> = Vec::new();
        let mut any_written = false;
        for (n, remote) in changed.iter().enumerate() {
            let change = &mut changes[n];
            if !matches!(change.action, ChangeAction::Create | ChangeAction::Update) {
                continue;
            }
            let customer_id = remote.customer_id.as_ref().and_then(|id| customers.get(id)).copied();
            let before = linked.get(&remote.id);
            let id = write_invoice(&txn, integration, before, remote, customer_id, now).await?;
            change.local_id = Some(id);
            let paid = before.map(|b| b.open_cents - remote.open_cents).filter(|p| *p != 0);
            change.payload = Some(serde_json::json!({ "remote": remote, "paymentCents": paid }));
            written.push(n);
            any_written = true;
            if written.len() >= APPLY_BATCH {
                let told: Vec<&Change> = written.iter().map(|at| &changes[*at]).collect();
                recorder.written(&txn, &told).await?;
                touch(&txn, integration, now).await?;
                txn.commit().await?;
                txn = crate::db::begin_write(db).await?;
                written.clear();
            }
        }
        let told: Vec<&Change> = written.iter().map(|at| &changes[*at]).collect();
        recorder.written(&txn, &told).await?;
        fill_customers(&txn, integration, &customers).await?;
        if !written.is_empty() {
            touch(&txn, integration, now).await?;
        }
        if any_written {
            last_synced_at = Some(now);
        }
        // Only past a listing read to its end: a page not read may hold older records.
        if complete && let Some(highest) = highest {
            save_cursor(&txn, integration, LinkedEntity::Invoice, highest).await?;
        }
        txn.commit().await?;
        tracing::info!(changes = changes.len(), "invoices synced");
    }
    Ok(PassReport { applied: apply, held_back: None, policy: MissingRecordPolicy::Ignore, last_synced_at, changes })
}

/// Whether the remote invoice says what the Koppel one already does.
fn same(local: &invoice::Model, remote: &RemoteInvoice, customer_id: Option<Uuid>) -> bool {
    local.number == remote.number
        && local.invoice_date == remote.date
        && local.due_date == remote.due_date
        && local.amount_cents == remote.amount_cents
        && local.open_cents == remote.open_cents
        && local.remote_customer_id == remote.customer_id
        && (customer_id.is_none() || local.customer_id == customer_id)
}

/// A payment (the open balance went down) or a correction (it went up), as the event tells it.
fn payment_note(open_before: i64, open_now: i64) -> Option<String> {
    let euros = |cents: i64| format!("€{}.{:02}", cents / 100, (cents % 100).abs());
    match open_before - open_now {
        0 => None,
        paid if paid > 0 => Some(format!("paid {}; {} open", euros(paid), euros(open_now))),
        more => Some(format!("open balance up by {}; {} open", euros(-more), euros(open_now))),
    }
}

/// The Koppel invoices linked to the changed remote ones, by remote id.
async fn linked_invoices(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    changed: &[RemoteInvoice],
) -> EngineResult<HashMap<String, invoice::Model>> {
    let mut found = HashMap::new();
    for chunk in changed.chunks(CHUNK) {
        let ids: Vec<&str> = chunk.iter().map(|r| r.id.as_str()).collect();
        let links: HashMap<Uuid, String> = links::of(integration, LinkedEntity::Invoice)
            .filter(remote_link::Column::RemoteId.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|l| (l.local_id, l.remote_id))
            .collect();
        let invoices = invoice::Entity::find_by_ids_in(integration.account_id, links.keys().copied()).all(db).await?;
        found.extend(invoices.into_iter().filter_map(|i| Some((links.get(&i.id)?.clone(), i))));
    }
    Ok(found)
}

/// The Koppel customers linked to the integration's relaties, by relatie id.
async fn linked_customers(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> EngineResult<HashMap<String, Uuid>> {
    let links = links::of(integration, LinkedEntity::Customer).all(db).await?;
    Ok(links.into_iter().map(|l| (l.remote_id, l.local_id)).collect())
}

/// Writes a remote invoice onto its Koppel invoice (a new one, linked, when `before` is none).
async fn write_invoice(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    before: Option<&invoice::Model>,
    remote: &RemoteInvoice,
    customer_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> EngineResult<Uuid> {
    let mut active: invoice::ActiveModel = match before {
        Some(found) => found.clone().into(),
        None => invoice::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.customer_id = Set(customer_id.or(before.and_then(|b| b.customer_id)));
    active.remote_customer_id = Set(remote.customer_id.clone());
    active.number = Set(remote.number.clone());
    active.invoice_date = Set(remote.date);
    active.due_date = Set(remote.due_date);
    active.amount_cents = Set(remote.amount_cents);
    active.open_cents = Set(remote.open_cents);
    active.modified_on = Set(remote.modified_at);
    active.updated_at = Set(now);
    let written = if before.is_some() { active.update(db).await? } else { active.insert(db).await? };
    let existing = links::of(integration, LinkedEntity::Invoice)
        .filter(remote_link::Column::RemoteId.eq(remote.id.as_str()))
        .one(db)
        .await?;
    let hash = remote.content_hash();
    let link = links::LinkWrite {
        entity: LinkedEntity::Invoice,
        local_id: written.id,
        remote_id: &remote.id,
        content_hash: &hash,
    };
    links::upsert(db, integration, link, existing, now).await?;
    Ok(written.id)
}

/// The integration's invoices whose relatie was linked to a customer after they were written get that
/// customer.
async fn fill_customers(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    customers: &HashMap<String, Uuid>,
) -> EngineResult<()> {
    let of_integration =
        links::of(integration, LinkedEntity::Invoice).select_only().column(remote_link::Column::LocalId).into_query();
    let waiting: Vec<invoice::Model> = invoice::Entity::find_in(integration.account_id)
        .filter(invoice::Column::Id.in_subquery(of_integration))
        .filter(invoice::Column::CustomerId.is_null())
        .filter(invoice::Column::RemoteCustomerId.is_not_null())
        .all(db)
        .await?;
    for found in waiting {
        let Some(customer_id) = found.remote_customer_id.as_ref().and_then(|r| customers.get(r)) else { continue };
        invoice::Entity::update_many_in(integration.account_id)
            .col_expr(invoice::Column::CustomerId, Expr::value(Some(*customer_id)))
            .filter(invoice::Column::Id.eq(found.id))
            .exec(db)
            .await?;
    }
    Ok(())
}
