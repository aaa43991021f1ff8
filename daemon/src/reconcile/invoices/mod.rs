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
//!
//! Invoices gone at the remote: SnelStart has no deletion feed, so, like the customer pass, a pass whose
//! missing-record policy acts (deactivate, the default, or delete) also lists every invoice id since the
//! start date (or, on the first pass, uses the listing it read anyway). A linked invoice that listing
//! no longer shows is marked removed (`removed_at_remote`, shown as `Invoice.removedAtRemote`) or
//! deleted, within the engine's brake (`maxRemovalPercent`); one that comes back is unmarked.

mod write;

use super::customers::{Listing, cursor_of, read_pages, save_cursor, start_of, touch};
use super::report::{Change, ChangeAction, PassReport};
use super::{ContentHash, EntitySync, LocalRecord, MissingAction, PlanLimits, Planner, Progress, Recorder};
use crate::Context;
use crate::connect;
use crate::connectors::{Connector, ConnectorError, ListRequest, Page, RemoteInvoice};
use crate::error::EngineResult;
use crate::links;
use crate::mapping::records::{RecordMapping, problems_note};
use crate::reconcile::products::missing_policy;
use chrono::{SubsecRound, Utc};
use koppel_entity::enums::{LinkedEntity, MissingRecordPolicy};
use koppel_entity::{Scoped, integration, invoice, remote_link};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect, QueryTrait};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;
use write::{NewInvoices, delete_invoice, fill_customers, set_removed, write_invoice};

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
    let policy = missing_policy(integration, LinkedEntity::Invoice);
    let cursor = cursor_of(db, integration, LinkedEntity::Invoice).await?.filter(|c| *c > start);

    let mut changed: Vec<RemoteInvoice> = Vec::new();
    let (complete, read) =
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

    // Which remote ids exist, when the policy acts on the missing: the listing from the start date.
    let (present, present_complete) = if policy == MissingRecordPolicy::Ignore {
        (None, true)
    } else if cursor.is_none() {
        (Some(changed.iter().map(|r| r.id.clone()).collect::<HashSet<String>>()), complete)
    } else {
        let mut ids = HashSet::new();
        let (listed, _) = read_pages(InvoiceSync, connector.as_ref(), Some(start), progress, read, |page| {
            ids.extend(page.into_iter().map(|r| r.id))
        })
        .await?;
        (Some(ids), listed)
    };

    let (linked, orphans) = linked_invoices(db, integration, &changed).await?;
    let customers = linked_customers(db, integration).await?;
    let mapping = RecordMapping::load(db, integration, LinkedEntity::Invoice).await?;
    let mut changes: Vec<Change> = Vec::with_capacity(changed.len());
    for remote in &changed {
        let customer_id = remote.customer_id.as_ref().and_then(|id| customers.get(id)).copied();
        let local = linked.get(&remote.id);
        let (action, note) = match local {
            None => (ChangeAction::Create, None),
            Some(local) if same(local, remote, customer_id) && mapped_same(&mapping, local, remote) => {
                (ChangeAction::Unchanged, None)
            }
            Some(local) if local.removed_at_remote.is_some() => {
                (ChangeAction::Reactivate, Some("listed at the remote again".to_owned()))
            }
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
    let written_from_remote = changes.len();
    let mut held_back = None;
    if let Some(present) = &present {
        let (missing, held) = gone(db, integration, policy, present, present_complete).await?;
        held_back = held;
        changes.extend(missing);
    }
    progress.advanced(changes.len() as u64, Some(changes.len() as u64));

    let mut last_synced_at = integration.last_synced_at;
    if apply {
        let now = Utc::now().trunc_subsecs(6);
        // In batches, each telling what it wrote in its own transaction (see the product pass).
        let mut txn = crate::db::begin_write(db).await?;
        let mut written: Vec<usize> = Vec::new();
        let mut new_invoices = NewInvoices::replacing(orphans);
        let mut any_written = false;
        for n in 0..changes.len() {
            let change = &mut changes[n];
            match change.action {
                ChangeAction::Create if n < written_from_remote => {
                    let remote = &changed[n];
                    let customer_id = remote.customer_id.as_ref().and_then(|id| customers.get(id)).copied();
                    let (id, problems) = new_invoices.add(integration, &mapping, remote, customer_id, now);
                    change.local_id = Some(id);
                    change.add_note(problems_note(&problems));
                    change.payload = Some(serde_json::json!({ "remote": remote, "paymentCents": null }));
                }
                ChangeAction::Update | ChangeAction::Reactivate if n < written_from_remote => {
                    let remote = &changed[n];
                    let customer_id = remote.customer_id.as_ref().and_then(|id| customers.get(id)).copied();
                    let before = linked.get(&remote.id);
                    let (id, problems) =
                        write_invoice(&txn, integration, &mapping, before, remote, customer_id, now).await?;
                    change.local_id = Some(id);
                    change.add_note(problems_note(&problems));
                    let paid = before.map(|b| b.open_cents - remote.open_cents).filter(|p| *p != 0);
                    change.payload = Some(serde_json::json!({ "remote": remote, "paymentCents": paid }));
                }
                ChangeAction::Deactivate => {
                    set_removed(&txn, integration, change.local_id.expect("a linked invoice"), Some(now)).await?;
                }
                ChangeAction::Delete => {
                    delete_invoice(&txn, integration, change.local_id.expect("a linked invoice")).await?;
                }
                _ => continue,
            }
            written.push(n);
            any_written = true;
            if written.len() >= APPLY_BATCH {
                new_invoices.write(&txn, integration).await?;
                let told: Vec<&Change> = written.iter().map(|at| &changes[*at]).collect();
                recorder.written(&txn, &told).await?;
                touch(&txn, integration, now).await?;
                txn.commit().await?;
                txn = crate::db::begin_write(db).await?;
                written.clear();
            }
        }
        new_invoices.write(&txn, integration).await?;
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
        tracing::info!(changes = changes.len(), held_back = held_back.is_some(), "invoices synced");
    }
    Ok(PassReport { applied: apply, held_back, policy, last_synced_at, changes })
}

/// Whether the remote invoice says what the Koppel one already does.
fn same(local: &invoice::Model, remote: &RemoteInvoice, customer_id: Option<Uuid>) -> bool {
    local.number == remote.number
        && local.invoice_date == remote.date
        && local.due_date == remote.due_date
        && local.amount_cents == remote.amount_cents
        && local.open_cents == remote.open_cents
        && local.remote_customer_id == remote.customer_id
        && local.removed_at_remote.is_none()
        && (customer_id.is_none() || local.customer_id == customer_id)
}

/// Whether the invoice's extra fields already hold what its mappings make of the remote's fields (a
/// changed mapping or remote field rewrites the invoice).
fn mapped_same(mapping: &RecordMapping, local: &invoice::Model, remote: &RemoteInvoice) -> bool {
    let (mapped, _) = mapping.apply(&remote.fields, false);
    mapped.iter().all(|(_, key, value)| local.extra_fields.get(key).and_then(|v| v.as_str()) == Some(value.as_str()))
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

/// The linked invoices the remote no longer lists (`present`), with what the policy does to each,
/// within the brake; and why nothing is done, when held back.
async fn gone(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    policy: MissingRecordPolicy,
    present: &HashSet<String>,
    present_complete: bool,
) -> EngineResult<(Vec<Change>, Option<super::HeldBack>)> {
    let links = links::of(integration, LinkedEntity::Invoice).all(db).await?;
    let of_integration =
        links::of(integration, LinkedEntity::Invoice).select_only().column(remote_link::Column::LocalId).into_query();
    let removed: HashSet<Uuid> = invoice::Entity::find_in(integration.account_id)
        .select_only()
        .column(invoice::Column::Id)
        .filter(invoice::Column::Id.in_subquery(of_integration))
        .filter(invoice::Column::RemovedAtRemote.is_not_null())
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let local = links
        .iter()
        .enumerate()
        .map(|(i, l)| LocalRecord {
            local_id: i,
            remote_id: l.remote_id.clone(),
            content_hash: ContentHash::from_stored(&l.content_hash),
            active: !removed.contains(&l.local_id),
            deletable: true,
            deactivated_by_sync: l.deactivated_by_sync,
        })
        .collect();
    let mut planner = Planner::new(local);
    for link in links.iter().filter(|l| present.contains(&l.remote_id)) {
        planner.observe(&link.remote_id, ContentHash::from_stored(&link.content_hash));
    }
    let limits = PlanLimits {
        remote_complete: present_complete,
        max_missing_share: crate::connectors::max_removal_share(&integration.settings),
    };
    let action = match policy {
        MissingRecordPolicy::Ignore => MissingAction::Ignore,
        MissingRecordPolicy::Deactivate => MissingAction::Deactivate,
        MissingRecordPolicy::Delete => MissingAction::Delete,
    };
    let plan = planner.finish(action, limits);
    // The numbers of the gone invoices, for their events.
    let ids: Vec<Uuid> = plan.missing.iter().map(|(at, _)| links[*at].local_id).collect();
    let mut numbers: HashMap<Uuid, String> = HashMap::new();
    for chunk in ids.chunks(CHUNK) {
        let found: Vec<(Uuid, String)> = invoice::Entity::find_by_ids_in(integration.account_id, chunk.to_vec())
            .select_only()
            .column(invoice::Column::Id)
            .column(invoice::Column::Number)
            .into_tuple()
            .all(db)
            .await?;
        numbers.extend(found);
    }
    let changes = plan
        .missing
        .iter()
        .filter_map(|(at, action)| {
            let link = &links[*at];
            // A link whose invoice was deleted by hand has nothing left to remove; one marked removed
            // before is not told again.
            let number = numbers.get(&link.local_id)?;
            if *action == MissingAction::Ignore && removed.contains(&link.local_id) {
                return None;
            }
            let action = match action {
                MissingAction::Ignore => ChangeAction::Ignore,
                MissingAction::Deactivate => ChangeAction::Deactivate,
                MissingAction::Delete => ChangeAction::Delete,
            };
            Some(Change {
                remote_id: link.remote_id.clone(),
                label: Some(number.clone()),
                local_id: Some(link.local_id),
                action,
                note: Some("no longer listed at the remote".to_owned()),
                payload: None,
            })
        })
        .collect();
    Ok((changes, plan.held_back))
}

/// The Koppel invoices linked to the changed remote ones, by remote id; and the remote ids whose link
/// lost its invoice (deleted by hand), which a new invoice's link replaces.
async fn linked_invoices(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    changed: &[RemoteInvoice],
) -> EngineResult<(HashMap<String, invoice::Model>, HashSet<String>)> {
    let mut found = HashMap::new();
    let mut orphans = HashSet::new();
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
        let kept: HashSet<Uuid> = invoices.iter().map(|i| i.id).collect();
        orphans.extend(links.iter().filter(|(id, _)| !kept.contains(id)).map(|(_, remote)| remote.clone()));
        found.extend(invoices.into_iter().filter_map(|i| Some((links.get(&i.id)?.clone(), i))));
    }
    Ok((found, orphans))
}

/// The Koppel customers linked to the integration's relaties, by relatie id.
async fn linked_customers(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> EngineResult<HashMap<String, Uuid>> {
    let links = links::of(integration, LinkedEntity::Customer).all(db).await?;
    Ok(links.into_iter().map(|l| (l.remote_id, l.local_id)).collect())
}
