//! The job queue: no-op jobs per second with two workers, claiming one job per round trip (as before
//! batching) and in batches, and the time from enqueue to start while the workers idle.
//!
//! `cargo run --release -p koppel-daemon --example bench_jobs -- --database-url postgres://postgres@127.0.0.1:5432/postgres --jobs 100000`
//!
//! Without `--database-url` it runs on SQLite. `cargo test -p koppel-daemon --example bench_jobs` runs
//! the same code at 300 jobs on SQLite.

#[allow(dead_code)]
mod support;

use async_trait::async_trait;
use chrono::Utc;
use koppel_daemon::Context;
use koppel_daemon::error::EngineError;
use koppel_daemon::jobs::worker::{self, DEFAULT_MAX_BATCH, JobHandler, WorkerConfig};
use koppel_daemon::jobs::{self, NewJob};
use koppel_entity::enums::JobState;
use koppel_entity::job;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{BenchDb, millis, percentile};
use tokio::sync::watch;

/// Issue 7's target on PostgreSQL with two workers.
const TARGET_JOBS_PER_SECOND: f64 = 10_000.0;

#[tokio::main]
async fn main() {
    let options = support::Options::from_args();
    let jobs = options.number("--jobs", 100_000);
    let workers = options.number("--workers", 2);
    let max_batch = options.number("--max-batch", DEFAULT_MAX_BATCH as usize) as u64;
    let report = run(options.get("--database-url"), jobs, workers, max_batch).await;
    println!("{report}");
}

/// Runs nothing, and notes how long each job waited.
struct NoOp {
    started: AtomicUsize,
    waits: Mutex<Vec<Duration>>,
}

#[async_trait]
impl JobHandler for NoOp {
    async fn run(&self, _ctx: &Context, job: &job::Model) -> Result<(), EngineError> {
        let waited = (Utc::now() - job.created_at).to_std().unwrap_or_default();
        self.waits.lock().unwrap().push(waited);
        self.started.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

struct Workers {
    shutdown: watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
    handler: Arc<NoOp>,
}

fn start(ctx: &Context, workers: usize, max_batch: u64, idle_poll: Duration) -> Workers {
    let handler = Arc::new(NoOp { started: AtomicUsize::new(0), waits: Mutex::new(Vec::new()) });
    let (shutdown, receiver) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..workers {
        let config = WorkerConfig { owner: format!("bench:{n}"), lease: Duration::from_secs(60), idle_poll, max_batch };
        tasks.spawn(worker::run(ctx.clone(), config, handler.clone() as Arc<dyn JobHandler>, receiver.clone()));
    }
    Workers { shutdown, tasks, handler }
}

impl Workers {
    async fn stop(mut self) -> Arc<NoOp> {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        self.handler
    }
}

/// Writes `count` due no-op jobs, a thousand per statement (setup, not measured), enqueued a
/// microsecond apart as a busy queue's are (jobs enqueued at the very same instant would have to be
/// sorted by id on every claim).
async fn fill(db: &sea_orm::DatabaseConnection, count: usize) {
    let start = Utc::now() - chrono::Duration::microseconds(count as i64);
    for chunk in (0..count).collect::<Vec<_>>().chunks(1000) {
        let rows = chunk.iter().map(|i| {
            let now = start + chrono::Duration::microseconds(*i as i64);
            job::ActiveModel {
                id: Set(uuid::Uuid::now_v7()),
                account_id: Set(None),
                integration_id: Set(None),
                kind: Set("noop".into()),
                payload: Set(serde_json::json!({})),
                dedupe_key: Set(None),
                state: Set(JobState::Queued),
                run_after: Set(now),
                attempts: Set(0),
                max_attempts: Set(jobs::DEFAULT_MAX_ATTEMPTS),
                lease_owner: Set(None),
                lease_until: Set(None),
                last_error: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                finished_at: Set(None),
            }
        });
        job::Entity::insert_many(rows).exec_without_returning(db).await.expect("jobs written");
    }
}

async fn done(db: &sea_orm::DatabaseConnection) -> u64 {
    job::Entity::find().filter(job::Column::State.eq(JobState::Done)).count(db).await.expect("a count")
}

/// Jobs per second through `workers` workers claiming up to `max_batch` at a time, until all are done.
async fn throughput(ctx: &Context, jobs: usize, workers: usize, max_batch: u64) -> (f64, Duration) {
    let before = done(&ctx.db).await;
    fill(&ctx.db, jobs).await;
    if ctx.db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // The PostgreSQL here runs without autovacuum: do what it would do after a bulk enqueue.
        ctx.db.execute_unprepared("ANALYZE jobs").await.expect("analyzed");
    }
    let started = Instant::now();
    let running = start(ctx, workers, max_batch, Duration::from_millis(50));
    while running.handler.started.load(Ordering::Relaxed) < jobs {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while done(&ctx.db).await < before + jobs as u64 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let handler = running.stop().await;
    assert_eq!(handler.started.load(Ordering::Relaxed), jobs, "every job ran once");
    (jobs as f64 / elapsed.as_secs_f64(), elapsed)
}

/// Enqueues `count` jobs one by one at `rate` per second while the workers idle with the daemon's
/// default poll, and gives the sorted waits from enqueue to start.
async fn latency(ctx: &Context, count: usize, workers: usize, rate: f64) -> (Vec<Duration>, Duration) {
    let idle_poll = koppel_daemon::process::DaemonOptions::default().idle_poll;
    let running = start(ctx, workers, DEFAULT_MAX_BATCH, idle_poll);
    let mut enqueue_times = Vec::with_capacity(count);
    let began = Instant::now();
    for n in 0..count {
        let due = began + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let at = Instant::now();
        jobs::enqueue(&ctx.db, NewJob::new("noop", serde_json::json!({}))).await.expect("enqueued");
        enqueue_times.push(at.elapsed());
    }
    while running.handler.started.load(Ordering::Relaxed) < count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let handler = running.stop().await;
    let mut waits = std::mem::take(&mut *handler.waits.lock().unwrap());
    waits.sort();
    enqueue_times.sort();
    (waits, percentile(&enqueue_times, 50.0))
}

async fn run(database_url: Option<&str>, jobs: usize, workers: usize, max_batch: u64) -> String {
    let bench = BenchDb::new(database_url).await;
    let ctx = support::context(&bench.db);
    let mut report = format!("{} jobs, {workers} workers, {}\n", jobs, bench.label);
    let (one_rate, one_time) = throughput(&ctx, jobs, workers, 1).await;
    report += &format!("one job per round trip:      {one_rate:>8.0} jobs/s ({:.2} s)\n", one_time.as_secs_f64());
    let (batch_rate, batch_time) = throughput(&ctx, jobs, workers, max_batch).await;
    report += &format!(
        "batches of up to {max_batch}:         {batch_rate:>8.0} jobs/s ({:.2} s), {:.1}× one per round trip\n",
        batch_time.as_secs_f64(),
        batch_rate / one_rate
    );
    if bench.label == "PostgreSQL" {
        let met = if batch_rate >= TARGET_JOBS_PER_SECOND { "met" } else { "MISSED" };
        report += &format!("target ≥ {TARGET_JOBS_PER_SECOND:.0} jobs/s: {met}\n");
    }
    let samples = (jobs / 50).clamp(100, 2000);
    let (waits, enqueue_p50) = latency(&ctx, samples, workers, 200.0).await;
    report += &format!(
        "enqueue to start ({samples} jobs at 200/s, idle poll {}): p50 {}, p90 {}, p99 {}, max {}; enqueue itself p50 {}",
        millis(koppel_daemon::process::DaemonOptions::default().idle_poll),
        millis(percentile(&waits, 50.0)),
        millis(percentile(&waits, 90.0)),
        millis(percentile(&waits, 99.0)),
        millis(percentile(&waits, 100.0)),
        millis(enqueue_p50),
    );
    bench.drop_database().await;
    report
}

#[tokio::test]
async fn the_queue_at_ci_size() {
    let report = run(None, 300, 2, DEFAULT_MAX_BATCH).await;
    assert!(report.contains("enqueue to start"), "{report}");
}
