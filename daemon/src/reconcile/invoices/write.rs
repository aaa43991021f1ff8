//! What an invoice pass writes: Koppel invoices from remote ones and their links, the customers of
//! invoices whose relatie was linked later, and the invoices gone at the remote.

use crate::connectors::RemoteInvoice;
use crate::error::EngineResult;
use crate::links;
use crate::mapping::MappingProblem;
use crate::mapping::records::RecordMapping;
use chrono::{DateTime, Utc};
use koppel_entity::enums::LinkedEntity;
use koppel_entity::{Scoped, integration, invoice, remote_link};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait, Set};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Writes a remote invoice onto its Koppel invoice (a new one, linked, when `before` is none). An
/// invoice marked removed that the remote lists again is no longer marked.
pub(super) async fn write_invoice(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    mapping: &RecordMapping,
    before: Option<&invoice::Model>,
    remote: &RemoteInvoice,
    customer_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> EngineResult<(Uuid, Vec<MappingProblem>)> {
    let (mapped, problems) = mapping.apply(&remote.fields, before.is_none());
    let mut extra_fields = before.map_or_else(|| serde_json::json!({}), |b| b.extra_fields.clone());
    RecordMapping::write_extra_fields(&mapped, &mut extra_fields);
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
    active.removed_at_remote = Set(None);
    active.extra_fields = Set(extra_fields);
    active.updated_at = Set(now);
    let written = if before.is_some() { active.update(db).await? } else { active.insert(db).await? };
    let existing = links::of(integration, LinkedEntity::Invoice)
        .filter(remote_link::Column::RemoteId.eq(remote.id.as_str()))
        .one(db)
        .await?;
    let was_removed = existing.as_ref().is_some_and(|l| l.deactivated_by_sync);
    let hash = remote.content_hash();
    let link = links::LinkWrite {
        entity: LinkedEntity::Invoice,
        local_id: written.id,
        remote_id: &remote.id,
        content_hash: &hash,
    };
    links::upsert(db, integration, link, existing, now).await?;
    if was_removed {
        set_removed(db, integration, written.id, None).await?;
    }
    Ok((written.id, problems))
}

/// New invoices and their links, written together at the end of each batch: one statement per table
/// and batch instead of four per invoice (a first sync writes them by the hundred thousand).
pub(super) struct NewInvoices {
    invoices: Vec<invoice::ActiveModel>,
    links: Vec<remote_link::ActiveModel>,
    /// The remote ids whose link lost its invoice: the new invoice's link replaces it.
    orphans: HashSet<String>,
    replaced: Vec<String>,
}

impl NewInvoices {
    pub(super) fn replacing(orphans: HashSet<String>) -> Self {
        Self { invoices: Vec::new(), links: Vec::new(), orphans, replaced: Vec::new() }
    }

    /// Adds a new Koppel invoice for `remote`, linked to it; returns its id and the fields its mappings
    /// could not map.
    pub(super) fn add(
        &mut self,
        integration: &integration::Model,
        mapping: &RecordMapping,
        remote: &RemoteInvoice,
        customer_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> (Uuid, Vec<MappingProblem>) {
        let id = Uuid::now_v7();
        let (mapped, problems) = mapping.apply(&remote.fields, true);
        let mut extra_fields = serde_json::json!({});
        RecordMapping::write_extra_fields(&mapped, &mut extra_fields);
        self.invoices.push(invoice::ActiveModel {
            id: Set(id),
            account_id: Set(integration.account_id),
            customer_id: Set(customer_id),
            remote_customer_id: Set(remote.customer_id.clone()),
            number: Set(remote.number.clone()),
            invoice_date: Set(remote.date),
            due_date: Set(remote.due_date),
            amount_cents: Set(remote.amount_cents),
            open_cents: Set(remote.open_cents),
            modified_on: Set(remote.modified_at),
            removed_at_remote: Set(None),
            extra_fields: Set(extra_fields),
            created_at: Set(now),
            updated_at: Set(now),
        });
        self.links.push(remote_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            integration_id: Set(integration.id),
            entity: Set(LinkedEntity::Invoice),
            local_id: Set(id),
            remote_id: Set(remote.id.clone()),
            content_hash: Set(remote.content_hash()),
            manual: Set(false),
            deactivated_by_sync: Set(false),
            last_seen_at: Set(Some(now)),
            last_synced_at: Set(Some(now)),
            created_at: Set(now),
        });
        if self.orphans.contains(&remote.id) {
            self.replaced.push(remote.id.clone());
        }
        (id, problems)
    }

    /// Writes what was added since the last call.
    pub(super) async fn write(
        &mut self,
        db: &impl ConnectionTrait,
        integration: &integration::Model,
    ) -> EngineResult<()> {
        if self.invoices.is_empty() {
            return Ok(());
        }
        // The link of an invoice deleted by hand is left without its invoice: the new one replaces it.
        // (Only those: a delete by a list of remote ids costs a scan where statistics are stale.)
        for chunk in std::mem::take(&mut self.replaced).chunks(500) {
            links::delete_of(integration, LinkedEntity::Invoice)
                .filter(remote_link::Column::RemoteId.is_in(chunk.iter().map(String::as_str)))
                .exec(db)
                .await?;
        }
        // 13 columns a row: 200 rows stay far below SQLite's and PostgreSQL's limits on parameters.
        for chunk in std::mem::take(&mut self.invoices).chunks(200) {
            invoice::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
        }
        for chunk in std::mem::take(&mut self.links).chunks(200) {
            remote_link::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
        }
        Ok(())
    }
}

/// Marks an invoice removed at the remote (`Some(when)`), or no longer (`None`), with its link.
pub(super) async fn set_removed(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    id: Uuid,
    removed_at: Option<DateTime<Utc>>,
) -> EngineResult<()> {
    invoice::Entity::update_many_in(integration.account_id)
        .col_expr(invoice::Column::RemovedAtRemote, Expr::value(removed_at))
        .filter(invoice::Column::Id.eq(id))
        .exec(db)
        .await?;
    links::update_of(integration, LinkedEntity::Invoice)
        .col_expr(remote_link::Column::DeactivatedBySync, Expr::value(removed_at.is_some()))
        .filter(remote_link::Column::LocalId.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes an invoice gone at the remote, with its link.
pub(super) async fn delete_invoice(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    id: Uuid,
) -> EngineResult<()> {
    links::delete_of(integration, LinkedEntity::Invoice).filter(remote_link::Column::LocalId.eq(id)).exec(db).await?;
    invoice::Entity::delete_many_in(integration.account_id).filter(invoice::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// The integration's invoices whose relatie was linked to a customer after they were written get that
/// customer.
pub(super) async fn fill_customers(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    customers: &HashMap<String, Uuid>,
) -> EngineResult<()> {
    let of_integration =
        links::of(integration, LinkedEntity::Invoice).select_only().column(remote_link::Column::LocalId).into_query();
    let waiting: Vec<(Uuid, Option<String>)> = invoice::Entity::find_in(integration.account_id)
        .select_only()
        .column(invoice::Column::Id)
        .column(invoice::Column::RemoteCustomerId)
        .filter(invoice::Column::Id.in_subquery(of_integration))
        .filter(invoice::Column::CustomerId.is_null())
        .filter(invoice::Column::RemoteCustomerId.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    for (id, remote_customer) in waiting {
        let Some(customer_id) = remote_customer.as_ref().and_then(|r| customers.get(r)) else { continue };
        invoice::Entity::update_many_in(integration.account_id)
            .col_expr(invoice::Column::CustomerId, Expr::value(Some(*customer_id)))
            .filter(invoice::Column::Id.eq(id))
            .exec(db)
            .await?;
    }
    Ok(())
}
