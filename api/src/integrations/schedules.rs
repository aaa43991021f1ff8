//! `Integration.schedules`: when each entity of an integration is reconciled, and when next.

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use koppel_daemon::{schedule, slots};
use koppel_entity::integration;
use std::time::Duration;

/// When one entity of an integration is reconciled.
#[derive(SimpleObject, Clone, Debug)]
pub struct IntegrationSchedule {
    /// The entity the passes are about, e.g. `product`.
    pub entity: String,
    /// As people read it: a cron expression (`*/15 * * * *`), times of day (`07:00, 19:00`), or the
    /// server's interval (`every 15 minutes`).
    pub schedule: String,
    /// The setting that changes it, e.g. `productSyncSchedule`.
    pub setting: String,
    /// Whether it is the default: the integration's settings say nothing about it.
    pub is_default: bool,
    /// The clock the schedule is read on (`Europe/Amsterdam`); null for the server's interval, which
    /// counts from midnight UTC.
    pub time_zone: Option<String>,
    /// When the next pass is queued; null while the integration is disabled.
    pub next_run_at: Option<DateTime<Utc>>,
}

/// The schedules of `model` as the daemon follows them, seen at `now`.
pub fn of(model: &integration::Model, default_every: Duration, now: DateTime<Utc>) -> Vec<IntegrationSchedule> {
    schedule::schedules_of(model, default_every)
        .into_iter()
        .map(|scheduled| IntegrationSchedule {
            entity: scheduled.entity.to_string(),
            schedule: scheduled.schedule.describe().to_owned(),
            setting: scheduled.setting.to_owned(),
            is_default: scheduled.is_default,
            time_zone: scheduled.schedule.is_wall_clock().then(|| slots::ZONE.name().to_owned()),
            next_run_at: if model.enabled { scheduled.schedule.next_after(now) } else { None },
        })
        .collect()
}
