//! Reading a remote's listings page by page, for the passes that read records changed since a cursor
//! (a date of Koppel's, or the remote's own opaque one such as Exact Online's Sync API `Timestamp`) and a
//! remote's deletion feed. One reader for every pass, so that paging, a partial read and rate limits
//! mean the same everywhere.
//!
//! A rate limit (429) inside a listing is waited out, as long as the remote asks (at most five minutes a
//! time, ten times in a row), and the read goes on where it was: a large first sync slows down instead
//! of failing.

use super::Progress;
use crate::connectors::{Changes, Connector, ConnectorError, ListRequest, Page};
use crate::error::EngineResult;
use chrono::{DateTime, Utc};
use koppel_entity::enums::LinkedEntity;
use std::time::Duration;

/// The page size asked (SnelStart's largest page; Exact's Sync API pages by its own 1000).
const PAGE: usize = 500;
/// A listing longer than this many pages is taken to never end.
const MAX_PAGES: usize = 20_000;
/// Rate-limit waits in a row before the read gives up (and the job queue tries later).
const MAX_WAITS: u32 = 10;
/// The longest single wait for a rate limit.
const MAX_WAIT: Duration = Duration::from_secs(300);

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

/// The remote's deletion feed of one entity ([`crate::connectors::Capability::DeletedRecordsFeed`]):
/// the remote ids of its records deleted there.
pub(super) struct DeletedRecords(pub LinkedEntity);

#[async_trait::async_trait]
impl Listing for DeletedRecords {
    type Item = String;

    async fn page(&self, connector: &dyn Connector, request: ListRequest) -> Result<Page<String>, ConnectorError> {
        Ok(connector.deleted(self.0, None, request.after).await?.page)
    }

    async fn changes(
        &self,
        connector: &dyn Connector,
        since: Option<&str>,
        request: ListRequest,
    ) -> Result<Changes<String>, ConnectorError> {
        connector.deleted(self.0, since, request.after).await
    }
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
pub(super) async fn read_changes<L: Listing>(
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
