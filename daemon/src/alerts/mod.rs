//! Alerts: what an operator must act on at once — a job that died (its last attempt failed, or its
//! error was permanent), a pass held back by the brake, a pass that failed with nothing left to retry
//! it. A failed attempt that the queue will retry is not an alert (its run records a `warn` event).
//!
//! An alert is a sync event of level `alert`, streamed like every event, and — when the account has an
//! alert webhook ([`webhook`]) — a delivery job ([`delivery`]) written in the same transaction (the
//! outbox pattern): the event and its delivery are stored together or not at all, and the queue
//! retries the POST with backoff, so an alert reaches the receiver even if it is down for a while.

pub mod delivery;
pub mod signature;
pub mod webhook;

use crate::error::EngineError;
use chrono::Utc;
use koppel_entity::enums::{EventLevel, LinkedEntity};
use koppel_entity::{Scoped, job, sync_event, sync_run};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

/// An alert to raise.
#[derive(Debug, Clone)]
pub struct Alert {
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub run_id: Option<Uuid>,
    pub entity: Option<LinkedEntity>,
    /// What happened: `held_back`, `failed` (a pass nothing retries), `dead` (a job given up).
    pub action: &'static str,
    pub message: String,
}

impl Alert {
    /// An alert about a run.
    pub fn of_run(run: &sync_run::Model, action: &'static str, message: String) -> Self {
        Self {
            account_id: run.account_id,
            integration_id: run.integration_id,
            run_id: Some(run.id),
            entity: Some(run.entity),
            action,
            message,
        }
    }
}

/// Records an alert event and, when the account has a webhook, queues its delivery — in one
/// transaction (a savepoint inside the caller's).
pub async fn raise<C: ConnectionTrait + TransactionTrait>(db: &C, alert: Alert) -> Result<sync_event::Model, DbErr> {
    let txn = crate::db::begin_write(db).await?;
    let event = sync_event::ActiveModel {
        account_id: Set(alert.account_id),
        integration_id: Set(alert.integration_id),
        run_id: Set(alert.run_id),
        level: Set(EventLevel::Alert),
        entity: Set(alert.entity),
        local_id: Set(None),
        remote_id: Set(None),
        action: Set(alert.action.to_owned()),
        direction: Set(None),
        message: Set(alert.message),
        payload: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let webhook = webhook::find(&txn, alert.account_id).await?.is_some();
    if webhook {
        crate::jobs::enqueue(&txn, delivery::job(&event)).await?;
    }
    txn.commit().await?;
    crate::telemetry::alert_raised(alert.action);
    tracing::warn!(
        event = event.id,
        account = %event.account_id,
        integration = %event.integration_id,
        action = alert.action,
        webhook,
        "alert raised"
    );
    Ok(event)
}

/// The one alert for a job that died, raised in the transaction that marked it dead: about its run
/// when it had one (a reconcile pass), else about its integration. A job of no integration has no
/// events to show it in (events belong to an integration): it is logged. A delivery of an alert that
/// died raises none (that would queue another delivery to the same receiver): the webhook's
/// `lastError` and the dead job show it.
pub async fn job_died<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    job: &job::Model,
    error: &EngineError,
) -> Result<(), DbErr> {
    let (Some(account_id), Some(integration_id)) = (job.account_id, job.integration_id) else {
        tracing::error!(job = %job.id, kind = %job.kind, label = error.label(), "a job of no integration died");
        return Ok(());
    };
    if job.kind == delivery::KIND {
        tracing::error!(job = %job.id, label = error.label(), "an alert could not be delivered to the webhook");
        return Ok(());
    }
    let run = sync_run::Entity::find_in(account_id).filter(sync_run::Column::JobId.eq(job.id)).one(db).await?;
    let attempts = match job.attempts {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    };
    let message = format!("the {} job failed for good after {attempts}: {}: {error}", job.kind, error.label());
    let alert = match &run {
        Some(run) => Alert::of_run(run, "dead", message),
        None => Alert { account_id, integration_id, run_id: None, entity: None, action: "dead", message },
    };
    raise(db, alert).await?;
    Ok(())
}
