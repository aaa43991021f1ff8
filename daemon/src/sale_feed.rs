//! The live feed of changed sales, for the `saleUpdates` subscription: a sale changes when it is made or
//! its status moves (the API, the provider surface, the relay's status after success, the status pull)
//! and when one of its transmissions moves (the relay). Like the feed of sync events ([`crate::feed`]),
//! each API process runs ONE listener — whoever wrote the change, this process or a daemon in another —
//! and fans out in process through a broadcast channel; the listener reads each changed sale once, for
//! every subscriber, and subscribers only filter.
//!
//! - On PostgreSQL the listener `LISTEN`s on `koppel_sales`: triggers on `sales` and
//!   `sale_transmissions` notify `<account id>|<sale id>` at commit (migration
//!   `m20261202_000012_sale_notify`), and the listener reads the notified sales in batches.
//! - On SQLite it polls both tables by `updated_at`. A row's timestamp is taken before its transaction
//!   commits, so a row can appear with a timestamp older than one already seen: each poll reads again
//!   the rows of the last [`SETTLE`] before the newest timestamp seen and tells only the row versions
//!   (id and `updated_at`) it has not told yet — equal timestamps and late commits alike. A write whose
//!   transaction commits more than [`SETTLE`] after it took its timestamp is missed.
//!
//! The feed is process-wide, so its reads of which rows changed span accounts; the sales themselves are
//! read with the account's scoped finders, and each item carries its account for subscribers to filter.

use crate::feed::{Heard, listen};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, sale, sale_transmission};
use sea_orm::{ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use uuid::Uuid;

/// A sale as it is after a change to it or to one of its transmissions.
#[derive(Debug)]
pub struct SaleChange {
    pub sale: sale::Model,
    /// The integrations the sale has a transmission to.
    pub integrations: Vec<Uuid>,
}

/// The process's feed of changed sales: subscribe to receive every change committed after subscribing.
#[derive(Clone)]
pub struct SaleFeed {
    sender: broadcast::Sender<Arc<SaleChange>>,
}

/// The channel the triggers notify on.
pub const SALES_CHANNEL: &str = "koppel_sales";

/// How far back each SQLite poll reads again, for rows whose transaction committed after a newer one.
pub const SETTLE: Duration = Duration::from_secs(5);

/// The most sales read per statement; a larger burst is read in several.
const BATCH: usize = 500;

/// A changed sale: its account and id.
type SaleKey = (Uuid, Uuid);

impl SaleFeed {
    /// Starts the listener: `LISTEN` on PostgreSQL, a poll every `interval` on SQLite.
    pub fn start(db: DatabaseConnection, interval: Duration) -> Self {
        let (sender, _) = broadcast::channel(4096);
        let feed = Self { sender: sender.clone() };
        match db.get_database_backend() {
            DbBackend::Postgres => {
                let (keys, notified) = mpsc::unbounded_channel();
                let pool = db.get_postgres_connection_pool().clone();
                tokio::spawn(listen(pool, SALES_CHANNEL, parse_key, keys));
                tokio::spawn(follow_notified(db, notified, sender));
            }
            _ => {
                tokio::spawn(poll(db, interval, sender));
            }
        }
        feed
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<SaleChange>> {
        self.sender.subscribe()
    }
}

/// `<account id>|<sale id>`, as the triggers write it.
fn parse_key(payload: &str) -> Option<SaleKey> {
    let (account, sale) = payload.split_once('|')?;
    Some((account.parse().ok()?, sale.parse().ok()?))
}

/// Reads the notified sales in batches and sends them to the subscribers.
async fn follow_notified(
    db: DatabaseConnection,
    mut heard: mpsc::UnboundedReceiver<Heard<SaleKey>>,
    sender: broadcast::Sender<Arc<SaleChange>>,
) {
    // When the newest batch was read, for the best-effort catch-up after a lost connection.
    let mut last_read: Option<DateTime<Utc>> = None;
    while let Some(first) = heard.recv().await {
        let mut keys = BTreeSet::new();
        let mut reconnected = false;
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Heard::Notified(key) => {
                    keys.insert(key);
                }
                Heard::Reconnected => reconnected = true,
                Heard::Listening | Heard::Lost => {}
            }
            next = if keys.len() < BATCH { heard.try_recv().ok() } else { None };
        }
        let now = Utc::now();
        if sender.receiver_count() == 0 {
            last_read = Some(now);
            continue;
        }
        let read = async {
            if reconnected && let Some(since) = last_read {
                let missed = changed_since(&db, since - SETTLE).await?;
                keys.extend(missed.into_iter().map(|row| row.sale));
            }
            read_changes(&db, keys).await
        };
        match read.await {
            Ok(changes) => {
                last_read = Some(now);
                for change in changes {
                    let _ = sender.send(Arc::new(change));
                }
            }
            Err(error) => tracing::warn!(%error, "the sale feed cannot read the changed sales"),
        }
    }
}

/// One version of a changed row: a sale, or a transmission of it.
struct ChangedRow {
    /// The row's id (sales and transmissions have UUIDv7 ids, distinct across both tables).
    row: Uuid,
    sale: SaleKey,
    updated_at: DateTime<Utc>,
}

/// What the SQLite poll has told: the newest `updated_at` seen, and the row versions seen within
/// [`SETTLE`] before it, so that reading them again tells nothing twice.
struct Watermark {
    newest: DateTime<Utc>,
    seen: HashSet<(Uuid, DateTime<Utc>)>,
}

impl Watermark {
    fn new(newest: DateTime<Utc>) -> Self {
        Self { newest, seen: HashSet::new() }
    }

    /// Where the next read starts.
    fn since(&self) -> DateTime<Utc> {
        self.newest - SETTLE
    }

    /// The sales of the row versions not seen before; remembers them and forgets those out of reach.
    fn take(&mut self, rows: Vec<ChangedRow>) -> BTreeSet<SaleKey> {
        let mut fresh = BTreeSet::new();
        for row in rows {
            if self.seen.insert((row.row, row.updated_at)) {
                self.newest = self.newest.max(row.updated_at);
                fresh.insert(row.sale);
            }
        }
        let since = self.since();
        self.seen.retain(|(_, at)| *at >= since);
        fresh
    }
}

/// Follows both tables by `updated_at` while anyone subscribes (SQLite).
async fn poll(db: DatabaseConnection, interval: Duration, sender: broadcast::Sender<Arc<SaleChange>>) {
    // Without subscribers the listener reads nothing; when the first one comes it starts from then (a
    // subscription streams what happens after it started).
    let mut watermark: Option<Watermark> = None;
    loop {
        tokio::time::sleep(interval).await;
        if sender.receiver_count() == 0 {
            watermark = None;
            continue;
        }
        let starting = watermark.is_none();
        let mark = watermark.get_or_insert_with(|| Watermark::new(Utc::now()));
        let read = async {
            let keys = mark.take(changed_since(&db, mark.since()).await?);
            // The first read only learns what was there before the subscribers came.
            if starting { Ok(Vec::new()) } else { read_changes(&db, keys).await }
        };
        match read.await {
            Ok(changes) => {
                for change in changes {
                    let _ = sender.send(Arc::new(change));
                }
            }
            Err(error) => {
                tracing::warn!(%error, "the sale feed cannot read the changed sales; retrying");
                if starting {
                    watermark = None;
                }
            }
        }
    }
}

/// The sale and transmission rows written at or after `since`, every account's (keys only).
async fn changed_since(db: &DatabaseConnection, since: DateTime<Utc>) -> Result<Vec<ChangedRow>, DbErr> {
    let sales: Vec<(Uuid, Uuid, DateTime<Utc>)> = sale::Entity::find()
        .select_only()
        .columns([sale::Column::Id, sale::Column::AccountId, sale::Column::UpdatedAt])
        .filter(sale::Column::UpdatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    let transmissions: Vec<(Uuid, Uuid, Uuid, DateTime<Utc>)> = sale_transmission::Entity::find()
        .select_only()
        .columns([
            sale_transmission::Column::Id,
            sale_transmission::Column::AccountId,
            sale_transmission::Column::SaleId,
            sale_transmission::Column::UpdatedAt,
        ])
        .filter(sale_transmission::Column::UpdatedAt.gte(since))
        .into_tuple()
        .all(db)
        .await?;
    let sales = sales.into_iter().map(|(id, account, at)| ChangedRow { row: id, sale: (account, id), updated_at: at });
    let transmissions = transmissions.into_iter().map(|(id, account, sale, at)| ChangedRow {
        row: id,
        sale: (account, sale),
        updated_at: at,
    });
    Ok(sales.chain(transmissions).collect())
}

/// The sales `keys` as they are now (those still there), each with the integrations it is sent to;
/// read per account with its scoped finders, in batches of [`BATCH`].
async fn read_changes(db: &DatabaseConnection, keys: BTreeSet<SaleKey>) -> Result<Vec<SaleChange>, DbErr> {
    let mut by_account: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (account, sale) in keys {
        by_account.entry(account).or_default().push(sale);
    }
    let mut changes = Vec::new();
    for (account, sales) in by_account {
        for ids in sales.chunks(BATCH) {
            let found = sale::Entity::find_by_ids_in(account, ids.iter().copied()).all(db).await?;
            let sent: Vec<(Uuid, Uuid)> = sale_transmission::Entity::find_in(account)
                .select_only()
                .columns([sale_transmission::Column::SaleId, sale_transmission::Column::IntegrationId])
                .filter(sale_transmission::Column::SaleId.is_in(ids.iter().copied()))
                .into_tuple()
                .all(db)
                .await?;
            let mut integrations: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
            for (sale, integration) in sent {
                integrations.entry(sale).or_default().push(integration);
            }
            changes.extend(
                found
                    .into_iter()
                    .map(|sale| SaleChange { integrations: integrations.remove(&sale.id).unwrap_or_default(), sale }),
            );
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(row: Uuid, sale: SaleKey, at: DateTime<Utc>) -> ChangedRow {
        ChangedRow { row, sale, updated_at: at }
    }

    #[test]
    fn a_row_version_is_told_once_also_at_equal_timestamps_and_late_commits() {
        let start = Utc::now();
        let (a, b, c) =
            ((Uuid::now_v7(), Uuid::now_v7()), (Uuid::now_v7(), Uuid::now_v7()), (Uuid::now_v7(), Uuid::now_v7()));
        let mut mark = Watermark::new(start);
        let t1 = start + chrono::Duration::milliseconds(10);
        assert_eq!(mark.take(vec![row(a.1, a, t1)]), BTreeSet::from([a]));
        // Read again with a row at the same timestamp: only the new one.
        assert_eq!(mark.take(vec![row(a.1, a, t1), row(b.1, b, t1)]), BTreeSet::from([b]));
        // A row committed late with an older timestamp, and a new version of `a`.
        let t2 = t1 + chrono::Duration::milliseconds(10);
        assert_eq!(mark.take(vec![row(c.1, c, start), row(a.1, a, t2)]), BTreeSet::from([a, c]));
        assert_eq!(mark.newest, t2);
        assert!(mark.take(vec![row(c.1, c, start), row(a.1, a, t2)]).is_empty());
    }

    #[test]
    fn the_payload_is_account_and_sale() {
        let (account, sale) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(parse_key(&format!("{account}|{sale}")), Some((account, sale)));
        assert_eq!(parse_key("42"), None);
    }
}
