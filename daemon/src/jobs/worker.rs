//! A worker: claims due jobs, runs them with their leases renewed, and records the outcome.
//!
//! Short jobs are claimed in batches: the batch doubles (up to [`WorkerConfig::max_batch`]) while its
//! jobs finish quickly and falls back to one job when one takes a while, so that a long job never keeps
//! other claimed jobs waiting that another worker could have run. Every job of a batch holds its own
//! lease, renewed with the batch's until its outcome is recorded; successes are recorded together.

use super::{Failed, claim_batch, complete_many, fail, renew_many};
use crate::Context;
use crate::error::EngineError;
use async_trait::async_trait;
use koppel_entity::job;
use sea_orm::{DatabaseTransaction, DbErr};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

/// What runs the jobs of the kinds a daemon knows.
#[async_trait]
pub trait JobHandler: Send + Sync {
    async fn run(&self, ctx: &Context, job: &job::Model) -> Result<(), EngineError>;

    /// Called once when a job dies (a permanent error, or its last attempt failed), in the transaction
    /// that marks it dead: what it writes (an alert) is stored with the job's end or not at all.
    async fn dead(&self, _txn: &DatabaseTransaction, _job: &job::Model, _error: &EngineError) -> Result<(), DbErr> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Who holds the leases: unique per worker (`<host>:<pid>:<n>`).
    pub owner: String,
    /// How long a claim lasts without renewal; renewed every third of it while the job runs.
    pub lease: Duration,
    /// How long to wait when nothing is due.
    pub idle_poll: Duration,
    /// The most jobs claimed in one round trip.
    pub max_batch: u64,
}

/// The batch size a worker uses unless configured otherwise.
pub const DEFAULT_MAX_BATCH: u64 = 32;

/// A batch whose jobs took at most this long each is followed by a larger one.
const QUICK_JOB: Duration = Duration::from_millis(5);

/// Runs jobs until `shutdown` turns true; the jobs in flight (one batch) are finished first.
pub async fn run(
    ctx: Context,
    config: WorkerConfig,
    handler: Arc<dyn JobHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch = 1;
    loop {
        if *shutdown.borrow() {
            return;
        }
        match claim_batch(&ctx.db, &config.owner, config.lease, chrono::Utc::now(), batch).await {
            Ok(claimed) if !claimed.is_empty() => {
                let now = chrono::Utc::now();
                for job in &claimed {
                    crate::telemetry::job_claimed(&job.kind, (now - job.run_after).to_std().unwrap_or_default());
                }
                let started = Instant::now();
                let jobs = claimed.len() as u32;
                run_batch(&ctx, &config, handler.as_ref(), claimed).await;
                batch =
                    if started.elapsed() <= QUICK_JOB * jobs { (batch * 2).min(config.max_batch.max(1)) } else { 1 };
            }
            Ok(_) => {
                tokio::select! {
                    _ = tokio::time::sleep(config.idle_poll) => {}
                    _ = shutdown.changed() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot claim jobs; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(config.idle_poll.max(Duration::from_secs(1))) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

/// The leases of one batch: the jobs whose outcome is not recorded yet, renewed on one schedule.
struct Leases<'a> {
    ctx: &'a Context,
    config: &'a WorkerConfig,
    held: Mutex<HashSet<Uuid>>,
    next_renewal: Mutex<Instant>,
}

impl Leases<'_> {
    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<Uuid>> {
        self.held.lock().expect("not poisoned")
    }

    /// Renews the batch's leases every third of the lease until `id`'s is lost (another worker took it
    /// after it expired); never returns while it is held.
    async fn until_lost(&self, id: Uuid) {
        loop {
            let at = *self.next_renewal.lock().expect("not poisoned");
            tokio::time::sleep_until(at).await;
            *self.next_renewal.lock().expect("not poisoned") = Instant::now() + self.config.lease / 3;
            let ids: Vec<Uuid> = self.held().iter().copied().collect();
            match renew_many(&self.ctx.db, &ids, &self.config.owner, self.config.lease).await {
                Ok(kept) => {
                    let kept: HashSet<Uuid> = kept.into_iter().collect();
                    self.held().retain(|id| kept.contains(id));
                    if !kept.contains(&id) {
                        return;
                    }
                }
                Err(error) => tracing::warn!(%error, "cannot renew the leases"),
            }
        }
    }
}

/// Runs one claimed job with its lease renewed, and records the outcome (a batch of one).
pub async fn run_one(ctx: &Context, config: &WorkerConfig, handler: &dyn JobHandler, claimed: job::Model) {
    run_batch(ctx, config, handler, vec![claimed]).await
}

async fn run_batch(ctx: &Context, config: &WorkerConfig, handler: &dyn JobHandler, claimed: Vec<job::Model>) {
    let leases = Leases {
        ctx,
        config,
        held: Mutex::new(claimed.iter().map(|j| j.id).collect()),
        next_renewal: Mutex::new(Instant::now() + config.lease / 3),
    };
    let mut succeeded = Vec::with_capacity(claimed.len());
    for job in claimed {
        if !leases.held().contains(&job.id) {
            // Lost while it waited its turn: another worker has it now.
            continue;
        }
        if run_in_batch(ctx, config, handler, &leases, &job).await {
            succeeded.push(job.id);
        }
    }
    if let Err(error) = complete_many(&ctx.db, &succeeded, &config.owner).await {
        // The leases run out and another worker takes the jobs again: nothing is lost.
        tracing::warn!(%error, jobs = succeeded.len(), "cannot record the jobs' outcome");
    }
}

/// Runs one job of a batch; `true` when it succeeded (recorded with the batch), a failure is recorded
/// at once.
#[tracing::instrument(skip_all, fields(job = %claimed.id, kind = %claimed.kind, attempt = claimed.attempts))]
async fn run_in_batch(
    ctx: &Context,
    config: &WorkerConfig,
    handler: &dyn JobHandler,
    leases: &Leases<'_>,
    claimed: &job::Model,
) -> bool {
    let outcome = tokio::select! {
        outcome = handler.run(ctx, claimed) => outcome,
        () = leases.until_lost(claimed.id) => {
            tracing::warn!("lease lost: another worker took the job");
            return false;
        }
    };
    let error = match outcome {
        Ok(()) => return true,
        Err(error) => error,
    };
    leases.held().remove(&claimed.id);
    if let Err(db) = record_failure(ctx, config, handler, claimed, &error).await {
        // The lease runs out and another worker takes the job again: nothing is lost.
        tracing::warn!(error = %db, "cannot record the job's outcome");
    }
    false
}

/// Records a failed attempt: a retry, or the job's death together with what the handler does about it.
async fn record_failure(
    ctx: &Context,
    config: &WorkerConfig,
    handler: &dyn JobHandler,
    claimed: &job::Model,
    error: &EngineError,
) -> Result<(), DbErr> {
    let txn = crate::db::begin_write(&ctx.db).await?;
    match fail(&txn, claimed, &config.owner, error).await? {
        Failed::Retry { at } => {
            txn.commit().await?;
            tracing::warn!(%error, label = error.label(), retry_at = %at, "job failed; will retry");
        }
        Failed::Dead => {
            handler.dead(&txn, claimed, error).await?;
            txn.commit().await?;
            tracing::error!(%error, label = error.label(), "job failed for good");
        }
        Failed::LeaseLost => tracing::warn!(%error, "job failed after its lease was lost; its new owner records it"),
    }
    Ok(())
}
