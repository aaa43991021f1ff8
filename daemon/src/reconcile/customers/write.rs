//! What a customer pass writes: Koppel customers from remote ones, their links, the cursor, the
//! customers gone at the remote, and the relaties waiting for review that are gone too.

use crate::connectors::RemoteCustomer;
use crate::error::EngineResult;
use crate::links;
use crate::mapping::records::{self, RecordMapping};
use crate::mapping::{MappingProblem, TargetKind};
use crate::matching::{self, RELATIE_CODE_FIELD};
use crate::reconcile::{Change, ChangeAction};
use chrono::{DateTime, Utc};
use koppel_entity::enums::{CustomerKind, LinkedEntity};
use koppel_entity::{IntegrationOwned, Scoped, customer, integration, remote_link, sync_state};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set};
use std::collections::HashSet;
use uuid::Uuid;

/// Where the incremental pass of `entity` goes on from.
pub(in crate::reconcile) async fn cursor_of(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
) -> EngineResult<Option<DateTime<Utc>>> {
    let text = cursor_text_of(db, integration, entity).await?;
    Ok(text.and_then(|c| DateTime::parse_from_rfc3339(&c).ok()).map(|c| c.to_utc()))
}

/// The stored cursor as it is: a date (SnelStart) or the remote's own cursors (Exact Online's).
pub(in crate::reconcile) async fn cursor_text_of(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
) -> EngineResult<Option<String>> {
    let state = sync_state::Entity::find_owned(integration.account_id, integration.id)
        .filter(sync_state::Column::Entity.eq(entity))
        .one(db)
        .await?;
    Ok(state.and_then(|s| s.cursor))
}

pub(in crate::reconcile) async fn save_cursor(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
    cursor: DateTime<Utc>,
) -> EngineResult<()> {
    let text = cursor.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    save_cursor_text(db, integration, entity, text).await
}

pub(in crate::reconcile) async fn save_cursor_text(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
    text: String,
) -> EngineResult<()> {
    let state = sync_state::Entity::find_owned(integration.account_id, integration.id)
        .filter(sync_state::Column::Entity.eq(entity))
        .one(db)
        .await?;
    match state {
        Some(state) => {
            let mut state: sync_state::ActiveModel = state.into();
            state.cursor = Set(Some(text));
            state.update(db).await?;
        }
        None => {
            sync_state::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(integration.account_id),
                integration_id: Set(integration.id),
                entity: Set(entity),
                last_checked_at: Set(None),
                last_synced_at: Set(None),
                cursor: Set(Some(text)),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Makes the next pass of `entity` read every record again (from the start date or the remote's first
/// cursor) instead of what changed since the last: its mappings changed. A deletion feed's cursor stays.
pub async fn read_all_again(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
) -> EngineResult<()> {
    let Some(text) = cursor_text_of(db, integration, entity).await? else {
        return Ok(());
    };
    let kept = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(mut cursors)) => {
            cursors.remove("changes");
            Some(serde_json::Value::Object(cursors).to_string())
        }
        _ => None,
    };
    sync_state::Entity::update_owned(integration.account_id, integration.id)
        .col_expr(sync_state::Column::Cursor, Expr::value(kept))
        .filter(sync_state::Column::Entity.eq(entity))
        .exec(db)
        .await?;
    Ok(())
}

/// Writes one change (a new customer into `new`, written with the batch); returns whether it wrote a
/// Koppel record (what the run's events tell as written).
pub(super) async fn apply_change(
    txn: &DatabaseTransaction,
    integration: &integration::Model,
    mapping: &RecordMapping,
    change: &mut Change,
    remote: Option<&RemoteCustomer>,
    new: &mut NewCustomers,
    now: DateTime<Utc>,
) -> EngineResult<bool> {
    match (change.action, remote) {
        (ChangeAction::Create, Some(remote)) => {
            let (id, problems) = new.add(integration, mapping, remote, now);
            change.local_id = Some(id);
            change.add_note(records::problems_note(&problems));
            change.payload = Some(serde_json::json!({ "remote": remote }));
            Ok(true)
        }
        (ChangeAction::Update | ChangeAction::Link, Some(remote)) => {
            let (id, problems) = write_customer(txn, integration, mapping, change.local_id, remote, now).await?;
            change.add_note(records::problems_note(&problems));
            link(txn, integration, id, &mapping.hash(remote.content_hash()), remote, now).await?;
            matching::reviewed(txn, integration, &remote.id).await?;
            change.local_id = Some(id);
            change.payload = Some(serde_json::json!({ "remote": remote }));
            Ok(true)
        }
        (ChangeAction::Unmatched, Some(remote)) => {
            matching::wait_for_review(txn, integration, remote).await?;
            Ok(false)
        }
        (ChangeAction::Deactivate, None) => {
            set_active(txn, integration, change.local_id.expect("a linked customer"), false, now).await?;
            Ok(true)
        }
        (ChangeAction::Delete, None) => {
            delete_customer(txn, integration, change.local_id.expect("a linked customer")).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// New customers and their links, written together at the end of each batch: one statement per table
/// and batch instead of five per customer (a first sync creates them by the ten thousand).
pub(super) struct NewCustomers {
    customers: Vec<customer::ActiveModel>,
    links: Vec<remote_link::ActiveModel>,
    remote_ids: Vec<String>,
    /// The remote ids whose link lost its customer: the new customer's link replaces it.
    orphans: HashSet<String>,
    replaced: Vec<String>,
}

impl NewCustomers {
    pub(super) fn replacing(orphans: HashSet<String>) -> Self {
        Self { customers: Vec::new(), links: Vec::new(), remote_ids: Vec::new(), orphans, replaced: Vec::new() }
    }

    /// Adds a new Koppel customer for `remote`, linked to it; returns its id and the fields its
    /// mappings could not map.
    fn add(
        &mut self,
        integration: &integration::Model,
        mapping: &RecordMapping,
        remote: &RemoteCustomer,
        now: DateTime<Utc>,
    ) -> (Uuid, Vec<MappingProblem>) {
        let (customer, problems) = customer_model(integration, mapping, None, remote, now);
        let id = *customer.id.as_ref();
        self.customers.push(customer);
        self.links.push(remote_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            integration_id: Set(integration.id),
            entity: Set(LinkedEntity::Customer),
            local_id: Set(id),
            remote_id: Set(remote.id.clone()),
            content_hash: Set(mapping.hash(remote.content_hash())),
            manual: Set(false),
            deactivated_by_sync: Set(false),
            last_seen_at: Set(Some(now)),
            last_synced_at: Set(Some(now)),
            created_at: Set(now),
        });
        self.remote_ids.push(remote.id.clone());
        if self.orphans.contains(&remote.id) {
            self.replaced.push(remote.id.clone());
        }
        (id, problems)
    }

    /// Writes what was added since the last call: the customers, their links, and the relaties no
    /// longer waiting for review.
    pub(super) async fn write(
        &mut self,
        db: &impl ConnectionTrait,
        integration: &integration::Model,
    ) -> EngineResult<()> {
        if self.customers.is_empty() {
            return Ok(());
        }
        // A link whose customer was deleted by hand is replaced by the new customer's. (Only those: a
        // delete by a list of remote ids costs a scan where statistics are stale.)
        for chunk in std::mem::take(&mut self.replaced).chunks(500) {
            links::delete_of(integration, LinkedEntity::Customer)
                .filter(remote_link::Column::RemoteId.is_in(chunk.iter().map(String::as_str)))
                .exec(db)
                .await?;
        }
        for chunk in self.remote_ids.chunks(500) {
            koppel_entity::customer_match::Entity::delete_owned(integration.account_id, integration.id)
                .filter(koppel_entity::customer_match::Column::RemoteId.is_in(chunk.iter().map(String::as_str)))
                .exec(db)
                .await?;
        }
        for chunk in std::mem::take(&mut self.customers).chunks(200) {
            customer::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
        }
        for chunk in std::mem::take(&mut self.links).chunks(200) {
            remote_link::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
        }
        self.remote_ids.clear();
        Ok(())
    }
}

/// Writes a remote customer onto a Koppel customer (a new one when `id` is none); returns its id and
/// the fields its mappings could not map.
async fn write_customer(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    mapping: &RecordMapping,
    id: Option<Uuid>,
    remote: &RemoteCustomer,
    now: DateTime<Utc>,
) -> EngineResult<(Uuid, Vec<MappingProblem>)> {
    let existing = match id {
        Some(id) => customer::Entity::find_by_id_in(integration.account_id, id).one(db).await?,
        None => None,
    };
    let is_new = existing.is_none();
    let (active, problems) = customer_model(integration, mapping, existing, remote, now);
    let written = if is_new { active.insert(db).await? } else { active.update(db).await? };
    Ok((written.id, problems))
}

/// A Koppel customer as `remote` says it is: `existing` refreshed, or a new one, then the integration's
/// customer mappings on top (create-only ones on a new customer only). SnelStart keeps one name: a
/// relatie with a KvK or VAT number is a company, else a person whose first word is the first name.
fn customer_model(
    integration: &integration::Model,
    mapping: &RecordMapping,
    existing: Option<customer::Model>,
    remote: &RemoteCustomer,
    now: DateTime<Utc>,
) -> (customer::ActiveModel, Vec<MappingProblem>) {
    let (mapped, problems) = mapping.apply(&remote.fields, existing.is_none());
    let company = remote.kvk_number.is_some() || remote.vat_number.is_some();
    let (first_name, last_name) = match remote.name.split_once(' ') {
        _ if company => (None, None),
        Some((first, last)) => (Some(first.to_owned()), Some(last.trim().to_owned())),
        None => (None, Some(remote.name.clone())),
    };
    let mut addresses: Vec<serde_json::Value> = existing
        .as_ref()
        .and_then(|c| c.addresses.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|a| remote.address.is_none() || a["kind"] != "visit")
        .collect();
    if let Some(address) = &remote.address {
        addresses.insert(0, address.clone());
    }
    let mut extra_fields = existing.as_ref().map_or_else(|| serde_json::json!({}), |c| c.extra_fields.clone());
    if let (Some(code), Some(fields)) = (&remote.code, extra_fields.as_object_mut()) {
        fields.insert(RELATIE_CODE_FIELD.into(), code.clone().into());
    }
    RecordMapping::write_extra_fields(&mapped, &mut extra_fields);
    let mut active: customer::ActiveModel = match existing {
        Some(found) => found.into(),
        None => customer::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.kind = Set(if company { CustomerKind::Company } else { CustomerKind::Person });
    active.company_name = Set(company.then(|| remote.name.clone()));
    active.first_name = Set(first_name);
    active.last_name = Set(last_name);
    active.kvk_number = Set(remote.kvk_number.clone());
    active.email = Set(remote.email.clone());
    active.phone = Set(remote.phone.clone());
    active.addresses = Set(serde_json::Value::Array(addresses));
    active.extra_fields = Set(extra_fields);
    active.active = Set(!remote.inactive);
    active.updated_at = Set(now);
    for (kind, target, value) in mapped.iter().filter(|(kind, _, _)| *kind == TargetKind::Attribute) {
        let value = Some(value.clone());
        match target.as_str() {
            "companyName" => active.company_name = Set(value),
            "firstName" => active.first_name = Set(value),
            "lastName" => active.last_name = Set(value),
            "email" => active.email = Set(value),
            "phone" => active.phone = Set(value),
            "kvkNumber" => active.kvk_number = Set(value),
            _ => tracing::debug!(?kind, target, "not a customer attribute"),
        }
    }
    (active, problems)
}

/// The link of a customer written by a pass: its hash, when it was seen; a link made by hand stays one.
async fn link(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    local_id: Uuid,
    hash: &str,
    remote: &RemoteCustomer,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let existing = links::of(integration, LinkedEntity::Customer)
        .filter(remote_link::Column::RemoteId.eq(remote.id.as_str()))
        .one(db)
        .await?;
    let write =
        links::LinkWrite { entity: LinkedEntity::Customer, local_id, remote_id: &remote.id, content_hash: hash };
    links::upsert(db, integration, write, existing, now).await?;
    Ok(())
}

async fn set_active(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    id: Uuid,
    active: bool,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    customer::Entity::update_many_in(integration.account_id)
        .col_expr(customer::Column::Active, Expr::value(active))
        .col_expr(customer::Column::UpdatedAt, Expr::value(now))
        .filter(customer::Column::Id.eq(id))
        .exec(db)
        .await?;
    links::update_of(integration, LinkedEntity::Customer)
        .col_expr(remote_link::Column::DeactivatedBySync, Expr::value(!active))
        .filter(remote_link::Column::LocalId.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

async fn delete_customer(db: &impl ConnectionTrait, integration: &integration::Model, id: Uuid) -> EngineResult<()> {
    links::delete_of(integration, LinkedEntity::Customer).filter(remote_link::Column::LocalId.eq(id)).exec(db).await?;
    customer::Entity::delete_many_in(integration.account_id).filter(customer::Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

/// Moves the integration's `lastSyncedAt`.
pub(in crate::reconcile) async fn touch(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    integration::Entity::update_many_in(integration.account_id)
        .col_expr(integration::Column::LastSyncedAt, Expr::value(Some(now)))
        .filter(integration::Column::Id.eq(integration.id))
        .exec(db)
        .await?;
    Ok(())
}

pub(super) async fn forget_gone_matches(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    is_gone: &(dyn Fn(&str) -> bool + Sync),
) -> EngineResult<()> {
    use koppel_entity::customer_match;
    let waiting = customer_match::Entity::find_owned(integration.account_id, integration.id).all(db).await?;
    let gone: Vec<Uuid> = waiting.into_iter().filter(|m| is_gone(&m.remote_id)).map(|m| m.id).collect();
    for chunk in gone.chunks(500) {
        customer_match::Entity::delete_owned(integration.account_id, integration.id)
            .filter(customer_match::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}
