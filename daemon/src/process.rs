//! What `koppel daemon` runs (and `koppel serve` in-process unless `--no-daemon`): the schedule and a
//! few workers over the shared job queue, until shutdown.

use crate::Context;
use crate::alerts;
use crate::error::EngineError;
use crate::jobs::worker::{self, JobHandler, WorkerConfig};
use crate::problems::{Problem, ProblemCode, Rejected};
use crate::{reconcile, retention};
use async_trait::async_trait;
use koppel_entity::job;
use sea_orm::{DatabaseTransaction, DbErr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub workers: usize,
    pub lease: Duration,
    pub idle_poll: Duration,
    /// How often the schedule looks for due slots. (Each integration's own schedules say when its
    /// passes run; the products of one that sets none follow [`crate::Limits::product_sync_every`].)
    pub schedule_tick: Duration,
    /// How long finished runs, their events and finished jobs are kept.
    pub retention: Duration,
    /// Whether this daemon queues the scheduled passes (off: it only works the queue, e.g. in tests
    /// that queue passes themselves).
    pub schedule: bool,
    /// Whether this daemon sends sales (the outbox relay).
    pub outbox: bool,
    /// The outbox's first wait after a temporary failure; each next one twice as long.
    pub send_retry_base: Duration,
    /// The most sales one daemon has on their way to remotes at once.
    pub send_concurrency: usize,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(500),
            schedule_tick: Duration::from_secs(30),
            retention: Duration::from_secs(30 * 24 * 60 * 60),
            schedule: true,
            outbox: true,
            send_retry_base: Duration::from_secs(10),
            send_concurrency: 32,
        }
    }
}

/// Runs jobs by kind, and raises the alert when one dies.
pub struct Dispatch {
    /// How long finished runs, their events and finished jobs are kept (the retention job).
    pub retention: Duration,
}

impl Default for Dispatch {
    fn default() -> Self {
        Self { retention: DaemonOptions::default().retention }
    }
}

#[async_trait]
impl JobHandler for Dispatch {
    async fn run(&self, ctx: &Context, job: &job::Model) -> Result<(), EngineError> {
        match job.kind.as_str() {
            reconcile::job::KIND => reconcile::job::run(ctx, job).await,
            retention::KIND => retention::run(ctx, job, self.retention).await,
            crate::files::sweep::KIND => crate::files::sweep::run(ctx, job).await,
            alerts::delivery::KIND => alerts::delivery::run(ctx, job).await,
            other => Err(EngineError::Rejected(Rejected(vec![Problem {
                field: "kind".into(),
                code: ProblemCode::Unknown,
                message: format!("this daemon does not know jobs of kind {other}"),
            }]))),
        }
    }

    async fn dead(&self, txn: &DatabaseTransaction, job: &job::Model, error: &EngineError) -> Result<(), DbErr> {
        alerts::job_died(txn, job, error).await
    }
}

/// Runs the schedule and the workers until `shutdown` turns true, then waits for jobs in flight.
pub async fn run(ctx: Context, options: DaemonOptions, shutdown: watch::Receiver<bool>) {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "koppel".into());
    let mut tasks = tokio::task::JoinSet::new();
    let timing = crate::schedule::Timing {
        tick: options.schedule_tick,
        default_every: ctx.limits.product_sync_every,
        retention: options.retention,
    };
    if options.schedule {
        tasks.spawn(crate::schedule::run(ctx.db.clone(), timing, shutdown.clone()));
    }
    if options.outbox {
        let config = crate::outbox::relay::RelayConfig {
            owner: format!("{host}:{}:outbox", std::process::id()),
            lease: options.lease,
            idle_poll: options.idle_poll.min(Duration::from_millis(200)),
            retry_base: options.send_retry_base,
            concurrency: options.send_concurrency.max(1),
            ..Default::default()
        };
        tasks.spawn(crate::outbox::relay::run(ctx.clone(), config, shutdown.clone()));
    }
    let handler: Arc<dyn JobHandler> = Arc::new(Dispatch { retention: options.retention });
    for n in 0..options.workers.max(1) {
        let config = WorkerConfig {
            owner: format!("{host}:{}:{n}", std::process::id()),
            lease: options.lease,
            idle_poll: options.idle_poll,
            max_batch: worker::DEFAULT_MAX_BATCH,
        };
        tasks.spawn(worker::run(ctx.clone(), config, handler.clone(), shutdown.clone()));
    }
    tracing::info!(workers = options.workers, "the daemon is running");
    while tasks.join_next().await.is_some() {}
    tracing::info!("the daemon stopped");
}

/// On SQLite one daemon is the rule (SQLite has no row locks to share the queue with, and one writer at
/// a time): the daemon holds an exclusive lock on `<database file>.daemon.lock` while it runs, and a
/// second one is refused with a message that says so. PostgreSQL needs no guard: any number of
/// daemons share the queue through leases and `SKIP LOCKED`.
pub struct SqliteDaemonLock(#[allow(dead_code)] std::fs::File);

impl SqliteDaemonLock {
    /// Takes the lock for a `sqlite:` URL; `Ok(None)` for other databases.
    pub fn acquire(database_url: &str) -> Result<Option<Self>, String> {
        let Some(path) = crate::db::sqlite_path(database_url) else { return Ok(None) };
        let lock_path = format!("{path}.daemon.lock");
        if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| format!("cannot open {lock_path}: {e}"))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self(file))),
            Err(std::fs::TryLockError::WouldBlock) => Err(format!(
                "another Koppel daemon is already running on the SQLite database {path} (it holds {lock_path}). \
                 On SQLite one daemon is the rule: stop the other one, or start this process with --no-daemon \
                 (serve) — or move to PostgreSQL to run several daemons."
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {lock_path}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SqliteDaemonLock;

    #[test]
    fn a_second_daemon_on_one_sqlite_file_is_refused() {
        let dir = tempfile::TempDir::new().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("koppel.db").display());
        let first = SqliteDaemonLock::acquire(&url).unwrap().expect("a lock on SQLite");
        let second = SqliteDaemonLock::acquire(&url).err().expect("refused");
        assert!(second.contains("one daemon is the rule"), "{second}");
        drop(first);
        assert!(SqliteDaemonLock::acquire(&url).unwrap().is_some(), "free again once the first stopped");
        assert!(SqliteDaemonLock::acquire("postgres://db/koppel").unwrap().is_none());
    }
}
