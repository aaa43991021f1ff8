//! The customer pass of one integration (seed 004, SnelStart): incremental from the start date, then
//! from the highest modification time seen (the `sync_states` cursor), page by page until the remote's
//! empty page. Each changed remote customer is refreshed onto its linked Koppel customer, or matched by
//! the integration's matching key and linked, or created or left for a person to link
//! (`unmatchedCustomers`). Links made by hand always win. A remote without a deletion feed shows what
//! is gone only in a full listing: when the missing-record policy acts (deactivate, delete), the pass
//! also lists every remote id since the start date and applies the policy, within the engine's brake.
//!
//! A rate limit (429) inside a pass is waited out, as long as the remote asks (at most five minutes a
//! time, ten times in a row), and the pass goes on where it was: a large first sync slows down instead
//! of failing.

use super::report::{Change, ChangeAction, PassReport};
use super::{ContentHash, EntitySync, LocalRecord, MissingAction, PlanLimits, Planner, Progress, Recorder};
use crate::Context;
use crate::connect;
use crate::connectors::{Connector, ConnectorError, ListRequest, RemoteCustomer};
use crate::error::EngineResult;
use crate::links;
use crate::matching::{self, MatchIndex, MatchingKey, RELATIE_CODE_FIELD};
use crate::reconcile::products::missing_policy;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use koppel_entity::enums::{CustomerKind, LinkedEntity, MissingRecordPolicy};
use koppel_entity::{IntegrationOwned, Scoped, customer, integration, remote_link, sale, sync_state};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, QueryFilter, QuerySelect, QueryTrait, Set,
};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;

/// SnelStart's largest page.
const PAGE: usize = 500;
/// A listing longer than this many pages is taken to never end.
const MAX_PAGES: usize = 20_000;
/// Rate-limit waits in a row before the pass gives up (and the job queue tries later).
const MAX_WAITS: u32 = 10;
/// The longest single wait for a rate limit.
const MAX_WAIT: Duration = Duration::from_secs(300);
/// Records written per transaction.
const APPLY_BATCH: usize = 200;

/// The customer pass, as the engine runs it by entity.
pub struct CustomerSync;

#[async_trait::async_trait]
impl EntitySync for CustomerSync {
    fn entity(&self) -> LinkedEntity {
        LinkedEntity::Customer
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
        reconcile_customers(ctx, integration, apply, progress, recorder).await
    }
}

/// What the integration's settings say about customers.
struct CustomerSettings {
    key: MatchingKey,
    create_unmatched: bool,
    /// The start of the start date: what changed after it is synchronised.
    start: DateTime<Utc>,
}

fn customer_settings(integration: &integration::Model) -> EngineResult<CustomerSettings> {
    let settings = &integration.settings;
    let start = settings["startDate"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| ConnectorError::Configuration("the start date is not set".into()))?;
    Ok(CustomerSettings {
        key: MatchingKey::of_settings(settings),
        create_unmatched: settings["unmatchedCustomers"] == "create",
        // Strictly after the last millisecond of the day before: the start date itself is included.
        start: start.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - chrono::Duration::milliseconds(1),
    })
}

/// Reads every page of customers changed after `since` (all when none), giving each page to `take`.
/// Returns whether the listing was read to its end; a failure on the first page fails the pass, one
/// later gives what was read. A rate limit is waited out.
async fn read_pages(
    connector: &dyn Connector,
    since: Option<DateTime<Utc>>,
    progress: &Progress,
    read_before: u64,
    mut take: impl FnMut(Vec<RemoteCustomer>),
) -> EngineResult<(bool, u64)> {
    let mut after: Option<String> = None;
    let mut records = 0u64;
    let mut waits = 0u32;
    let mut page_number = 0usize;
    while page_number < MAX_PAGES {
        let request = ListRequest { first: PAGE, after: after.clone(), changed_since: since };
        let page = match connector.customers(request).await {
            Ok(page) => page,
            Err(ConnectorError::RateLimited { retry_after_seconds }) if waits < MAX_WAITS => {
                waits += 1;
                let wait = Duration::from_secs(retry_after_seconds.max(1)).min(MAX_WAIT);
                tracing::info!(wait_seconds = wait.as_secs(), waits, "rate limited: waiting, then going on");
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(error) if page_number == 0 => return Err(error.into()),
            Err(error) => {
                tracing::warn!(%error, pages = page_number, "customers read only in part");
                return Ok((false, records));
            }
        };
        waits = 0;
        page_number += 1;
        records += page.items.len() as u64;
        take(page.items);
        progress.advanced(read_before + records, None);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok((true, records)),
        }
    }
    tracing::warn!(pages = MAX_PAGES, "customer listing did not end: read in part");
    Ok((false, records))
}

/// A linked Koppel customer.
struct Linked {
    customer_id: Uuid,
    remote_id: String,
    content_hash: String,
    label: String,
}

/// What the pass does with one changed remote customer.
enum Step {
    Unchanged,
    /// Refresh the linked customer.
    Update(Uuid),
    /// Link to this unlinked customer (found by the matching key) and refresh it.
    Link(Uuid),
    Create,
    /// Keep it for a person to link, with why.
    Review(Option<String>),
}

async fn cursor_of(db: &impl ConnectionTrait, integration: &integration::Model) -> EngineResult<Option<DateTime<Utc>>> {
    let state = sync_state::Entity::find_owned(integration.account_id, integration.id)
        .filter(sync_state::Column::Entity.eq(LinkedEntity::Customer))
        .one(db)
        .await?;
    Ok(state.and_then(|s| s.cursor).and_then(|c| DateTime::parse_from_rfc3339(&c).ok()).map(|c| c.to_utc()))
}

async fn save_cursor(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    cursor: DateTime<Utc>,
) -> EngineResult<()> {
    let text = cursor.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let state = sync_state::Entity::find_owned(integration.account_id, integration.id)
        .filter(sync_state::Column::Entity.eq(LinkedEntity::Customer))
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
                entity: Set(LinkedEntity::Customer),
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

/// Runs a customer pass; with `apply = false` it only says what it would do.
pub async fn reconcile_customers(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
    progress: &Progress,
    recorder: &dyn Recorder,
) -> EngineResult<PassReport> {
    let db = &ctx.db;
    let settings = customer_settings(integration)?;
    let connector = connect::connector_for(ctx, integration, integration.mode).await?;
    let policy = missing_policy(integration, LinkedEntity::Customer);
    let cursor = cursor_of(db, integration).await?.filter(|c| *c > settings.start);
    let from_start = cursor.is_none();

    // What changed since the cursor (the last of each id counts).
    let mut changed: Vec<RemoteCustomer> = Vec::new();
    let (changed_complete, read) =
        read_pages(connector.as_ref(), Some(cursor.unwrap_or(settings.start)), progress, 0, |page| {
            changed.extend(page)
        })
        .await?;
    let mut position: HashMap<String, usize> = HashMap::new();
    for (i, remote) in changed.iter().enumerate() {
        position.insert(remote.id.clone(), i);
    }
    let changed: Vec<RemoteCustomer> =
        changed.into_iter().enumerate().filter(|(i, r)| position[&r.id] == *i).map(|(_, r)| r).collect();
    let highest = changed.iter().filter_map(|r| r.modified_at).max();

    // Which remote ids exist, when the policy acts on the missing: the listing from the start date.
    let acts_on_missing = policy != MissingRecordPolicy::Ignore;
    let (present, present_complete) = if !acts_on_missing {
        (None, true)
    } else if from_start {
        (Some(changed.iter().map(|r| r.id.clone()).collect::<HashSet<String>>()), changed_complete)
    } else {
        let mut ids = HashSet::new();
        let (complete, _) = read_pages(connector.as_ref(), Some(settings.start), progress, read, |page| {
            ids.extend(page.into_iter().map(|r| r.id))
        })
        .await?;
        (Some(ids), complete)
    };

    let linked = linked_customers(db, integration).await?;
    let link_of: HashMap<&str, usize> = linked.iter().enumerate().map(|(i, l)| (l.remote_id.as_str(), i)).collect();
    let hands_off = matching::unlinked_by_hand(db, integration).await?;
    let needs_index = changed.iter().any(|r| !link_of.contains_key(r.id.as_str()));
    let mut index = if needs_index { Some(MatchIndex::load(db, integration, settings.key).await?) } else { None };

    let mut steps: Vec<(usize, Step)> = Vec::with_capacity(changed.len());
    for (i, remote) in changed.iter().enumerate() {
        let step = if let Some(at) = link_of.get(remote.id.as_str()) {
            let link = &linked[*at];
            if link.content_hash == remote.content_hash() { Step::Unchanged } else { Step::Update(link.customer_id) }
        } else if hands_off.contains(&remote.id) {
            Step::Review(Some("unlinked by hand: link it by hand".into()))
        } else {
            let key = settings.key.of_remote(remote);
            match (key.as_deref(), index.as_mut()) {
                (Some(value), Some(index)) => match index.unique(value) {
                    Ok(Some(found)) => {
                        index.take(value, found);
                        Step::Link(found)
                    }
                    Ok(None) if settings.create_unmatched => Step::Create,
                    Ok(None) => Step::Review(None),
                    Err(many) => Step::Review(Some(format!("{many} Koppel customers have the same {value}"))),
                },
                _ if settings.create_unmatched => Step::Create,
                _ => Step::Review(Some("it has no value for the matching key".into())),
            }
        };
        steps.push((i, step));
    }

    // What is gone: the linked customers the listing no longer shows.
    let mut missing: Vec<(usize, MissingAction)> = Vec::new();
    let mut held_back = None;
    if let Some(present) = &present {
        let sold = sold_customers(db, integration).await?;
        let active = active_customers(db, integration).await?;
        let local = linked
            .iter()
            .enumerate()
            .map(|(i, l)| LocalRecord {
                local_id: i,
                remote_id: l.remote_id.clone(),
                content_hash: ContentHash::from_stored(&l.content_hash),
                active: active.contains(&l.customer_id),
                deletable: !sold.contains(&l.customer_id),
                deactivated_by_sync: false,
            })
            .collect();
        let mut planner = Planner::new(local);
        for link in &linked {
            if present.contains(&link.remote_id) {
                planner.observe(&link.remote_id, ContentHash::from_stored(&link.content_hash));
            }
        }
        let limits = PlanLimits {
            remote_complete: present_complete,
            max_missing_share: crate::connectors::max_removal_share(&integration.settings),
        };
        let plan = planner.finish(plan_action(policy), limits);
        held_back = plan.held_back;
        missing = plan.missing;
    }

    let mut changes: Vec<Change> = Vec::with_capacity(steps.len() + missing.len());
    for (i, step) in &steps {
        let remote = &changed[*i];
        let (action, local_id, note) = match step {
            Step::Unchanged => {
                (ChangeAction::Unchanged, link_of.get(remote.id.as_str()).map(|at| linked[*at].customer_id), None)
            }
            Step::Update(id) => (ChangeAction::Update, Some(*id), None),
            Step::Link(id) => (ChangeAction::Link, Some(*id), Some(format!("matched by {}", key_name(settings.key)))),
            Step::Create => (ChangeAction::Create, None, None),
            Step::Review(why) => (ChangeAction::Unmatched, None, why.clone()),
        };
        changes.push(Change {
            remote_id: remote.id.clone(),
            label: Some(remote.label()),
            local_id,
            action,
            note,
            payload: None,
        });
    }
    for (at, action) in &missing {
        let link = &linked[*at];
        let (action, note) = match action {
            MissingAction::Ignore => (ChangeAction::Ignore, None),
            MissingAction::Deactivate if policy == MissingRecordPolicy::Delete => (
                ChangeAction::Deactivate,
                Some("sales refer to it, so it is deactivated instead of deleted".to_owned()),
            ),
            MissingAction::Deactivate => (ChangeAction::Deactivate, None),
            MissingAction::Delete => (ChangeAction::Delete, None),
        };
        changes.push(Change {
            remote_id: link.remote_id.clone(),
            label: Some(link.label.clone()),
            local_id: Some(link.customer_id),
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
        for n in 0..changes.len() {
            let remote = steps.get(n).map(|(i, _)| &changed[*i]);
            if !apply_change(&txn, integration, &mut changes[n], remote, now).await? {
                continue;
            }
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
        if !written.is_empty() {
            touch(&txn, integration, now).await?;
        }
        // The cursor moves only past a listing read to its end: the records of a page not read may be
        // older than the newest one read.
        if changed_complete && let Some(highest) = highest {
            save_cursor(&txn, integration, highest).await?;
        }
        // Relaties waiting for review that are gone at SnelStart wait no more.
        if let Some(present) = present.as_ref().filter(|_| present_complete) {
            forget_gone_matches(&txn, integration, present).await?;
        }
        txn.commit().await?;
        if any_written {
            last_synced_at = Some(now);
        }
        tracing::info!(changes = changes.len(), held_back = held_back.is_some(), "customers synced");
    }
    Ok(PassReport { applied: apply, held_back, policy, last_synced_at, changes })
}

/// Writes one change; returns whether it wrote a Koppel record (what the run's events tell as written).
async fn apply_change(
    txn: &DatabaseTransaction,
    integration: &integration::Model,
    change: &mut Change,
    remote: Option<&RemoteCustomer>,
    now: DateTime<Utc>,
) -> EngineResult<bool> {
    match (change.action, remote) {
        (ChangeAction::Update | ChangeAction::Link | ChangeAction::Create, Some(remote)) => {
            let id = write_customer(txn, integration, change.local_id, remote, now).await?;
            link(txn, integration, id, remote, now).await?;
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

fn plan_action(policy: MissingRecordPolicy) -> MissingAction {
    match policy {
        MissingRecordPolicy::Ignore => MissingAction::Ignore,
        MissingRecordPolicy::Deactivate => MissingAction::Deactivate,
        MissingRecordPolicy::Delete => MissingAction::Delete,
    }
}

fn key_name(key: MatchingKey) -> &'static str {
    match key {
        MatchingKey::Email => "e-mail address",
        MatchingKey::KvkNumber => "KvK number",
        MatchingKey::RelatieCode => "relatie code",
        MatchingKey::Name => "name",
    }
}

/// The customer links of the integration, with the names of their customers; a link whose customer
/// was deleted by hand is no longer synced.
async fn linked_customers(db: &impl ConnectionTrait, integration: &integration::Model) -> EngineResult<Vec<Linked>> {
    let links = links::of(integration, LinkedEntity::Customer).all(db).await?;
    let customers: HashMap<Uuid, customer::Model> =
        customer::Entity::find_by_ids_in(integration.account_id, links.iter().map(|l| l.local_id).collect::<Vec<_>>())
            .all(db)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
    Ok(links
        .into_iter()
        .filter_map(|l| {
            let local = customers.get(&l.local_id)?;
            Some(Linked {
                customer_id: l.local_id,
                remote_id: l.remote_id,
                content_hash: l.content_hash,
                label: matching::display_name(local),
            })
        })
        .collect())
}

/// Linked customers that sales refer to: deactivated instead of deleted.
async fn sold_customers(db: &impl ConnectionTrait, integration: &integration::Model) -> EngineResult<HashSet<Uuid>> {
    let linked_ids =
        links::of(integration, LinkedEntity::Customer).select_only().column(remote_link::Column::LocalId).into_query();
    let sold: Vec<Option<Uuid>> = sale::Entity::find_in(integration.account_id)
        .select_only()
        .column(sale::Column::CustomerId)
        .distinct()
        .filter(sale::Column::CustomerId.in_subquery(linked_ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(sold.into_iter().flatten().collect())
}

async fn active_customers(db: &impl ConnectionTrait, integration: &integration::Model) -> EngineResult<HashSet<Uuid>> {
    let linked_ids =
        links::of(integration, LinkedEntity::Customer).select_only().column(remote_link::Column::LocalId).into_query();
    let active: Vec<Uuid> = customer::Entity::find_in(integration.account_id)
        .select_only()
        .column(customer::Column::Id)
        .filter(customer::Column::Active.eq(true))
        .filter(customer::Column::Id.in_subquery(linked_ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(active.into_iter().collect())
}

/// Writes a remote customer onto a Koppel customer (a new one when `id` is none); returns its id.
/// SnelStart keeps one name: a relatie with a KvK or VAT number is a company, else a person whose
/// first word is the first name.
async fn write_customer(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    id: Option<Uuid>,
    remote: &RemoteCustomer,
    now: DateTime<Utc>,
) -> EngineResult<Uuid> {
    let existing = match id {
        Some(id) => customer::Entity::find_by_id_in(integration.account_id, id).one(db).await?,
        None => None,
    };
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
    let is_new = existing.is_none();
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
    let written = if is_new { active.insert(db).await? } else { active.update(db).await? };
    Ok(written.id)
}

/// The link of a customer written by a pass: its hash, when it was seen; a link made by hand stays one.
async fn link(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    local_id: Uuid,
    remote: &RemoteCustomer,
    now: DateTime<Utc>,
) -> EngineResult<()> {
    let existing = links::of(integration, LinkedEntity::Customer)
        .filter(remote_link::Column::RemoteId.eq(remote.id.as_str()))
        .one(db)
        .await?;
    let hash = remote.content_hash();
    let write =
        links::LinkWrite { entity: LinkedEntity::Customer, local_id, remote_id: &remote.id, content_hash: &hash };
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
async fn touch(db: &impl ConnectionTrait, integration: &integration::Model, now: DateTime<Utc>) -> EngineResult<()> {
    integration::Entity::update_many_in(integration.account_id)
        .col_expr(integration::Column::LastSyncedAt, Expr::value(Some(now)))
        .filter(integration::Column::Id.eq(integration.id))
        .exec(db)
        .await?;
    Ok(())
}

async fn forget_gone_matches(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    present: &HashSet<String>,
) -> EngineResult<()> {
    use koppel_entity::customer_match;
    let waiting = customer_match::Entity::find_owned(integration.account_id, integration.id).all(db).await?;
    let gone: Vec<Uuid> = waiting.into_iter().filter(|m| !present.contains(&m.remote_id)).map(|m| m.id).collect();
    for chunk in gone.chunks(500) {
        customer_match::Entity::delete_owned(integration.account_id, integration.id)
            .filter(customer_match::Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}
