//! A worker: claims due jobs, runs them with their lease renewed, and records the outcome.

use super::{Failed, claim, complete, fail, renew};
use crate::Context;
use crate::error::EngineError;
use async_trait::async_trait;
use koppel_entity::job;
use sea_orm::{DatabaseTransaction, DbErr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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
}

/// Runs jobs until `shutdown` turns true; a job in flight is finished first.
pub async fn run(
    ctx: Context,
    config: WorkerConfig,
    handler: Arc<dyn JobHandler>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        match claim(&ctx.db, &config.owner, config.lease, chrono::Utc::now()).await {
            Ok(Some(claimed)) => {
                let waited = (chrono::Utc::now() - claimed.run_after).to_std().unwrap_or_default();
                crate::telemetry::job_claimed(&claimed.kind, waited);
                run_one(&ctx, &config, handler.as_ref(), claimed).await
            }
            Ok(None) => {
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

/// Runs one claimed job with its lease renewed, and records the outcome.
#[tracing::instrument(skip_all, fields(job = %claimed.id, kind = %claimed.kind, attempt = claimed.attempts))]
pub async fn run_one(ctx: &Context, config: &WorkerConfig, handler: &dyn JobHandler, claimed: job::Model) {
    let renewing = async {
        let mut every = tokio::time::interval(config.lease / 3);
        every.tick().await;
        loop {
            every.tick().await;
            match renew(&ctx.db, claimed.id, &config.owner, config.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!("lease lost: another worker took the job");
                    return;
                }
                Err(error) => tracing::warn!(%error, "cannot renew the lease"),
            }
        }
    };
    let outcome = tokio::select! {
        outcome = handler.run(ctx, &claimed) => Some(outcome),
        () = renewing => None,
    };
    let recorded = match outcome {
        None => return,
        Some(Ok(())) => complete(&ctx.db, claimed.id, &config.owner).await.map(|_| ()),
        Some(Err(error)) => record_failure(ctx, config, handler, &claimed, &error).await,
    };
    if let Err(error) = recorded {
        // The lease runs out and another worker takes the job again: nothing is lost.
        tracing::warn!(%error, "cannot record the job's outcome");
    }
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
