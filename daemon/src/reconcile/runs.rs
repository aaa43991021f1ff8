//! Sync runs: what people see of a pass — trigger, state, progress and counts — and the events that
//! say what came from the remote and what was written.
//!
//! A failed pass is a `warn` event of its run: the job queue may try it again, and raises the one
//! alert if it gives up ([`crate::alerts`]). A pass held back by the brake is an alert at once.

use super::{ChangeAction, PassReport};
use crate::alerts::{self, Alert};
use chrono::Utc;
use koppel_entity::enums::{Direction, EventLevel, LinkedEntity, RunState, RunTrigger};
use koppel_entity::{integration, sync_event, sync_run, sync_state};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, TransactionSession,
    TransactionTrait,
};
use uuid::Uuid;

/// A new, queued run of one integration and entity.
pub async fn queue(
    db: &impl ConnectionTrait,
    id: Uuid,
    integration: &integration::Model,
    entity: LinkedEntity,
    trigger: RunTrigger,
    job_id: Option<Uuid>,
) -> Result<sync_run::Model, DbErr> {
    sync_run::ActiveModel {
        id: Set(id),
        account_id: Set(integration.account_id),
        integration_id: Set(integration.id),
        entity: Set(entity),
        trigger: Set(trigger),
        state: Set(RunState::Queued),
        job_id: Set(job_id),
        progress_done: Set(0),
        progress_total: Set(None),
        created: Set(0),
        updated: Set(0),
        unchanged: Set(0),
        deactivated: Set(0),
        deleted: Set(0),
        ignored: Set(0),
        failed: Set(0),
        held_back: Set(None),
        error: Set(None),
        queued_at: Set(Utc::now()),
        started_at: Set(None),
        finished_at: Set(None),
    }
    .insert(db)
    .await
}

/// The queued or running run of an integration and entity, if there is one.
pub async fn active(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
) -> Result<Option<sync_run::Model>, DbErr> {
    sync_run::Entity::find()
        .filter(sync_run::Column::AccountId.eq(integration.account_id))
        .filter(sync_run::Column::IntegrationId.eq(integration.id))
        .filter(sync_run::Column::Entity.eq(entity))
        .filter(sync_run::Column::State.is_in([RunState::Queued, RunState::Running]))
        .one(db)
        .await
}

pub async fn start(db: &impl ConnectionTrait, run: sync_run::Model) -> Result<sync_run::Model, DbErr> {
    let mut active: sync_run::ActiveModel = run.into();
    active.state = Set(RunState::Running);
    active.started_at = Set(Some(Utc::now()));
    active.error = Set(None);
    let run = active.update(db).await?;
    // Every change of a run is an event too, so that live progress follows one table.
    let started = NewEvent::of_run(EventLevel::Debug, run.entity, "run_started", "the pass started".into());
    record(db, &run, started).await?;
    Ok(run)
}

/// How many runs there are by state, and how many alert events are kept, for `/metrics` (operator
/// figures over every account, never shown per tenant).
pub async fn counts(db: &impl ConnectionTrait) -> Result<(Vec<(RunState, i64)>, i64), DbErr> {
    use sea_orm::{PaginatorTrait, QuerySelect};
    let runs = sync_run::Entity::find()
        .select_only()
        .column(sync_run::Column::State)
        .column_as(sync_run::Column::Id.count(), "count")
        .group_by(sync_run::Column::State)
        .into_tuple()
        .all(db)
        .await?;
    let alerts = sync_event::Entity::find().filter(sync_event::Column::Level.eq(EventLevel::Alert)).count(db).await?;
    Ok((runs, alerts as i64))
}

/// Records a finished pass: counts, progress, and an event per change; an alert when the brake held it
/// back. The run succeeds only when its counts add up to the records it went through.
pub async fn finish<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    run: sync_run::Model,
    report: &PassReport,
) -> Result<sync_run::Model, DbErr> {
    let count = |action| report.count(action) as i32;
    let total = report.changes.len() as i32;
    let counted = ChangeAction::ALL.into_iter().map(count).sum::<i32>();
    // All of it or nothing: a daemon that dies here leaves the run to be finished by the next attempt,
    // not half its events written twice.
    let txn = crate::db::begin_write(db).await?;
    let db = &txn;
    // What the pass wrote was told batch by batch ([`RunRecorder`]); what it only saw is told here.
    let rows: Vec<sync_event::ActiveModel> = report
        .changes
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                ChangeAction::Ignore | ChangeAction::NotImported | ChangeAction::Unmapped | ChangeAction::Unmatched
            )
        })
        .map(|change| event_row(&run, change_event(&run, change)))
        .collect();
    // A statement per 500 events rather than one per event (a large pass changes thousands).
    for chunk in rows.chunks(500) {
        sync_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    if let Some(reason) = &report.held_back {
        alerts::raise(db, Alert::of_run(&run, "held_back", reason.to_string())).await?;
    }
    for action in ChangeAction::ALL {
        let n = report.count(action) as u64;
        if n > 0 {
            crate::telemetry::records(run.entity.as_str(), action_label(action), n);
        }
    }
    // The records written are counted from the run's events: an attempt cut off after some batches
    // told what those wrote, and this attempt sees them unchanged.
    let told = written_counts(db, &run).await?;
    let told_of = |action: ChangeAction| told.get(&action).copied().unwrap_or(0);
    let written_now: i32 = WRITTEN.into_iter().map(count).sum();
    let written_before: i32 = WRITTEN.into_iter().map(told_of).sum::<i32>() - written_now;
    // Those an earlier attempt wrote are unchanged to this one.
    let unchanged = count(ChangeAction::Unchanged) - written_before;
    let adds_up = counted == total && written_before >= 0 && unchanged >= 0;
    let mut active: sync_run::ActiveModel = run.into();
    active.state = Set(if adds_up { RunState::Succeeded } else { RunState::Failed });
    active.progress_done = Set(total);
    active.progress_total = Set(Some(total));
    active.created = Set(told_of(ChangeAction::Create));
    // A record switched on again, or linked to its twin, counts as updated: the counts keep their shape.
    active.updated =
        Set(told_of(ChangeAction::Update) + told_of(ChangeAction::Reactivate) + told_of(ChangeAction::Link));
    active.unchanged = Set(unchanged.max(0));
    active.deactivated = Set(told_of(ChangeAction::Deactivate));
    active.deleted = Set(told_of(ChangeAction::Delete));
    // What the pass only saw and left alone counts as ignored, unmapped statuses too.
    active.ignored = Set(count(ChangeAction::Ignore)
        + count(ChangeAction::NotImported)
        + count(ChangeAction::Unmapped)
        + count(ChangeAction::Unmatched));
    active.failed = Set(told_of(ChangeAction::Failed));
    active.held_back = Set(report.held_back.map(|h| h.to_string()));
    active.error = Set((!adds_up).then(|| format!("the counts ({counted}) do not add up to {total} records")));
    active.finished_at = Set(Some(Utc::now()));
    let run = active.update(db).await?;
    let changed = [
        ChangeAction::Update,
        ChangeAction::Reactivate,
        ChangeAction::Deactivate,
        ChangeAction::Delete,
        ChangeAction::Create,
        ChangeAction::Link,
    ]
    .into_iter()
    .any(|action| told_of(action) > 0);
    checked(db, &run, changed).await?;
    observe_duration(&run);
    let message = format!("the pass finished: {}", run.state.as_str());
    let finished = NewEvent::of_run(EventLevel::Debug, run.entity, "run_finished", message);
    record(db, &run, finished).await?;
    txn.commit().await?;
    Ok(run)
}

/// Records how far a running pass is, with a `progress` event so that followers see it move. Only a run
/// still running is touched: a late report never overwrites a finished run's figures.
pub async fn progress<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    run: &sync_run::Model,
    step: super::Step,
) -> Result<(), DbErr> {
    use sea_orm::sea_query::Expr;
    let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    let txn = crate::db::begin_write(db).await?;
    let moved = sync_run::Entity::update_many()
        .col_expr(sync_run::Column::ProgressDone, Expr::value(clamp(step.done)))
        .col_expr(sync_run::Column::ProgressTotal, Expr::value(step.total.map(clamp)))
        .filter(sync_run::Column::Id.eq(run.id))
        .filter(sync_run::Column::State.eq(RunState::Running))
        .exec(&txn)
        .await?;
    if moved.rows_affected == 1 {
        let message = match step.total {
            Some(total) => format!("{} of {total} records", step.done),
            None => format!("{} records read", step.done),
        };
        record(&txn, run, NewEvent::of_run(EventLevel::Debug, run.entity, "progress", message)).await?;
    }
    txn.commit().await
}

/// The actions a pass writes, told batch by batch as they commit.
const WRITTEN: [ChangeAction; 7] = [
    ChangeAction::Update,
    ChangeAction::Create,
    ChangeAction::Link,
    ChangeAction::Reactivate,
    ChangeAction::Deactivate,
    ChangeAction::Delete,
    ChangeAction::Failed,
];

/// Tells a run's events batch by batch, in the transaction of the batch that wrote them.
pub struct RunRecorder<'a>(pub &'a sync_run::Model);

#[async_trait::async_trait]
impl super::Recorder for RunRecorder<'_> {
    async fn written(&self, txn: &sea_orm::DatabaseTransaction, changes: &[&super::Change]) -> Result<(), DbErr> {
        let rows: Vec<sync_event::ActiveModel> =
            changes.iter().map(|change| event_row(self.0, change_event(self.0, change))).collect();
        for chunk in rows.chunks(500) {
            sync_event::Entity::insert_many(chunk.to_vec()).exec_without_returning(txn).await?;
        }
        Ok(())
    }
}

/// The event that tells what a pass did with one record.
fn change_event(run: &sync_run::Model, change: &super::Change) -> NewEvent {
    let (level, action) = match change.action {
        ChangeAction::Update => (EventLevel::Info, "update"),
        ChangeAction::Reactivate => (EventLevel::Info, "reactivate"),
        ChangeAction::Deactivate => (EventLevel::Info, "deactivate"),
        ChangeAction::Delete => (EventLevel::Info, "delete"),
        ChangeAction::Ignore => (EventLevel::Debug, "ignore"),
        ChangeAction::NotImported => (EventLevel::Debug, "not_imported"),
        // Nothing changes until someone maps it: people must hear of it.
        ChangeAction::Unmapped => (EventLevel::Warn, "unmapped"),
        ChangeAction::Failed => (EventLevel::Warn, "failed"),
        ChangeAction::Create => (EventLevel::Info, "create"),
        ChangeAction::Link => (EventLevel::Info, "link"),
        // A person has to link it: they must hear of it.
        ChangeAction::Unmatched => (EventLevel::Warn, "unmatched"),
        ChangeAction::Unchanged => (EventLevel::Debug, "unchanged"),
    };
    let message = match (&change.label, &change.note) {
        (Some(label), Some(note)) => format!("{label}: {note}"),
        (Some(label), None) => format!("{label}: {action}"),
        (None, Some(note)) => note.clone(),
        (None, None) => action.to_owned(),
    };
    NewEvent {
        level,
        entity: Some(run.entity),
        local_id: change.local_id,
        remote_id: Some(change.remote_id.clone()),
        action,
        direction: Some(direction_of(run.entity)),
        message,
        payload: change.payload.clone(),
    }
}

/// Whether a run's records went to the remote (the product push) or came from it (every other pass).
fn direction_of(entity: LinkedEntity) -> Direction {
    if entity == LinkedEntity::ProductPush { Direction::Out } else { Direction::In }
}

/// How many records of each written action the run's events tell (every attempt's).
async fn written_counts(
    db: &impl ConnectionTrait,
    run: &sync_run::Model,
) -> Result<std::collections::HashMap<ChangeAction, i32>, DbErr> {
    use sea_orm::QuerySelect;
    let rows: Vec<(String, i64)> = sync_event::Entity::find()
        .select_only()
        .column(sync_event::Column::Action)
        .column_as(sync_event::Column::Id.count(), "count")
        .filter(sync_event::Column::RunId.eq(run.id))
        .filter(sync_event::Column::Action.is_in(WRITTEN.map(action_label)))
        .group_by(sync_event::Column::Action)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(action, n)| {
            WRITTEN.into_iter().find(|a| action_label(*a) == action).map(|a| (a, i32::try_from(n).unwrap_or(i32::MAX)))
        })
        .collect())
}

/// Records that a pass of the run's integration and entity checked the remote now, and, when it
/// `changed` something, that it synchronised now.
async fn checked(db: &impl ConnectionTrait, run: &sync_run::Model, changed: bool) -> Result<(), DbErr> {
    let at = run.finished_at.unwrap_or_else(Utc::now);
    let existing = sync_state::Entity::find()
        .filter(sync_state::Column::IntegrationId.eq(run.integration_id))
        .filter(sync_state::Column::Entity.eq(run.entity))
        .one(db)
        .await?;
    match existing {
        Some(state) => {
            let mut state: sync_state::ActiveModel = state.into();
            state.last_checked_at = Set(Some(at));
            if changed {
                state.last_synced_at = Set(Some(at));
            }
            state.update(db).await?;
        }
        None => {
            sync_state::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(run.account_id),
                integration_id: Set(run.integration_id),
                entity: Set(run.entity),
                last_checked_at: Set(Some(at)),
                last_synced_at: Set(changed.then_some(at)),
                cursor: Set(None),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// The action's name in events and metrics.
fn action_label(action: ChangeAction) -> &'static str {
    match action {
        ChangeAction::Update => "update",
        ChangeAction::Unchanged => "unchanged",
        ChangeAction::Reactivate => "reactivate",
        ChangeAction::Deactivate => "deactivate",
        ChangeAction::Delete => "delete",
        ChangeAction::Ignore => "ignore",
        ChangeAction::NotImported => "not_imported",
        ChangeAction::Unmapped => "unmapped",
        ChangeAction::Failed => "failed",
        ChangeAction::Create => "create",
        ChangeAction::Link => "link",
        ChangeAction::Unmatched => "unmatched",
    }
}

fn observe_duration(run: &sync_run::Model) {
    if let (Some(started), Some(finished)) = (run.started_at, run.finished_at) {
        let took = (finished - started).to_std().unwrap_or_default();
        crate::telemetry::pass_finished(run.entity.as_str(), run.state.as_str(), took);
    }
}

/// Records a pass that could not run, with a `warn` event: an attempt failed. Whoever gives up on the
/// pass raises the alert (the job queue when the job dies, [`super::job::run_now`] at once).
pub async fn fail(db: &impl ConnectionTrait, run: sync_run::Model, error: &str) -> Result<sync_run::Model, DbErr> {
    let mut active: sync_run::ActiveModel = run.into();
    active.state = Set(RunState::Failed);
    active.error = Set(Some(error.to_owned()));
    active.finished_at = Set(Some(Utc::now()));
    // The run first, then its event: whoever follows the events reads the run as it ended.
    let run = active.update(db).await?;
    observe_duration(&run);
    record(db, &run, NewEvent::of_run(EventLevel::Warn, run.entity, "failed", error.to_owned())).await?;
    Ok(run)
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub level: EventLevel,
    pub entity: Option<LinkedEntity>,
    pub local_id: Option<Uuid>,
    pub remote_id: Option<String>,
    pub action: &'static str,
    pub direction: Option<Direction>,
    pub message: String,
    pub payload: Option<serde_json::Value>,
}

impl NewEvent {
    /// An event about the run as a whole (not one record). Alerts are raised with [`alerts::raise`], which
    /// also queues their webhook delivery.
    pub fn of_run(level: EventLevel, entity: LinkedEntity, action: &'static str, message: String) -> Self {
        Self {
            level,
            entity: Some(entity),
            local_id: None,
            remote_id: None,
            action,
            direction: None,
            message,
            payload: None,
        }
    }
}

/// Writes an event of a run; its payload is redacted first.
pub async fn record(db: &impl ConnectionTrait, run: &sync_run::Model, event: NewEvent) -> Result<(), DbErr> {
    event_row(run, event).insert(db).await?;
    Ok(())
}

/// The row of an event of a run, its payload redacted.
fn event_row(run: &sync_run::Model, event: NewEvent) -> sync_event::ActiveModel {
    sync_event::ActiveModel {
        account_id: Set(run.account_id),
        integration_id: Set(run.integration_id),
        run_id: Set(Some(run.id)),
        level: Set(event.level),
        entity: Set(event.entity),
        local_id: Set(event.local_id),
        remote_id: Set(event.remote_id),
        action: Set(event.action.to_owned()),
        direction: Set(event.direction),
        message: Set(event.message),
        payload: Set(event.payload.map(redact)),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
}

/// Replaces the values of keys that look like secrets, at any depth.
pub fn redact(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    const SECRET: [&str; 9] = [
        "password",
        "secret",
        "token",
        "apikey",
        "api_key",
        "authorization",
        "clientkey",
        "subscriptionkey",
        "koppelsleutel",
    ];
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET.iter().any(|s| lower == *s || lower.ends_with(s)) {
                        (k, Value::String("[redacted]".into()))
                    } else {
                        (k, redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_redacted_at_any_depth() {
        let payload = serde_json::json!({"sku": "A", "key": "rehousing", "apiKey": "s3cret",
                                         "nested": [{"Password": "x", "refresh_token": "r", "name": "n"}]});
        let redacted = super::redact(payload);
        assert_eq!(
            redacted,
            serde_json::json!({"sku": "A", "key": "rehousing", "apiKey": "[redacted]",
                               "nested": [{"Password": "[redacted]", "refresh_token": "[redacted]", "name": "n"}]})
        );
    }
}
