//! The database connection: connect, migrate, count statements.

use anyhow::Context;
use koppel_migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Opens the database, creating the SQLite file's directory when needed, and counts every statement
/// into `statements` (exported at `/metrics`). `max_connections` unset: 8 on SQLite, 16 on PostgreSQL.
pub async fn connect(
    url: &str,
    max_connections: Option<u32>,
    statements: Arc<AtomicU64>,
) -> anyhow::Result<DatabaseConnection> {
    if let Some(path) = sqlite_path(url)
        && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the database directory {}", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections.unwrap_or(if url.starts_with("sqlite") { 8 } else { 16 }))
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // A connection taken from the pool is pinged only when it lay idle for 30 s (one a server, proxy
        // or firewall may have dropped), not at every checkout: the default ping is a round trip to the
        // database before every request's statement (docs/BENCHMARKS.md §7).
        .test_before_acquire_if_idle_for(Duration::from_secs(30))
        // Every pooled SQLite connection: WAL lets readers run beside the one writer; the busy timeout
        // makes writers queue instead of failing; foreign keys are enforced.
        .map_sqlx_sqlite_opts(|options| {
            options
                .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        })
        // Prepared statements are planned once per connection, not at every execution: PostgreSQL's
        // `auto` mode kept planning the product page anew (0.9 ms of planning for 0.2 ms of work; see
        // docs/BENCHMARKS.md §7). Koppel's statements filter by account and id through indexes, where a
        // generic plan is as good as a custom one.
        .map_sqlx_postgres_opts(|options| options.options([("plan_cache_mode", "force_generic_plan")]));
    let mut db = Database::connect(options)
        .await
        .with_context(|| format!("cannot connect to the database at KOPPEL_DATABASE_URL={}", redact_url(url)))?;
    db.set_metric_callback(move |_| {
        statements.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

pub use koppel_daemon::db::begin_write;

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None).await.context("cannot apply the database migrations")
}

use koppel_daemon::db::sqlite_path;

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(super::redact_url("postgres://koppel:s3cret@db:5432/k"), "postgres://koppel:***@db:5432/k");
        assert_eq!(super::redact_url("sqlite://data/k.db?mode=rwc"), "sqlite://data/k.db?mode=rwc");
    }

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(super::sqlite_path("sqlite://data/k.db?mode=rwc"), Some("data/k.db"));
        assert_eq!(super::sqlite_path("sqlite::memory:"), None);
        assert_eq!(super::sqlite_path("postgres://x"), None);
    }
}
