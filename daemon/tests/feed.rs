//! The live feed against a real database: every committed event reaches a subscriber, also when
//! transactions commit out of id order (PostgreSQL), and one listener serves every subscriber.

#[path = "support/db.rs"]
mod support;

use chrono::Utc;
use koppel_daemon::feed::{Feed, FeedItem};
use koppel_entity::enums::{EventLevel, IntegrationMode};
use koppel_entity::{account, integration, sync_event};
use sea_orm::{ActiveModelTrait, DatabaseConnection, DbBackend, Set, TransactionTrait};
use std::time::Duration;
use support::TestDb;
use tokio::sync::broadcast;

async fn integration(db: &DatabaseConnection) -> integration::Model {
    let now = Utc::now();
    let account =
        account::ActiveModel { id: Set(uuid::Uuid::now_v7()), name: Set("acme".into()), created_at: Set(now) }
            .insert(db)
            .await
            .unwrap();
    integration::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        account_id: Set(account.id),
        kind: Set("peer".into()),
        name: Set("Partner".into()),
        enabled: Set(true),
        mode: Set(IntegrationMode::Test),
        base_url: Set("http://localhost:9".into()),
        settings: Set(serde_json::json!({})),
        missing_policies: Set(serde_json::json!({})),
        last_synced_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
    .unwrap()
}

async fn event(db: &impl sea_orm::ConnectionTrait, integration: &integration::Model, message: &str) -> i64 {
    sync_event::ActiveModel {
        account_id: Set(integration.account_id),
        integration_id: Set(integration.id),
        level: Set(EventLevel::Info),
        action: Set("update".into()),
        message: Set(message.into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// The messages of the next `n` events, waiting up to 10 s.
async fn messages(feed: &mut broadcast::Receiver<FeedItem>, n: usize) -> Vec<String> {
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(Duration::from_secs(10), feed.recv()).await {
            Ok(Ok(FeedItem::Event(event))) => got.push(event.message),
            Ok(Ok(FeedItem::Run(_))) => {}
            other => panic!("the feed gave {other:?} after {got:?}"),
        }
    }
    got
}

#[tokio::test]
async fn every_committed_event_reaches_every_subscriber_even_when_transactions_commit_out_of_order() {
    let t = TestDb::new().await;
    let integration = integration(&t.db).await;
    let feed = Feed::start(t.db.clone(), Duration::from_millis(50));
    let mut first = feed.subscribe();
    let mut second = feed.subscribe();
    // The listener is listening (PostgreSQL) or has read the newest id (SQLite).
    tokio::time::sleep(Duration::from_millis(500)).await;

    if t.db.get_database_backend() == DbBackend::Postgres {
        // A long pass takes id N and commits after a short one took and committed N + 1: a reader by
        // increasing id would have moved past N already.
        let long = t.db.begin().await.unwrap();
        let early_id = event(&long, &integration, "long pass").await;
        let late_id = event(&t.db, &integration, "short pass").await;
        assert!(early_id < late_id);
        assert_eq!(messages(&mut first, 1).await, ["short pass"]);
        long.commit().await.unwrap();
        assert_eq!(messages(&mut first, 1).await, ["long pass"], "the event of the later commit arrives too");
        assert_eq!(messages(&mut second, 2).await, ["short pass", "long pass"]);
    } else {
        event(&t.db, &integration, "one").await;
        event(&t.db, &integration, "two").await;
        assert_eq!(messages(&mut first, 2).await, ["one", "two"]);
        assert_eq!(messages(&mut second, 2).await, ["one", "two"]);
    }
    t.drop_database().await;
}
