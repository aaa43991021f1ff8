//! Log retention as a job of its own kind: once a night ([`NIGHTLY`], 03:30 on Amsterdam's clock) the
//! schedule queues one `retention` job with the dedupe key `retention:<that night's slot>`, so however
//! many daemons tick, one purge runs per night; a daemon that was down at 03:30 queues the missed night
//! when it starts. The purge deletes events, finished runs and finished jobs older than the retention.

use crate::Context;
use crate::error::EngineResult;
use crate::jobs::NewJob;
use crate::slots::Schedule;
use chrono::{DateTime, Utc};
use koppel_entity::enums::{JobState, RunState};
use koppel_entity::{job, sync_event, sync_run};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use std::sync::LazyLock;
use std::time::Duration;

/// The job kind.
pub const KIND: &str = "retention";

/// When the purge runs: at night, when little else does. 03:30 happens exactly once every night in
/// Amsterdam (the clocks change between 02:00 and 03:00).
pub static NIGHTLY: LazyLock<Schedule> =
    LazyLock::new(|| Schedule::times_of_day(&["03:30"]).expect("a valid time of day"));

/// The night's slot at or before `now`, and the job that purges for it.
pub fn due(now: DateTime<Utc>) -> Option<(DateTime<Utc>, NewJob)> {
    let slot = NIGHTLY.latest_at_or_before(now)?;
    let job = NewJob::new(KIND, serde_json::json!({ "slot": slot })).dedupe(dedupe_key(slot));
    Some((slot, job))
}

pub fn dedupe_key(slot: DateTime<Utc>) -> String {
    format!("{KIND}:{}", slot.to_rfc3339())
}

/// Runs a retention job: purges what is older than `retention` now.
#[tracing::instrument(skip_all, fields(job = %job.id))]
pub async fn run(ctx: &Context, job: &job::Model, retention: Duration) -> EngineResult<()> {
    purge(&ctx.db, Utc::now(), retention).await?;
    Ok(())
}

/// Deletes events, finished runs and finished jobs older than `retention`; returns the events deleted.
pub async fn purge(db: &impl ConnectionTrait, now: DateTime<Utc>, retention: Duration) -> Result<u64, DbErr> {
    let before = now - chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::days(30));
    let events = sync_event::Entity::delete_many().filter(sync_event::Column::CreatedAt.lt(before)).exec(db).await?;
    sync_run::Entity::delete_many()
        .filter(sync_run::Column::State.is_in([RunState::Succeeded, RunState::Failed]))
        .filter(sync_run::Column::FinishedAt.lt(before))
        .exec(db)
        .await?;
    // Finished jobs go too: their dedupe keys name slots older than the retention, which the schedule
    // never queues again (it catches up on slots within the retention only).
    job::Entity::delete_many()
        .filter(job::Column::State.is_in([JobState::Done, JobState::Dead]))
        .filter(job::Column::FinishedAt.lt(before))
        .exec(db)
        .await?;
    tracing::info!(events = events.rows_affected, before = %before, "past the retention: purged");
    Ok(events.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn one_slot_per_night_at_half_past_three_in_amsterdam() {
        let winter = Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        let (slot, job) = due(winter).unwrap();
        assert_eq!(slot, Utc.with_ymd_and_hms(2026, 12, 2, 2, 30, 0).unwrap(), "03:30 CET");
        assert_eq!(job.dedupe_key.as_deref(), Some("retention:2026-12-02T02:30:00+00:00"));
        let before_the_night = Utc.with_ymd_and_hms(2026, 12, 3, 2, 29, 59).unwrap();
        assert_eq!(due(before_the_night).unwrap().0, slot, "the same night until 03:30");
        let summer = Utc.with_ymd_and_hms(2026, 7, 2, 1, 30, 0).unwrap();
        assert_eq!(due(summer).unwrap().0, summer, "03:30 CEST");
        // Two daemons ticking a moment apart name the same night.
        let later = summer + chrono::Duration::milliseconds(1_234);
        assert_eq!(due(later).unwrap().1.dedupe_key, due(summer).unwrap().1.dedupe_key);
    }
}
