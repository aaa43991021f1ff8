//! The schedule: it only queues passes. Every tick it queues, for each enabled integration and each
//! entity its kind syncs, the pass of the current slot (`every` long), with the dedupe key
//! `reconcile:<integration>:<entity>:<slot start>`: however many daemons tick, a slot runs once, and a
//! disabled integration stops being scheduled at the next tick.

use crate::reconcile;
use chrono::{DateTime, TimeZone, Utc};
use koppel_entity::enums::{LinkedEntity, RunTrigger};
use koppel_entity::{integration, job};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch;

/// The start of the slot `now` falls in.
pub fn slot_start(now: DateTime<Utc>, every: Duration) -> DateTime<Utc> {
    let every = every.as_secs().max(1) as i64;
    let start = now.timestamp().div_euclid(every) * every;
    Utc.timestamp_opt(start, 0).single().unwrap_or(now)
}

/// Queues the current slot's passes; returns how many were new.
pub async fn queue_due_passes(db: &DatabaseConnection, now: DateTime<Utc>, every: Duration) -> Result<usize, DbErr> {
    let slot = slot_start(now, every);
    // The schedule works for every tenant: this is the one read of integrations across accounts.
    let enabled = integration::Entity::find().filter(integration::Column::Enabled.eq(true)).all(db).await?;
    let wanted: Vec<(&integration::Model, LinkedEntity, String)> = enabled
        .iter()
        .flat_map(|integration| {
            let entities = crate::connectors::kind(&integration.kind).map(|k| k.synced_entities).unwrap_or_default();
            entities.iter().map(move |entity| {
                (integration, *entity, format!("reconcile:{}:{entity}:{}", integration.id, slot.to_rfc3339()))
            })
        })
        .collect();
    // Most ticks find every slot queued already: one read tells which, instead of a write transaction
    // per integration and tick.
    let mut taken: HashSet<String> = HashSet::new();
    for keys in wanted.chunks(500) {
        let found: Vec<Option<String>> = job::Entity::find()
            .select_only()
            .column(job::Column::DedupeKey)
            .filter(job::Column::DedupeKey.is_in(keys.iter().map(|(_, _, key)| key.clone())))
            .into_tuple()
            .all(db)
            .await?;
        taken.extend(found.into_iter().flatten());
    }
    let mut queued = 0;
    for (integration, entity, key) in wanted {
        if taken.contains(&key) {
            continue;
        }
        if reconcile::job::queue_pass(db, integration, entity, RunTrigger::Schedule, Some(key)).await?.is_some() {
            queued += 1;
        }
    }
    if queued > 0 {
        tracing::info!(queued, slot = %slot, "scheduled passes queued");
    }
    Ok(queued)
}

/// How the schedule ticks.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The slot length: each integration's products are reconciled once per slot.
    pub every: Duration,
    /// How often to look for a new slot.
    pub tick: Duration,
    /// How long finished runs, their events and finished jobs are kept.
    pub retention: Duration,
}

/// Ticks until `shutdown` turns true: queues due passes, and purges what is past its retention.
pub async fn run(db: DatabaseConnection, timing: Timing, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let now = Utc::now();
        if let Err(error) = queue_due_passes(&db, now, timing.every).await {
            tracing::warn!(%error, "cannot queue the scheduled passes; trying again at the next tick");
        }
        if let Err(error) = purge(&db, now, timing.retention).await {
            tracing::warn!(%error, "cannot purge old runs and events; trying again at the next tick");
        }
        tokio::select! {
            _ = tokio::time::sleep(timing.tick) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// Deletes events, finished runs and finished jobs older than `retention`; returns the events deleted.
pub async fn purge(db: &DatabaseConnection, now: DateTime<Utc>, retention: Duration) -> Result<u64, DbErr> {
    use koppel_entity::enums::{JobState, RunState};
    use koppel_entity::{job, sync_event, sync_run};
    let before = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(30));
    let events = sync_event::Entity::delete_many().filter(sync_event::Column::CreatedAt.lt(before)).exec(db).await?;
    sync_run::Entity::delete_many()
        .filter(sync_run::Column::State.is_in([RunState::Succeeded, RunState::Failed]))
        .filter(sync_run::Column::FinishedAt.lt(before))
        .exec(db)
        .await?;
    // Finished jobs go too: their dedupe keys name past slots, which are never queued again.
    job::Entity::delete_many()
        .filter(job::Column::State.is_in([JobState::Done, JobState::Dead]))
        .filter(job::Column::FinishedAt.lt(before))
        .exec(db)
        .await?;
    if events.rows_affected > 0 {
        tracing::info!(events = events.rows_affected, before = %before, "old events purged");
    }
    Ok(events.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_aligned() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 7, 14, 59).unwrap();
        assert_eq!(slot_start(at, Duration::from_secs(15 * 60)), Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap());
        let next = Utc.with_ymd_and_hms(2026, 12, 2, 7, 15, 0).unwrap();
        assert_eq!(slot_start(next, Duration::from_secs(15 * 60)), next);
    }
}
