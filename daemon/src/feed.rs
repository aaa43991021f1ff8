//! The live feed of sync events and runs, for subscriptions. Each API process runs ONE listener
//! (whoever wrote the events: this process, a separate daemon process or another replica) and fans out
//! in process through a broadcast channel, so a thousand subscribers cost the database what one costs.
//!
//! - On PostgreSQL the listener `LISTEN`s on `koppel_events`: a trigger on `sync_events` notifies each
//!   new event's id when its transaction commits (migration `m20261202_000008_event_notify`), and the
//!   listener reads the notified rows in batches. Reading the ids it is told rather than "everything
//!   after the last id" matters on PostgreSQL: two passes writing at once commit out of id order, and
//!   a reader by increasing id would skip the rows of the one that committed last.
//! - On SQLite (one writer at a time, ids in commit order) it polls the table by increasing id.

use koppel_entity::{sync_event, sync_run};
use sea_orm::{ColumnTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

/// What the feed carries: a new event, and the run it belongs to as it is after that event.
#[derive(Debug, Clone)]
pub enum FeedItem {
    Event(sync_event::Model),
    Run(sync_run::Model),
}

/// The process's feed: subscribe to receive every item written after the subscription.
#[derive(Clone)]
pub struct Feed {
    sender: broadcast::Sender<FeedItem>,
}

/// The most events read per poll; a burst larger than this is read over several polls.
const BATCH: u64 = 500;

impl Feed {
    /// Starts the listener: `LISTEN` on PostgreSQL, a poll every `interval` on SQLite.
    pub fn start(db: DatabaseConnection, interval: Duration) -> Self {
        let (sender, _) = broadcast::channel(4096);
        let feed = Self { sender: sender.clone() };
        match db.get_database_backend() {
            DbBackend::Postgres => {
                let (ids, notified) = mpsc::unbounded_channel();
                let pool = db.get_postgres_connection_pool().clone();
                tokio::spawn(listen(pool, EVENTS_CHANNEL, |payload| payload.parse().ok(), ids));
                tokio::spawn(follow_notified(db, notified, sender));
            }
            _ => {
                tokio::spawn(poll(db, interval, sender));
            }
        }
        feed
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.sender.subscribe()
    }
}

/// What a PostgreSQL listener hears.
#[derive(Debug)]
pub enum Heard<T> {
    /// The listener is connected for the first time: from now on every committed change is heard.
    Listening,
    /// A committed change, from its notification's payload (a sync event's id, a sale's key).
    Notified(T),
    /// The connection was lost: until [`Heard::Reconnected`], changes go unheard.
    Lost,
    /// The listener is connected again; what was notified in between is gone.
    Reconnected,
}

/// The channel the trigger notifies on.
pub const EVENTS_CHANNEL: &str = "koppel_events";

/// Forwards what is notified on `channel`, parsed (unparseable payloads are skipped), until the pool
/// closes. Every feed on PostgreSQL listens through this, each on its own channel. A lost connection is
/// told at once ([`Heard::Lost`]) and listened on again with a fresh connection ([`Heard::Reconnected`]).
pub async fn listen<T>(
    pool: sea_orm::sqlx::PgPool,
    channel: &'static str,
    parse: fn(&str) -> Option<T>,
    heard: mpsc::UnboundedSender<Heard<T>>,
) {
    use sea_orm::sqlx::postgres::PgListener;
    let mut first = true;
    loop {
        let mut listener = loop {
            let listening = async {
                let mut listener = PgListener::connect_with(&pool).await?;
                listener.listen(channel).await?;
                Ok::<_, sea_orm::sqlx::Error>(listener)
            };
            match listening.await {
                Ok(listener) => {
                    let told = if std::mem::take(&mut first) { Heard::Listening } else { Heard::Reconnected };
                    if heard.send(told).is_err() {
                        return;
                    }
                    break listener;
                }
                Err(_) if pool.is_closed() => return,
                Err(error) => {
                    tracing::warn!(%error, channel, "a live feed cannot listen; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if let Some(item) = parse(notification.payload())
                        && heard.send(Heard::Notified(item)).is_err()
                    {
                        return;
                    }
                }
                Err(_) if pool.is_closed() => return,
                // `Ok(None)`: the connection closed; an error: it broke. Either way, listen anew.
                lost => {
                    if let Err(error) = lost {
                        tracing::warn!(%error, channel, "a live feed lost its listener; reconnecting");
                    }
                    if heard.send(Heard::Lost).is_err() {
                        return;
                    }
                    break;
                }
            }
        }
    }
}

/// Reads the notified events in batches and sends them, with their runs, to the subscribers.
async fn follow_notified(
    db: DatabaseConnection,
    mut heard: mpsc::UnboundedReceiver<Heard<i64>>,
    sender: broadcast::Sender<FeedItem>,
) {
    let mut newest = 0i64;
    while let Some(first) = heard.recv().await {
        let mut ids = Vec::new();
        let mut reconnected = false;
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Heard::Notified(id) => ids.push(id),
                Heard::Reconnected => reconnected = true,
                Heard::Listening | Heard::Lost => {}
            }
            next = if ids.len() < BATCH as usize { heard.try_recv().ok() } else { None };
        }
        if sender.receiver_count() == 0 {
            newest = newest.max(ids.iter().copied().max().unwrap_or(0));
            continue;
        }
        let read = async {
            let mut items = read_ids(&db, &ids).await?;
            // Best effort after a lost connection: what was written since the newest event seen.
            if reconnected && newest > 0 {
                let (_, missed) = read_after(&db, newest).await?;
                items.extend(missed);
            }
            Ok::<_, DbErr>(items)
        };
        match read.await {
            Ok(items) => {
                for item in items {
                    if let FeedItem::Event(event) = &item {
                        newest = newest.max(event.id);
                    }
                    let _ = sender.send(item);
                }
            }
            Err(error) => tracing::warn!(%error, "the live feed cannot read the events"),
        }
    }
}

/// Follows the table by increasing id while anyone subscribes (SQLite).
async fn poll(db: DatabaseConnection, interval: Duration, sender: broadcast::Sender<FeedItem>) {
    // Without subscribers the listener reads nothing; when the first one comes it starts from the
    // newest event then (a subscription streams what happens after it started).
    let mut last: Option<i64> = None;
    loop {
        tokio::time::sleep(interval).await;
        if sender.receiver_count() == 0 {
            last = None;
            continue;
        }
        let after = match last {
            Some(id) => id,
            None => match newest_id(&db).await {
                Ok(id) => {
                    last = Some(id);
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "the live feed cannot read the events; retrying");
                    continue;
                }
            },
        };
        match read_after(&db, after).await {
            Ok((newest, items)) => {
                last = Some(newest);
                for item in items {
                    let _ = sender.send(item);
                }
            }
            Err(error) => tracing::warn!(%error, "the live feed cannot read the events; retrying"),
        }
    }
}

async fn newest_id(db: &DatabaseConnection) -> Result<i64, DbErr> {
    let newest: Option<i64> = sync_event::Entity::find()
        .select_only()
        .column(sync_event::Column::Id)
        .order_by_desc(sync_event::Column::Id)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    Ok(newest.unwrap_or(0))
}

/// The events `ids` (those still there), oldest first, followed by their runs as they are now.
async fn read_ids(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<FeedItem>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let events = sync_event::Entity::find()
        .filter(sync_event::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(sync_event::Column::Id)
        .all(db)
        .await?;
    with_runs(db, events).await
}

/// The events after `last`, each followed by its run as it is now when the run changed.
async fn read_after(db: &DatabaseConnection, last: i64) -> Result<(i64, Vec<FeedItem>), DbErr> {
    let events = sync_event::Entity::find()
        .filter(sync_event::Column::Id.gt(last))
        .order_by_asc(sync_event::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    let Some(newest) = events.last().map(|e| e.id) else { return Ok((last, Vec::new())) };
    Ok((newest, with_runs(db, events).await?))
}

/// The events followed by the runs they belong to, read as they are now.
async fn with_runs(db: &DatabaseConnection, events: Vec<sync_event::Model>) -> Result<Vec<FeedItem>, DbErr> {
    let run_ids: BTreeSet<_> = events.iter().filter_map(|e| e.run_id).collect();
    let runs = if run_ids.is_empty() {
        Vec::new()
    } else {
        sync_run::Entity::find().filter(sync_run::Column::Id.is_in(run_ids)).all(db).await?
    };
    let mut items: Vec<FeedItem> = events.into_iter().map(FeedItem::Event).collect();
    items.extend(runs.into_iter().map(FeedItem::Run));
    Ok(items)
}
