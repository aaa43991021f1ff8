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

mod write;

pub use write::read_all_again;

use super::report::{Change, ChangeAction, PassReport};
use super::{ContentHash, EntitySync, LocalRecord, MissingAction, PlanLimits, Planner, Progress, Recorder};
use crate::Context;
use crate::connect;
use crate::connectors::{Capability, Changes, Connector, ConnectorError, ListRequest, Page, RemoteCustomer};
use crate::error::EngineResult;
use crate::links;
use crate::mapping::records::RecordMapping;
use crate::matching::{self, MatchIndex, MatchingKey};
use crate::reconcile::products::missing_policy;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use koppel_entity::enums::{LinkedEntity, MissingRecordPolicy};
use koppel_entity::{Scoped, customer, integration, remote_link, sale};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect, QueryTrait};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use uuid::Uuid;
use write::{NewCustomers, apply_change, forget_gone_matches};
pub(super) use write::{cursor_of, save_cursor, touch};
use write::{cursor_text_of, save_cursor_text};

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

/// Which list of the remote [`read_pages`] reads.
#[async_trait::async_trait]
pub(super) trait Listing: Send + Sync {
    type Item: Send;

    async fn page(&self, connector: &dyn Connector, request: ListRequest) -> Result<Page<Self::Item>, ConnectorError>;

    /// A page of the changes after the remote's own cursor `since`; remotes with a date cursor have
    /// none, and answer [`Listing::page`].
    async fn changes(
        &self,
        connector: &dyn Connector,
        _since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<Self::Item>, ConnectorError> {
        Ok(Changes { page: self.page(connector, request).await?, cursor: None })
    }
}

#[async_trait::async_trait]
impl Listing for CustomerSync {
    type Item = RemoteCustomer;

    async fn page(
        &self,
        connector: &dyn Connector,
        request: ListRequest,
    ) -> Result<Page<RemoteCustomer>, ConnectorError> {
        connector.customers(request).await
    }

    async fn changes(
        &self,
        connector: &dyn Connector,
        since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<RemoteCustomer>, ConnectorError> {
        connector.customer_changes(since, request).await
    }
}

/// The remote's deletion feed of customers ([`Capability::DeletedRecordsFeed`]): their remote ids.
struct DeletedCustomers;

#[async_trait::async_trait]
impl Listing for DeletedCustomers {
    type Item = String;

    async fn page(&self, connector: &dyn Connector, request: ListRequest) -> Result<Page<String>, ConnectorError> {
        Ok(connector.deleted(LinkedEntity::Customer, None, request.after).await?.page)
    }

    async fn changes(
        &self,
        connector: &dyn Connector,
        since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<String>, ConnectorError> {
        connector.deleted(LinkedEntity::Customer, since, request.after).await
    }
}

/// The cursors of a remote with a cursor of its own and a deletion feed (Exact Online's Timestamps),
/// stored as JSON in `sync_states.cursor`.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct FeedCursors {
    changes: Option<String>,
    deleted: Option<String>,
}

/// What the integration's settings say about customers.
struct CustomerSettings {
    key: MatchingKey,
    create_unmatched: bool,
    /// The start of the start date: what changed after it is synchronised.
    start: DateTime<Utc>,
    /// The remote has a deletion feed and a cursor of its own (Exact Online): the pass goes on from
    /// the remote's cursor and reads what is gone from the feed, instead of listing everything again.
    feed: bool,
}

fn customer_settings(integration: &integration::Model) -> EngineResult<CustomerSettings> {
    let settings = &integration.settings;
    let feed = crate::connectors::kind(&integration.kind)
        .is_some_and(|k| k.capabilities.contains(&Capability::DeletedRecordsFeed));
    Ok(CustomerSettings {
        key: MatchingKey::of_settings(settings),
        create_unmatched: settings["unmatchedCustomers"] == "create",
        // A remote with its own cursor starts at its beginning: it has no start date.
        start: if feed { DateTime::<Utc>::MIN_UTC } else { start_of(integration)? },
        feed,
    })
}

/// The integration's start date as the moment a `changed after` filter starts from: strictly after the
/// last millisecond of the day before, so the start date itself is included.
pub(super) fn start_of(integration: &integration::Model) -> EngineResult<DateTime<Utc>> {
    let start = integration.settings["startDate"]
        .as_str()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| ConnectorError::Configuration("the start date is not set".into()))?;
    Ok(start.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - chrono::Duration::milliseconds(1))
}

/// Reads every page `list` gives of the records changed after `since` (all when none), giving each
/// page to `take`. Returns whether the listing was read to its end; a failure on the first page fails
/// the pass, one later gives what was read. A rate limit is waited out.
pub(super) async fn read_pages<L: Listing>(
    listing: L,
    connector: &dyn Connector,
    since: Option<DateTime<Utc>>,
    progress: &Progress,
    read_before: u64,
    take: impl FnMut(Vec<L::Item>),
) -> EngineResult<(bool, u64)> {
    let (complete, records, _) = read_changes(listing, connector, since, None, progress, read_before, take).await?;
    Ok((complete, records))
}

/// [`read_pages`] after the remote's own cursor `cursor` too; returns also the cursor the last page
/// gave (where the next pass goes on from, once the listing was read to its end).
async fn read_changes<L: Listing>(
    listing: L,
    connector: &dyn Connector,
    since: Option<DateTime<Utc>>,
    cursor: Option<&str>,
    progress: &Progress,
    read_before: u64,
    mut take: impl FnMut(Vec<L::Item>),
) -> EngineResult<(bool, u64, Option<String>)> {
    let mut last_cursor: Option<String> = None;
    let mut after: Option<String> = None;
    let mut records = 0u64;
    let mut waits = 0u32;
    let mut page_number = 0usize;
    while page_number < MAX_PAGES {
        let request = ListRequest { first: PAGE, after: after.clone(), changed_since: since };
        let page = match listing.changes(connector, cursor, request).await {
            Ok(changes) => {
                last_cursor = changes.cursor.or(last_cursor);
                changes.page
            }
            Err(ConnectorError::RateLimited { retry_after_seconds }) if waits < MAX_WAITS => {
                waits += 1;
                let wait = Duration::from_secs(retry_after_seconds.max(1)).min(MAX_WAIT);
                tracing::info!(wait_seconds = wait.as_secs(), waits, "rate limited: waiting, then going on");
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(error) if page_number == 0 => return Err(error.into()),
            Err(error) => {
                tracing::warn!(%error, pages = page_number, "listing read only in part");
                return Ok((false, records, last_cursor));
            }
        };
        waits = 0;
        page_number += 1;
        records += page.items.len() as u64;
        take(page.items);
        progress.advanced(read_before + records, None);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok((true, records, last_cursor)),
        }
    }
    tracing::warn!(pages = MAX_PAGES, "listing did not end: read in part");
    Ok((false, records, last_cursor))
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
    let stored = cursor_text_of(db, integration, LinkedEntity::Customer).await?;
    let feed_cursors: FeedCursors = match (settings.feed, &stored) {
        (true, Some(text)) => serde_json::from_str(text).unwrap_or_default(),
        _ => FeedCursors::default(),
    };
    let cursor = match settings.feed {
        true => None,
        false => stored.and_then(|c| DateTime::parse_from_rfc3339(&c).ok()).map(|c| c.to_utc()),
    }
    .filter(|c| *c > settings.start);
    let from_start = cursor.is_none();

    // What changed since the cursor (the last of each id counts).
    let mut changed: Vec<RemoteCustomer> = Vec::new();
    let since = (!settings.feed).then(|| cursor.unwrap_or(settings.start));
    let (changed_complete, read, changes_cursor) =
        read_changes(CustomerSync, connector.as_ref(), since, feed_cursors.changes.as_deref(), progress, 0, |page| {
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
    // Or, from a deletion feed: the ids deleted since its cursor.
    let mut deleted: Option<(HashSet<String>, bool, Option<String>)> = None;
    if settings.feed {
        let mut ids = HashSet::new();
        let (complete, _, next) = read_changes(
            DeletedCustomers,
            connector.as_ref(),
            None,
            feed_cursors.deleted.as_deref(),
            progress,
            read,
            |page| ids.extend(page),
        )
        .await?;
        deleted = Some((ids, complete, next));
    }
    let (present, present_complete) = if !acts_on_missing || settings.feed {
        (None, true)
    } else if from_start {
        (Some(changed.iter().map(|r| r.id.clone()).collect::<HashSet<String>>()), changed_complete)
    } else {
        let mut ids = HashSet::new();
        let (complete, _) =
            read_pages(CustomerSync, connector.as_ref(), Some(settings.start), progress, read, |page| {
                ids.extend(page.into_iter().map(|r| r.id))
            })
            .await?;
        (Some(ids), complete)
    };

    let mapping = RecordMapping::load(db, integration, LinkedEntity::Customer).await?;
    let (linked, orphans) = linked_customers(db, integration).await?;
    let link_of: HashMap<&str, usize> = linked.iter().enumerate().map(|(i, l)| (l.remote_id.as_str(), i)).collect();
    let hands_off = matching::unlinked_by_hand(db, integration).await?;
    let needs_index = changed.iter().any(|r| !link_of.contains_key(r.id.as_str()));
    let mut index = if needs_index { Some(MatchIndex::load(db, integration, settings.key).await?) } else { None };

    let mut steps: Vec<(usize, Step)> = Vec::with_capacity(changed.len());
    for (i, remote) in changed.iter().enumerate() {
        let step = if let Some(at) = link_of.get(remote.id.as_str()) {
            let link = &linked[*at];
            if link.content_hash == mapping.hash(remote.content_hash()) {
                Step::Unchanged
            } else {
                Step::Update(link.customer_id)
            }
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
    let gone = |remote_id: &str| match (&present, &deleted) {
        (Some(present), _) => !present.contains(remote_id),
        (None, Some((ids, _, _))) => ids.contains(remote_id),
        (None, None) => false,
    };
    if present.is_some() || deleted.is_some() {
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
            if !gone(&link.remote_id) {
                planner.observe(&link.remote_id, ContentHash::from_stored(&link.content_hash));
            }
        }
        let limits = PlanLimits {
            remote_complete: present_complete && deleted.as_ref().is_none_or(|(_, complete, _)| *complete),
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
        let mut new_customers = NewCustomers::replacing(orphans);
        let mut any_written = false;
        for n in 0..changes.len() {
            let remote = steps.get(n).map(|(i, _)| &changed[*i]);
            if !apply_change(&txn, integration, &mapping, &mut changes[n], remote, &mut new_customers, now).await? {
                continue;
            }
            written.push(n);
            any_written = true;
            if written.len() >= APPLY_BATCH {
                new_customers.write(&txn, integration).await?;
                let told: Vec<&Change> = written.iter().map(|at| &changes[*at]).collect();
                recorder.written(&txn, &told).await?;
                touch(&txn, integration, now).await?;
                txn.commit().await?;
                txn = crate::db::begin_write(db).await?;
                written.clear();
            }
        }
        new_customers.write(&txn, integration).await?;
        let told: Vec<&Change> = written.iter().map(|at| &changes[*at]).collect();
        recorder.written(&txn, &told).await?;
        if !written.is_empty() {
            touch(&txn, integration, now).await?;
        }
        // The cursor moves only past a listing read to its end: the records of a page not read may be
        // older than the newest one read.
        if settings.feed {
            // Each feed's cursor moves past a feed read to its end; the deletion feed's not while the
            // brake holds deletions back (they would never be read again).
            let mut next = feed_cursors;
            if changed_complete && changes_cursor.is_some() {
                next.changes = changes_cursor;
            }
            if let Some((_, true, Some(cursor))) = &deleted
                && held_back.is_none()
            {
                next.deleted = Some(cursor.clone());
            }
            let text = serde_json::to_string(&next).expect("cursors serialise");
            save_cursor_text(&txn, integration, LinkedEntity::Customer, text).await?;
        } else if changed_complete && let Some(highest) = highest {
            save_cursor(&txn, integration, LinkedEntity::Customer, highest).await?;
        }
        // Relaties (accounts) waiting for review that are gone at the remote wait no more.
        if let Some(present) = present.as_ref().filter(|_| present_complete) {
            forget_gone_matches(&txn, integration, &|id| !present.contains(id)).await?;
        } else if let Some((ids, _, _)) = deleted.as_ref().filter(|(ids, _, _)| !ids.is_empty()) {
            forget_gone_matches(&txn, integration, &|id| ids.contains(id)).await?;
        }
        txn.commit().await?;
        if any_written {
            last_synced_at = Some(now);
        }
        tracing::info!(changes = changes.len(), held_back = held_back.is_some(), "customers synced");
    }
    Ok(PassReport { applied: apply, held_back, policy, last_synced_at, changes })
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
/// was deleted by hand is no longer synced: its remote id is in the second set, for a new customer's
/// link to replace.
async fn linked_customers(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> EngineResult<(Vec<Linked>, HashSet<String>)> {
    let links = links::of(integration, LinkedEntity::Customer).all(db).await?;
    // Through a subquery, not a list of ids: SQLite takes at most 32,766 parameters a statement, and an
    // administration may have more relaties than that (found by the benchmark, docs/BENCHMARKS.md §8).
    let linked_ids =
        links::of(integration, LinkedEntity::Customer).select_only().column(remote_link::Column::LocalId).into_query();
    let customers: HashMap<Uuid, customer::Model> = customer::Entity::find_in(integration.account_id)
        .filter(customer::Column::Id.in_subquery(linked_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let orphans = links.iter().filter(|l| !customers.contains_key(&l.local_id)).map(|l| l.remote_id.clone()).collect();
    let linked = links
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
        .collect();
    Ok((linked, orphans))
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
