//! A reconcile pass as a job: queued with its run (so the run shows as queued at once), run by a worker,
//! recorded on the run with its counts and events. A failure is recorded on the run and returned, so the
//! queue's retry policy applies (temporary errors back off, permanent ones are dead at once).

use super::{Progress, runs};
use crate::Context;
use crate::error::{EngineError, EngineResult};
use crate::jobs::{self, NewJob};
use koppel_entity::enums::{LinkedEntity, RunState, RunTrigger};
use koppel_entity::{Scoped, integration, job, sync_run};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, TransactionSession, TransactionTrait};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The job kind.
pub const KIND: &str = "reconcile";

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    run_id: Uuid,
}

/// Queues a pass of one integration and entity with its run, and returns the run. A pass already queued
/// or running for them is returned instead of a second one; with a `dedupe_key` (a schedule slot), a key
/// that was queued before queues nothing and returns `None`.
pub async fn queue_pass<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    integration: &integration::Model,
    entity: LinkedEntity,
    trigger: RunTrigger,
    dedupe_key: Option<String>,
) -> Result<Option<sync_run::Model>, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    if let Some(active) = runs::active(&txn, integration, entity).await? {
        txn.commit().await?;
        return Ok(dedupe_key.is_none().then_some(active));
    }
    let run_id = Uuid::now_v7();
    let mut job = NewJob::new(KIND, serde_json::to_value(Payload { run_id }).expect("serialises"))
        .for_integration(integration.account_id, integration.id);
    job.dedupe_key = dedupe_key;
    let Some(job_id) = jobs::enqueue(&txn, job).await? else {
        txn.commit().await?;
        return Ok(None);
    };
    let run = runs::queue(&txn, run_id, integration, entity, trigger, Some(job_id)).await?;
    txn.commit().await?;
    Ok(Some(run))
}

/// Runs the pass a reconcile job names: the pass of its run's entity ([`super::PASSES`]). A run of an
/// entity without a pass fails with a permanent error, so its job is dead at once, not retried.
pub async fn run(ctx: &Context, job: &job::Model) -> EngineResult<()> {
    let payload: Payload = serde_json::from_value(job.payload.clone()).map_err(|e| {
        EngineError::Rejected(crate::problems::Rejected(vec![crate::problems::Problem {
            field: "payload".into(),
            code: crate::problems::ProblemCode::Invalid,
            message: e.to_string(),
        }]))
    })?;
    let Some(run) = sync_run::Entity::find_by_id(payload.run_id).one(&ctx.db).await? else {
        tracing::warn!(run = %payload.run_id, "the run is gone (its integration was deleted): nothing to do");
        return Ok(());
    };
    // A job taken again after its worker died may find its run already done: nothing to redo. A failed
    // run is an earlier attempt: this attempt runs the pass again (passes are level-triggered).
    if run.state == RunState::Succeeded {
        return Ok(());
    }
    let Some(integration) = integration::Entity::find_by_id_in(run.account_id, run.integration_id).one(&ctx.db).await?
    else {
        return Ok(());
    };
    let run = runs::start(&ctx.db, run).await?;
    // A disabled integration is not synchronised by its schedule; a person may still ask for a pass.
    if !integration.enabled && run.trigger == RunTrigger::Schedule {
        runs::fail(&ctx.db, run, "the integration is disabled").await?;
        return Ok(());
    }
    let progress = Progress::channel().0;
    let shown = show_progress(ctx, &run, &progress);
    let outcome = super::reconcile(ctx, &integration, run.entity, true, &progress, &runs::RunRecorder(&run)).await;
    shown.abort();
    match outcome {
        Ok(report) => {
            runs::finish(&ctx.db, run, &report).await?;
            Ok(())
        }
        Err(error) => {
            runs::fail(&ctx.db, run, &format!("{}: {error}", error.label())).await?;
            Err(error)
        }
    }
}

/// Writes the pass's progress onto its run as it goes, at most once a second, from a task of its own:
/// on SQLite the pass may hold the write lock, and waiting for it must not stop the pass. Abort the
/// task when the pass is over (a write it still makes touches only a run that is still running).
fn show_progress(ctx: &Context, run: &sync_run::Model, progress: &Progress) -> tokio::task::JoinHandle<()> {
    let Some(mut steps) = progress.follow() else { return tokio::spawn(async {}) };
    let (db, run) = (ctx.db.clone(), run.clone());
    tokio::spawn(async move {
        while steps.changed().await.is_ok() {
            let step = *steps.borrow_and_update();
            if let Err(error) = runs::progress(&db, &run, step).await {
                tracing::warn!(%error, "cannot record the pass's progress");
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    })
}

/// Runs a pass of `entity` now, while the caller waits (`koppel sync`), recorded as a run of `trigger`
/// with its counts, progress and events like a scheduled one; `progress` is told as it goes too.
pub async fn run_now(
    ctx: &Context,
    integration: &integration::Model,
    entity: LinkedEntity,
    trigger: RunTrigger,
    progress: &Progress,
) -> EngineResult<(sync_run::Model, super::PassReport)> {
    let run = runs::queue(&ctx.db, Uuid::now_v7(), integration, entity, trigger, None).await?;
    let run = runs::start(&ctx.db, run).await?;
    let shown = show_progress(ctx, &run, progress);
    let outcome = super::reconcile(ctx, integration, entity, true, progress, &runs::RunRecorder(&run)).await;
    shown.abort();
    match outcome {
        Ok(report) => Ok((runs::finish(&ctx.db, run, &report).await?, report)),
        Err(error) => {
            let message = format!("{}: {error}", error.label());
            let run = runs::fail(&ctx.db, run, &message).await?;
            // Nothing retries a pass run while the caller waits: its failure is the alert.
            crate::alerts::raise(&ctx.db, crate::alerts::Alert::of_run(&run, "failed", message)).await?;
            Err(error)
        }
    }
}
