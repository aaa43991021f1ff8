//! What `koppel daemon` runs (and `koppel serve` in-process unless `--no-daemon`): the schedule and a
//! few workers over the shared job queue, until shutdown.

use crate::Context;
use crate::error::EngineError;
use crate::jobs::worker::{self, JobHandler, WorkerConfig};
use crate::problems::{Problem, ProblemCode, Rejected};
use crate::reconcile;
use async_trait::async_trait;
use koppel_entity::job;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub workers: usize,
    pub lease: Duration,
    pub idle_poll: Duration,
    /// How often each integration's products are reconciled.
    pub products_every: Duration,
    /// How often the schedule looks for due slots.
    pub schedule_tick: Duration,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        Self {
            workers: 2,
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(500),
            products_every: Duration::from_secs(15 * 60),
            schedule_tick: Duration::from_secs(30),
        }
    }
}

/// Runs jobs by kind.
struct Dispatch;

#[async_trait]
impl JobHandler for Dispatch {
    async fn run(&self, ctx: &Context, job: &job::Model) -> Result<(), EngineError> {
        match job.kind.as_str() {
            reconcile::job::KIND => reconcile::job::run(ctx, job).await,
            other => Err(EngineError::Rejected(Rejected(vec![Problem {
                field: "kind".into(),
                code: ProblemCode::Unknown,
                message: format!("this daemon does not know jobs of kind {other}"),
            }]))),
        }
    }
}

/// Runs the schedule and the workers until `shutdown` turns true, then waits for jobs in flight.
pub async fn run(ctx: Context, options: DaemonOptions, shutdown: watch::Receiver<bool>) {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "koppel".into());
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(crate::schedule::run(ctx.db.clone(), options.products_every, options.schedule_tick, shutdown.clone()));
    let handler: Arc<dyn JobHandler> = Arc::new(Dispatch);
    for n in 0..options.workers.max(1) {
        let config = WorkerConfig {
            owner: format!("{host}:{}:{n}", std::process::id()),
            lease: options.lease,
            idle_poll: options.idle_poll,
        };
        tasks.spawn(worker::run(ctx.clone(), config, handler.clone(), shutdown.clone()));
    }
    tracing::info!(workers = options.workers, "the daemon is running");
    while tasks.join_next().await.is_some() {}
    tracing::info!("the daemon stopped");
}
