//! Daemons as separate processes sharing one PostgreSQL database: each schedule slot is queued once and
//! each job is claimed by one of them, however many run.

use crate::common::database::TestDb;
use chrono::Utc;
use koppel_entity::enums::{IntegrationMode, JobState, RunState};
use koppel_entity::{account, integration, job, sync_run};
use sea_orm::{ActiveModelTrait, Database, EntityTrait, Set};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn daemon(database_url: &str, data_dir: &std::path::Path) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_koppel"))
        .arg("daemon")
        .env("KOPPEL_DATABASE_URL", database_url)
        .env("KOPPEL_DATA_DIR", data_dir)
        // One slot a day: the test never straddles two.
        .env("KOPPEL_PRODUCT_SYNC_MINUTES", "1440")
        .env("KOPPEL_ALLOW_PRIVATE_REMOTES", "true")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("koppel daemon starts");
    Daemon(child)
}

#[tokio::test]
async fn two_daemons_on_one_postgresql_run_each_scheduled_pass_once() {
    if std::env::var("KOPPEL_TEST_DATABASE_URL").map_or(true, |u| u.trim().is_empty()) {
        eprintln!("two daemons share a database on PostgreSQL only (on SQLite one daemon is the rule, see cli.rs)");
        return;
    }
    let test_db = TestDb::new().await;
    let db = Database::connect(&test_db.url).await.expect("the test database");
    let now = Utc::now();
    let tenant = account::ActiveModel { id: Set(uuid::Uuid::now_v7()), name: Set("acme".into()), created_at: Set(now) }
        .insert(&db)
        .await
        .unwrap();
    for n in 0..50 {
        integration::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            account_id: Set(tenant.id),
            kind: Set("peer".into()),
            name: Set(format!("Partner {n}")),
            enabled: Set(true),
            mode: Set(IntegrationMode::Test),
            base_url: Set("http://localhost:9".into()),
            settings: Set(serde_json::json!({"accountName": "partner"})),
            missing_policies: Set(serde_json::json!({})),
            last_synced_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&db)
        .await
        .unwrap();
    }
    let dirs = [tempfile::TempDir::new().unwrap(), tempfile::TempDir::new().unwrap()];
    let _daemons = [daemon(&test_db.url, dirs[0].path()), daemon(&test_db.url, dirs[1].path())];

    // No credentials are set: every pass fails at once with a permanent error, so each job runs once.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let runs = sync_run::Entity::find().all(&db).await.unwrap();
        if runs.len() >= 50 && runs.iter().all(|r| r.state == RunState::Failed) {
            break;
        }
        assert!(Instant::now() < deadline, "the scheduled passes did not all run: {} runs", runs.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Both daemons have ticked by now; give them one more chance to queue a slot twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let runs = sync_run::Entity::find().all(&db).await.unwrap();
    let (jobs, nightly): (Vec<job::Model>, Vec<job::Model>) =
        job::Entity::find().all(&db).await.unwrap().into_iter().partition(|j| j.kind == "reconcile");
    assert_eq!(runs.len(), 50, "one run per integration and slot");
    let integrations: std::collections::HashSet<_> = runs.iter().map(|r| r.integration_id).collect();
    assert_eq!(integrations.len(), 50);
    assert_eq!(jobs.len(), 50, "one job per integration and slot");
    assert!(
        jobs.iter().all(|j| j.state == JobState::Dead && j.attempts == 1),
        "each job was claimed once and not retried (a permanent error): {jobs:#?}"
    );
    assert!(runs.iter().all(|r| r.error.as_deref().unwrap_or_default().starts_with("CONFIGURATION")));
    // Both daemons caught up on last night's log retention and file sweep at start: one job of each
    // between them.
    let mut kinds: Vec<&str> = nightly.iter().map(|j| j.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["file_sweep", "retention"], "{nightly:#?}");
    drop(db);
}
