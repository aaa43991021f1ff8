//! What the benchmarks share: a fresh database (SQLite in a temporary directory, or a new PostgreSQL
//! database dropped at the end), an engine context, command-line options, peak memory and percentiles.

use koppel_daemon::crypto::MasterKey;
use koppel_daemon::{Context, Limits};
use koppel_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection};
use std::sync::Arc;
use std::time::Duration;

/// `--name value` options, each with a default.
pub struct Options(Vec<String>);

impl Options {
    pub fn from_args() -> Self {
        Self(std::env::args().skip(1).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().position(|a| a == name).and_then(|i| self.0.get(i + 1)).map(String::as_str)
    }

    pub fn number(&self, name: &str, default: usize) -> usize {
        self.get(name).map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number")))
    }
}

/// A fresh, migrated database.
pub struct BenchDb {
    pub db: DatabaseConnection,
    pub label: &'static str,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl BenchDb {
    /// PostgreSQL when `admin_url` is given (a new database on that server), SQLite otherwise.
    pub async fn new(admin_url: Option<&str>) -> Self {
        match admin_url {
            Some(admin_url) => {
                let name = format!("koppel_bench_{}", uuid::Uuid::now_v7().simple());
                let admin = Database::connect(admin_url).await.expect("the PostgreSQL server");
                admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create");
                admin.close().await.expect("close");
                let (base, _) = admin_url.rsplit_once('/').expect("a database in the URL");
                let mut options = ConnectOptions::new(format!("{base}/{name}"));
                options.max_connections(10).sqlx_logging(false);
                let db = Database::connect(options).await.expect("the bench database");
                Migrator::up(&db, None).await.expect("migrations");
                Self { db, label: "PostgreSQL", _dir: None, postgres: Some((admin_url.to_owned(), name)) }
            }
            None => {
                let dir = tempfile::TempDir::new().expect("a temporary directory");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
                let mut options = ConnectOptions::new(url);
                // As `koppel serve` opens SQLite: WAL, a busy timeout, foreign keys.
                options.max_connections(8).sqlx_logging(false).map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                });
                let db = Database::connect(options).await.expect("SQLite");
                Migrator::up(&db, None).await.expect("migrations");
                Self { db, label: "SQLite", _dir: Some(dir), postgres: None }
            }
        }
    }

    pub fn postgres(&self) -> bool {
        self.postgres.is_some()
    }

    pub async fn drop_database(self) {
        let _ = self.db.close().await;
        if let Some((admin_url, name)) = self.postgres {
            let admin = Database::connect(admin_url).await.expect("the PostgreSQL server");
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.expect("drop");
        }
    }
}

/// An engine context on `db` that may call remotes on loopback addresses (the fake provider).
pub fn context(db: &DatabaseConnection) -> Context {
    Context {
        db: db.clone(),
        master_key: Arc::new(MasterKey::from_base64(&MasterKey::generate()).expect("a key")),
        http: koppel_daemon::net::client(true, Duration::from_secs(30)),
        // Nothing here stores files: a directory that is never created.
        files: koppel_daemon::files::FileStore::directory(std::env::temp_dir().join("koppel-no-files")),
        limits: Limits { allow_private_remotes: true, ..Limits::default() },
        shared: Default::default(),
    }
}

/// Forgets the peak memory so far (Linux: `clear_refs` 5), so that the next figure is one phase's.
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak resident memory of this process since the start or [`reset_peak`], in MiB (`VmHWM`).
pub fn peak_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The resident memory of this process now, in MiB (`VmRSS`).
pub fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// The `p`-th percentile (0–100) of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

pub mod fakes;
pub mod provider;
pub mod seed;
