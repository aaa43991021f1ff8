//! What a product pass reads of the remote: the whole catalogue page by page, or, for a remote with a
//! cursor of its own and a deletion feed (Exact Online's Sync API), only the products changed after the
//! cursor. A record the deletion feed names is gone whatever the listing shows (it may have changed
//! before it was deleted), and so is one the remote lists as no longer for Koppel (an item no longer
//! sold).

use super::super::listing::{DeletedRecords, read_changes};
use super::super::{Observed, Planner, Progress};
use crate::connectors::{ChangedRecord, Connector, ListRequest, RemoteProduct};
use crate::error::EngineResult;
use crate::import::link_hash;
use koppel_entity::enums::LinkedEntity;
use std::collections::{HashMap, HashSet};

/// The page size a pass asks for of a remote without a cursor of its own.
pub(super) const PAGE: usize = 100;

/// The page size of a remote with a cursor of its own: Exact's Sync API answers 1000 rows a page,
/// whatever is asked.
pub(super) const SYNC_PAGE: usize = 1000;

/// A remote listing longer than this many pages (10 million products) is taken to never end: read in
/// part, so nothing is deactivated or deleted.
const MAX_PAGES: usize = 100_000;

/// The most of the changed remote records one pass holds in memory (unchanged ones are not held); past
/// it the catalogue is read in part (and then nothing is deactivated or deleted), and the rest is
/// refreshed by the next pass.
const MAX_CHANGED_BYTES: usize = 64 * 1024 * 1024;

/// What the remote's deletion feed says of products.
pub(super) struct Deleted {
    /// The remote ids of the products deleted after the feed's cursor.
    pub ids: HashSet<String>,
    /// The feed was read to its end.
    pub complete: bool,
    /// Where the feed goes on from next time.
    pub cursor: Option<String>,
}

/// Nothing deleted: a remote without a deletion feed.
impl Default for Deleted {
    fn default() -> Self {
        Self { ids: HashSet::new(), complete: true, cursor: None }
    }
}

/// Reads the deletion feed of products after its cursor `from` (from its beginning when none).
pub(super) async fn read_deleted(
    connector: &dyn Connector,
    from: Option<&str>,
    progress: &Progress,
) -> EngineResult<Deleted> {
    let mut ids = HashSet::new();
    let feed = DeletedRecords(LinkedEntity::Product);
    let (complete, _, cursor) = read_changes(feed, connector, None, from, progress, 0, |page| ids.extend(page)).await?;
    Ok(Deleted { ids, complete, cursor })
}

/// Which listing a pass reads.
pub(super) struct Source<'a> {
    /// The remote's own cursor: only what changed after it is listed. None: the whole catalogue.
    pub since: Option<&'a str>,
    /// The page size to ask for; a page longer than that is read in part (a remote that does not page).
    pub page: usize,
    /// Remote ids the deletion feed named: gone, whatever the listing shows.
    pub deleted: &'a HashSet<String>,
}

/// What a pass keeps of the remote catalogue.
pub(super) struct RemoteRead {
    /// Every page was read, and no limit cut the read short.
    pub complete: bool,
    /// The remote records that changed or came back, by remote id: all the pass needs in full.
    pub changed: HashMap<String, RemoteProduct>,
    /// The SKUs of the records with no local twin, in the order of [`super::super::Plan::new_remote`].
    pub new_skus: Vec<String>,
    /// How many remote records were read.
    pub records: u64,
    /// The remote's cursor after the last page read (a remote with one of its own).
    pub cursor: Option<String>,
    /// Remote ids the listing showed gone for Koppel.
    pub gone: HashSet<String>,
}

/// Reads every remote page into the planner; a failure after the first page, a remote that sends more
/// than it was asked for, a listing that does not end, or more changed records than the pass may hold
/// give what was read and `complete = false`.
pub(super) async fn read_remote(
    connector: &dyn Connector,
    source: Source<'_>,
    planner: &mut Planner<u32>,
    mapping_fingerprint: &[u8],
    progress: &Progress,
) -> EngineResult<RemoteRead> {
    let mut read = RemoteRead {
        complete: false,
        changed: HashMap::new(),
        new_skus: Vec::new(),
        records: 0,
        cursor: None,
        gone: HashSet::new(),
    };
    let mut changed_bytes = 0usize;
    let mut after = None;
    for page_number in 0..MAX_PAGES {
        let request = ListRequest { first: source.page, after: after.take(), changed_since: None };
        let changes = match connector.product_changes(source.since, request).await {
            Ok(changes) => changes,
            Err(error) if page_number == 0 => return Err(error.into()),
            Err(error) => {
                tracing::warn!(%error, pages = page_number, "remote catalogue read only in part");
                return Ok(read);
            }
        };
        read.cursor = changes.cursor.or(read.cursor.take());
        let page = changes.page;
        let oversized = page.items.len() > source.page;
        read.records += page.items.len() as u64;
        for record in page.items {
            let product = match record {
                ChangedRecord::Present(product) if !source.deleted.contains(&product.id) => product,
                ChangedRecord::Present(_) => continue,
                ChangedRecord::Gone(id) => {
                    read.gone.insert(id);
                    continue;
                }
            };
            let hash = link_hash(&product, mapping_fingerprint);
            match planner.observe(&product.id, hash) {
                Observed::Changed => {
                    changed_bytes += serde_json::to_vec(&product).map_or(0, |v| v.len());
                    read.changed.insert(product.id.clone(), product);
                }
                Observed::New => read.new_skus.push(product.sku),
                Observed::Unchanged | Observed::Repeated => {}
            }
        }
        progress.advanced(read.records, None);
        if oversized || changed_bytes > MAX_CHANGED_BYTES {
            tracing::warn!(pages = page_number + 1, changed_bytes, oversized, "remote catalogue read in part");
            return Ok(read);
        }
        match page.next {
            Some(next) => after = Some(next),
            None => {
                read.complete = true;
                return Ok(read);
            }
        }
    }
    tracing::warn!(pages = MAX_PAGES, "remote catalogue did not end: read in part");
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::Changes;
    use crate::connectors::{ConnectionCheck, ConnectorError, Page};
    use crate::mapping::stored;
    use crate::reconcile::{ContentHash, HeldBack, LocalRecord, MissingAction, Plan, PlanLimits};
    use async_trait::async_trait;

    /// A remote of `pages` pages of one product each, failing at page `fail_at` when given.
    struct Listing {
        pages: usize,
        fail_at: Option<usize>,
        per_page: usize,
    }

    fn product(n: usize) -> RemoteProduct {
        RemoteProduct {
            id: format!("r{n}"),
            sku: format!("S{n}"),
            name: "p".into(),
            description: None,
            product_type: "simple".into(),
            category: None,
            tariffs: Vec::new(),
            fields: Default::default(),
            incentive: None,
            supplier: None,
            updated_at: None,
            attachments: Vec::new(),
        }
    }

    #[async_trait]
    impl Connector for Listing {
        async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError> {
            unreachable!()
        }

        async fn products(&self, request: ListRequest) -> Result<Page<RemoteProduct>, ConnectorError> {
            let page: usize = request.after.map_or(0, |a| a.parse().unwrap());
            if self.fail_at == Some(page) {
                return Err(ConnectorError::Timeout);
            }
            Ok(Page {
                items: (0..self.per_page).map(|k| product(page * self.per_page + k)).collect(),
                next: (page + 1 < self.pages).then(|| (page + 1).to_string()),
            })
        }
    }

    /// The whole catalogue, no deletions known.
    fn catalogue(none: &HashSet<String>) -> Source<'_> {
        Source { since: None, page: PAGE, deleted: none }
    }

    async fn read(listing: Listing, linked: usize) -> (RemoteRead, Plan<u32>) {
        let none = HashSet::new();
        let fingerprint = stored::fingerprint(&[]);
        let local = (0..linked)
            .map(|n| LocalRecord {
                local_id: n as u32,
                remote_id: format!("r{n}"),
                content_hash: link_hash(&product(n), &fingerprint),
                active: true,
                deletable: true,
                deactivated_by_sync: false,
            })
            .collect();
        let mut planner = Planner::new(local);
        let read =
            read_remote(&listing, catalogue(&none), &mut planner, &fingerprint, &Progress::none()).await.expect("read");
        let limits = PlanLimits { remote_complete: read.complete, ..PlanLimits::default() };
        (read, planner.finish(MissingAction::Delete, limits))
    }

    #[tokio::test]
    async fn a_read_that_fails_part_way_deletes_nothing_and_keeps_only_what_changed() {
        let (read, plan) = read(Listing { pages: 10, fail_at: Some(6), per_page: 1 }, 10).await;
        assert!(!read.complete);
        assert!(read.changed.is_empty(), "unchanged records are not held");
        assert_eq!(plan.unchanged.len(), 6);
        assert_eq!(plan.held_back, Some(HeldBack::PartialRead));
        assert!(plan.missing.iter().all(|(_, action)| *action == MissingAction::Ignore));
        // The first page failing fails the pass.
        let fingerprint = stored::fingerprint(&[]);
        let mut planner = Planner::<u32>::new(Vec::new());
        let none = HashSet::new();
        let failing = Listing { pages: 10, fail_at: Some(0), per_page: 1 };
        assert!(read_remote(&failing, catalogue(&none), &mut planner, &fingerprint, &Progress::none()).await.is_err());
    }

    #[tokio::test]
    async fn a_complete_read_of_many_pages_acts_on_what_is_gone() {
        let (read, plan) = read(Listing { pages: 1200, fail_at: None, per_page: 1 }, 1201).await;
        assert!(read.complete, "longer than the old cap of 500 pages");
        assert_eq!(plan.unchanged.len(), 1200);
        assert_eq!(plan.missing, [(1200, MissingAction::Delete)]);
        assert_eq!(plan.held_back, None);
    }

    #[tokio::test]
    async fn a_remote_that_sends_more_than_asked_is_read_in_part() {
        let (read, plan) = read(Listing { pages: 3, fail_at: None, per_page: PAGE + 1 }, 400).await;
        assert!(!read.complete);
        assert_eq!(plan.held_back, Some(HeldBack::PartialRead));
    }

    /// A remote with a cursor of its own: `r1` changed, `r2` changed and then deleted, `r3` no longer sold.
    struct Changed;

    #[async_trait]
    impl Connector for Changed {
        async fn test_connection(&self) -> Result<ConnectionCheck, ConnectorError> {
            unreachable!()
        }

        async fn product_changes(
            &self,
            since: Option<&str>,
            _request: ListRequest,
        ) -> Result<Changes<ChangedRecord<RemoteProduct>>, ConnectorError> {
            assert_eq!(since, Some("41"));
            let items = vec![
                ChangedRecord::Present(product(1)),
                ChangedRecord::Present(product(2)),
                ChangedRecord::Gone("r3".into()),
            ];
            Ok(Changes { page: Page { items, next: None }, cursor: Some("44".into()) })
        }
    }

    #[tokio::test]
    async fn a_read_of_the_changes_keeps_the_cursor_and_tells_the_deleted_and_the_no_longer_sold_apart() {
        let fingerprint = stored::fingerprint(&[]);
        let local = (1..=4)
            .map(|n| LocalRecord {
                local_id: n as u32,
                remote_id: format!("r{n}"),
                content_hash: ContentHash::from_stored("old"),
                active: true,
                deletable: true,
                deactivated_by_sync: false,
            })
            .collect();
        let mut planner = Planner::new(local);
        let deleted: HashSet<String> = ["r2".to_owned()].into();
        let source = Source { since: Some("41"), page: SYNC_PAGE, deleted: &deleted };
        let read = read_remote(&Changed, source, &mut planner, &fingerprint, &Progress::none()).await.unwrap();
        assert!(read.complete);
        assert_eq!(read.cursor.as_deref(), Some("44"));
        assert_eq!(read.changed.keys().collect::<Vec<_>>(), ["r1"], "a deleted record is not refreshed");
        assert_eq!(read.gone, ["r3".to_owned()].into());
        planner.leave_unlisted(|id| deleted.contains(id) || read.gone.contains(id));
        let plan =
            planner.finish(MissingAction::Deactivate, PlanLimits { max_missing_share: 1.0, ..Default::default() });
        assert_eq!(plan.missing, [(2, MissingAction::Deactivate), (3, MissingAction::Deactivate)]);
        assert_eq!(plan.update.len(), 1);
    }
}
