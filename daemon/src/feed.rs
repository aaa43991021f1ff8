//! The live feed of sync events and runs, for subscriptions. Each API process runs ONE listener that
//! follows the events table by increasing id (whoever wrote them: this process, a separate daemon
//! process or another replica) and fans out in process through a broadcast channel, so a thousand
//! subscribers cost the database what one costs: one small query per poll interval.

use koppel_entity::{sync_event, sync_run};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::sync::broadcast;

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
    /// Starts the listener: while anyone subscribes it polls every `interval` for newer events.
    pub fn start(db: DatabaseConnection, interval: Duration) -> Self {
        let (sender, _) = broadcast::channel(4096);
        let feed = Self { sender: sender.clone() };
        tokio::spawn(async move {
            // Without subscribers the listener reads nothing; when the first one comes it starts from
            // the newest event then (a subscription streams what happens after it started).
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
        });
        feed
    }

    pub fn subscribe(&self) -> broadcast::Receiver<FeedItem> {
        self.sender.subscribe()
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

/// The events after `last`, each followed by its run as it is now when the run changed.
async fn read_after(db: &DatabaseConnection, last: i64) -> Result<(i64, Vec<FeedItem>), DbErr> {
    let events = sync_event::Entity::find()
        .filter(sync_event::Column::Id.gt(last))
        .order_by_asc(sync_event::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    let Some(newest) = events.last().map(|e| e.id) else { return Ok((last, Vec::new())) };
    let run_ids: BTreeSet<_> = events.iter().filter_map(|e| e.run_id).collect();
    let runs = if run_ids.is_empty() {
        Vec::new()
    } else {
        sync_run::Entity::find().filter(sync_run::Column::Id.is_in(run_ids)).all(db).await?
    };
    let mut items: Vec<FeedItem> = events.into_iter().map(FeedItem::Event).collect();
    items.extend(runs.into_iter().map(FeedItem::Run));
    Ok((newest, items))
}
