//! A fresh database per test: SQLite by default, PostgreSQL when `KOPPEL_TEST_DATABASE_URL` names a
//! server (a database of its own, dropped by [`TestDb::drop_database`]).

use koppel_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use std::time::Duration;

pub struct TestDb {
    pub db: DatabaseConnection,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub async fn new() -> Self {
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

    pub async fn drop_database(self) {
        let _ = self.db.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let admin = Database::connect(admin_url).await.expect("the PostgreSQL server");
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.expect("drop");
        }
    }
}
