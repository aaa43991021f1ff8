//! The job queue against a real database: SQLite by default, PostgreSQL when `KOPPEL_TEST_DATABASE_URL`
//! names a server (a fresh database per test, dropped at its end).

use chrono::Utc;
use koppel_daemon::connectors::ConnectorError;
use koppel_daemon::error::EngineError;
use koppel_daemon::jobs::{self, Failed, NewJob};
use koppel_entity::enums::JobState;
use koppel_entity::job;
use koppel_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, EntityTrait};
use std::collections::HashSet;
use std::time::Duration;

struct TestDb {
    db: DatabaseConnection,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    async fn new() -> Self {
        match std::env::var("KOPPEL_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) {
            Some(admin_url) => {
                let name = format!("koppel_test_jobs_{}", uuid::Uuid::now_v7().simple());
                let admin = Database::connect(admin_url.trim()).await.expect("the PostgreSQL server");
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create");
                admin.close().await.expect("close");
                let (base, _) = admin_url.trim().rsplit_once('/').expect("a database in the URL");
                let db = Database::connect(format!("{base}/{name}")).await.expect("the test database");
                Migrator::up(&db, None).await.expect("migrations");
                Self { db, _dir: None, postgres: Some((admin_url.trim().to_owned(), name)) }
            }
            None => {
                let dir = tempfile::TempDir::new().expect("a temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("jobs.db").display());
                let mut options = ConnectOptions::new(url);
                options.max_connections(8).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                });
                let db = Database::connect(options).await.expect("SQLite");
                Migrator::up(&db, None).await.expect("migrations");
                Self { db, _dir: Some(dir), postgres: None }
            }
        }
    }

    async fn drop_database(self) {
        let _ = self.db.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let admin = Database::connect(admin_url).await.expect("the PostgreSQL server");
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.expect("drop");
        }
    }
}

fn job(kind: &str) -> NewJob {
    NewJob::new(kind, serde_json::json!({"n": 1}))
}

async fn state_of(db: &DatabaseConnection, id: uuid::Uuid) -> job::Model {
    job::Entity::find_by_id(id).one(db).await.unwrap().expect("the job")
}

#[tokio::test]
async fn a_dedupe_key_makes_one_job() {
    let t = TestDb::new().await;
    let first = jobs::enqueue(&t.db, job("reconcile").dedupe("reconcile:x:product:2026-12-02T07:00")).await.unwrap();
    let second = jobs::enqueue(&t.db, job("reconcile").dedupe("reconcile:x:product:2026-12-02T07:00")).await.unwrap();
    let other = jobs::enqueue(&t.db, job("reconcile").dedupe("reconcile:x:product:2026-12-02T19:00")).await.unwrap();
    assert!(first.is_some() && other.is_some());
    assert_eq!(second, None, "the same slot is enqueued once");
    // Jobs without a key are never merged.
    assert!(jobs::enqueue(&t.db, job("noop")).await.unwrap().is_some());
    assert!(jobs::enqueue(&t.db, job("noop")).await.unwrap().is_some());
    assert_eq!(job::Entity::find().all(&t.db).await.unwrap().len(), 4);
    t.drop_database().await;
}

#[tokio::test]
async fn concurrent_workers_never_claim_the_same_job() {
    let t = TestDb::new().await;
    for _ in 0..30 {
        jobs::enqueue(&t.db, job("noop")).await.unwrap();
    }
    let mut claimers = Vec::new();
    for worker in 0..4 {
        let db = t.db.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(claimed) =
                jobs::claim(&db, &format!("worker-{worker}"), Duration::from_secs(60), Utc::now()).await.unwrap()
            {
                mine.push(claimed.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let distinct: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 30, "every job claimed once");
    assert_eq!(distinct.len(), 30, "no job claimed twice");
    t.drop_database().await;
}

#[tokio::test]
async fn a_job_whose_worker_died_is_taken_again_after_its_lease() {
    let t = TestDb::new().await;
    let id = jobs::enqueue(&t.db, job("reconcile")).await.unwrap().unwrap();
    let lease = Duration::from_secs(30);
    let now = Utc::now();
    let first = jobs::claim(&t.db, "dead-worker", lease, now).await.unwrap().expect("due");
    assert_eq!((first.id, first.attempts, first.state), (id, 1, JobState::Running));
    assert!(jobs::claim(&t.db, "other", lease, now).await.unwrap().is_none(), "leased: nobody else takes it");
    let later = now + chrono::Duration::seconds(31);
    let again = jobs::claim(&t.db, "other", lease, later).await.unwrap().expect("the lease ran out");
    assert_eq!((again.id, again.attempts), (id, 2));
    assert!(!jobs::complete(&t.db, id, "dead-worker").await.unwrap(), "the old owner lost the job");
    assert!(!jobs::renew(&t.db, id, "dead-worker", lease).await.unwrap());
    assert!(jobs::renew(&t.db, id, "other", lease).await.unwrap());
    assert!(jobs::complete(&t.db, id, "other").await.unwrap());
    assert_eq!(state_of(&t.db, id).await.state, JobState::Done);
    t.drop_database().await;
}

#[tokio::test]
async fn temporary_failures_back_off_then_the_last_attempt_is_dead() {
    let t = TestDb::new().await;
    let mut new = job("reconcile");
    new.max_attempts = 2;
    let id = jobs::enqueue(&t.db, new).await.unwrap().unwrap();
    let lease = Duration::from_secs(60);
    let claimed = jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().unwrap();
    let before = Utc::now();
    let Failed::Retry { at } = jobs::fail(&t.db, &claimed, "w", &ConnectorError::Timeout.into()).await.unwrap() else {
        panic!("a timeout is temporary")
    };
    assert!(at >= before + chrono::Duration::seconds(5), "backs off: {at} vs {before}");
    let stored = state_of(&t.db, id).await;
    assert_eq!(stored.state, JobState::Queued);
    assert!(stored.last_error.as_deref().unwrap_or_default().starts_with("TIMEOUT"), "{stored:?}");
    assert!(jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().is_none(), "not due before its time");
    let claimed = jobs::claim(&t.db, "w", lease, at + chrono::Duration::seconds(1)).await.unwrap().unwrap();
    assert_eq!(claimed.attempts, 2);
    let outcome = jobs::fail(&t.db, &claimed, "w", &ConnectorError::Timeout.into()).await.unwrap();
    assert_eq!(outcome, Failed::Dead, "the last attempt");
    assert_eq!(state_of(&t.db, id).await.state, JobState::Dead);
    t.drop_database().await;
}

#[tokio::test]
async fn permanent_errors_are_not_retried_and_retry_after_is_honoured() {
    let t = TestDb::new().await;
    let lease = Duration::from_secs(60);
    let wrong = jobs::enqueue(&t.db, job("a")).await.unwrap().unwrap();
    let claimed = jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().unwrap();
    let refused = EngineError::from(ConnectorError::WrongCredentials("401".into()));
    assert_eq!(jobs::fail(&t.db, &claimed, "w", &refused).await.unwrap(), Failed::Dead);
    assert_eq!(state_of(&t.db, wrong).await.state, JobState::Dead);

    jobs::enqueue(&t.db, job("b")).await.unwrap().unwrap();
    let claimed = jobs::claim(&t.db, "w", lease, Utc::now()).await.unwrap().unwrap();
    let busy = EngineError::from(ConnectorError::RateLimited { retry_after_seconds: 600 });
    let before = Utc::now();
    let Failed::Retry { at } = jobs::fail(&t.db, &claimed, "w", &busy).await.unwrap() else {
        panic!("busy is temporary")
    };
    assert!(at >= before + chrono::Duration::seconds(600), "waits as long as the remote asked: {at}");
    t.drop_database().await;
}
