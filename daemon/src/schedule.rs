//! The schedule: it only queues jobs, never runs a pass itself.
//!
//! Each integration says when its passes run, per entity, in its settings
//! ([`crate::connectors::SCHEDULE_SETTINGS`]: products, customers and invoices on a cron expression,
//! sale statuses at times of day, all on Amsterdam's clock); an integration that sets nothing gets the
//! setting's default (customers hourly on the hour, invoices hourly at ten past), or for products the
//! operator's interval (`KOPPEL_PRODUCT_SYNC_MINUTES`); the product push, which writes to the remote,
//! runs on a schedule only where `productPushSchedule` is set. Log retention runs nightly
//! ([`crate::retention`]).
//!
//! **Shape.** tokio-cron-scheduler drives one short job, the *sweep*, every tick (and once at start). A
//! sweep reads the enabled integrations once, computes for each integration and scheduled entity the
//! latest slot at or before now ([`crate::slots`]), and queues the slots not queued yet, with the dedupe
//! key `reconcile:<integration>:<entity>:<slot>` naming the slot's *scheduled* time; the night's
//! retention job and the file sweep ([`crate::files::sweep`]) are queued the same way (`retention:<slot>`,
//! `file_sweep:<slot>`). Hence:
//! - any number of daemons on one PostgreSQL queue each slot exactly once (the dedupe key is unique);
//! - a daemon that starts mid-slot queues the current slot at once (catch-up after a restart), but no
//!   slot older than the retention (its job, once purged, would otherwise be queued again);
//! - disabling an integration or editing its schedule takes effect at the next tick, as every sweep
//!   reads the table afresh — one read per tick, not per integration, whatever the number of schedules.
//!
//! One cron job per integration (or a `*_tz` cron job for the nightly slot) would have to be kept in
//! step with the table and would still fire once per daemon; and tokio-cron-scheduler 0.15 turns a job's
//! time zone into the fixed offset of the day it was added, so an Amsterdam 07:00 job would run at 08:00 (or
//! 06:00) after the clocks change until the daemon restarts. Computing slots with croner on the real zone
//! at every tick has neither problem.

use crate::connectors::{FieldType, KindSpec, ScheduleSetting};
use crate::jobs::NewJob;
use crate::slots::Schedule;
use crate::{reconcile, retention};
use chrono::{DateTime, Utc};
use koppel_entity::enums::{LinkedEntity, RunTrigger};
use koppel_entity::{integration, job};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_cron_scheduler::{Job, JobScheduler};

/// How the schedule ticks.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How often to look for due slots.
    pub tick: Duration,
    /// The product schedule of integrations that set none (`KOPPEL_PRODUCT_SYNC_MINUTES`).
    pub default_every: Duration,
    /// How long finished runs, their events and finished jobs are kept; no older slot is caught up on.
    pub retention: Duration,
}

/// One integration's schedule of one entity.
#[derive(Debug, Clone)]
pub struct EntitySchedule {
    pub entity: LinkedEntity,
    /// The setting that changes it, e.g. `productSyncSchedule`.
    pub setting: &'static str,
    pub schedule: Schedule,
    /// Whether it is the default (the integration sets nothing, or something the daemon cannot read).
    pub is_default: bool,
}

/// What `integration` runs on a schedule, and when: its settings, else the kind's default, else (for
/// products) the operator's interval `default_every`. A schedule that runs only when set (the product
/// push) is left out while it is not set. Nothing for a kind Koppel does not know.
pub fn schedules_of(integration: &integration::Model, default_every: Duration) -> Vec<EntitySchedule> {
    let Some(kind) = crate::connectors::kind(&integration.kind) else { return Vec::new() };
    schedules_of_kind(kind, &integration.settings, default_every)
}

fn schedules_of_kind(kind: &KindSpec, settings: &serde_json::Value, default_every: Duration) -> Vec<EntitySchedule> {
    kind.schedules()
        .into_iter()
        .filter_map(|scheduled| {
            let set = settings.get(scheduled.setting.name).filter(|v| !v.is_null());
            if scheduled.only_when_set && set.is_none() {
                return None;
            }
            let (schedule, is_default) = match set.map(|value| parse(scheduled, value)) {
                Some(Ok(schedule)) => (schedule, false),
                Some(Err(_)) if scheduled.only_when_set => return None,
                Some(Err(why)) => {
                    // Settings are checked on save; a value that slipped past (written by hand) is not
                    // worth stopping the integration's passes for.
                    tracing::warn!(setting = scheduled.setting.name, why, "unreadable schedule: the default applies");
                    (default_of(scheduled, default_every), true)
                }
                None => (default_of(scheduled, default_every), true),
            };
            Some(EntitySchedule { entity: scheduled.entity, setting: scheduled.setting.name, schedule, is_default })
        })
        .collect()
}

fn parse(scheduled: &ScheduleSetting, value: &serde_json::Value) -> Result<Schedule, String> {
    match (scheduled.setting.field_type, value) {
        (FieldType::CronSchedule, serde_json::Value::String(expression)) => Schedule::cron(expression),
        (FieldType::TimesOfDay, serde_json::Value::Array(items)) => {
            let times: Vec<&str> = items.iter().filter_map(serde_json::Value::as_str).collect();
            Schedule::times_of_day(&times)
        }
        _ => Err(format!("{value} is not a schedule")),
    }
}

fn default_of(scheduled: &ScheduleSetting, default_every: Duration) -> Schedule {
    scheduled
        .setting
        .default
        .and_then(|json| parse(scheduled, &serde_json::from_str(json).ok()?).ok())
        .unwrap_or_else(|| Schedule::every(default_every))
}

/// A job a sweep wants queued, under the key of its slot.
enum Due<'a> {
    Pass {
        integration: &'a integration::Model,
        entity: LinkedEntity,
    },
    /// A nightly maintenance job: log retention, the file sweep.
    Nightly(NewJob),
}

/// One sweep: queues every slot that is due and not queued yet (each enabled integration's passes, and
/// the night's retention); returns how many jobs were new.
pub async fn queue_due(db: &DatabaseConnection, now: DateTime<Utc>, timing: &Timing) -> Result<usize, DbErr> {
    let oldest = now - chrono::Duration::from_std(timing.retention).unwrap_or(chrono::Duration::days(30));
    // The schedule works for every tenant: this is the one read of integrations across accounts.
    let enabled = integration::Entity::find().filter(integration::Column::Enabled.eq(true)).all(db).await?;
    let mut wanted: Vec<(String, Due)> = Vec::new();
    for integration in &enabled {
        // The pull of sale statuses runs only where it is switched on (it would find nothing to do).
        let pulls =
            crate::connectors::sale_settings::SaleSettings::from_settings(&integration.settings).check_status_updates;
        for scheduled in schedules_of(integration, timing.default_every) {
            if scheduled.entity == koppel_entity::enums::LinkedEntity::SaleStatus && !pulls {
                continue;
            }
            let Some(slot) = scheduled.schedule.latest_at_or_before(now).filter(|slot| *slot >= oldest) else {
                continue;
            };
            let key = pass_key(integration, scheduled.entity, slot);
            wanted.push((key, Due::Pass { integration, entity: scheduled.entity }));
        }
    }
    if let Some((_, job)) = retention::due(now) {
        wanted.push((job.dedupe_key.clone().unwrap_or_default(), Due::Nightly(job)));
    }
    // The file sweep runs in the same nightly slot.
    if let Some(job) = crate::files::sweep::due(now) {
        wanted.push((job.dedupe_key.clone().unwrap_or_default(), Due::Nightly(job)));
    }
    // Most ticks find every slot queued already: one read tells which, instead of a write transaction
    // per integration and tick.
    let mut taken: HashSet<String> = HashSet::new();
    for keys in wanted.chunks(500) {
        let found: Vec<Option<String>> = job::Entity::find()
            .select_only()
            .column(job::Column::DedupeKey)
            .filter(job::Column::DedupeKey.is_in(keys.iter().map(|(key, _)| key.clone())))
            .into_tuple()
            .all(db)
            .await?;
        taken.extend(found.into_iter().flatten());
    }
    let mut queued = 0;
    for (key, due) in wanted {
        if taken.contains(&key) {
            continue;
        }
        let new = match due {
            Due::Pass { integration, entity } => {
                reconcile::job::queue_pass(db, integration, entity, RunTrigger::Schedule, Some(key)).await?.is_some()
            }
            Due::Nightly(new_job) => crate::jobs::enqueue(db, new_job).await?.is_some(),
        };
        queued += usize::from(new);
    }
    if queued > 0 {
        tracing::info!(queued, "scheduled jobs queued");
    }
    Ok(queued)
}

/// The dedupe key of one integration's pass of `entity` in the slot scheduled at `slot`.
pub fn pass_key(integration: &integration::Model, entity: LinkedEntity, slot: DateTime<Utc>) -> String {
    format!("reconcile:{}:{entity}:{}", integration.id, slot.to_rfc3339())
}

/// Sweeps at start (catch-up) and then every tick, on tokio-cron-scheduler, until `shutdown` turns true.
pub async fn run(db: DatabaseConnection, timing: Timing, mut shutdown: watch::Receiver<bool>) {
    // A sweep still running when the next tick comes is left to finish: the next one is skipped.
    let sweeping = Arc::new(tokio::sync::Mutex::new(()));
    sweep(&db, &timing, &sweeping).await;
    let mut scheduler = match start(db, timing, sweeping).await {
        Ok(scheduler) => scheduler,
        Err(error) => {
            tracing::error!(%error, "the schedule cannot start: nothing will be queued by this daemon");
            return;
        }
    };
    while !*shutdown.borrow() {
        if shutdown.changed().await.is_err() {
            break;
        }
    }
    if let Err(error) = scheduler.shutdown().await {
        tracing::warn!(%error, "the schedule did not stop cleanly");
    }
}

async fn start(
    db: DatabaseConnection,
    timing: Timing,
    sweeping: Arc<tokio::sync::Mutex<()>>,
) -> Result<JobScheduler, tokio_cron_scheduler::JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let tick = Job::new_repeated_async(timing.tick, move |_, _| {
        let (db, sweeping) = (db.clone(), sweeping.clone());
        Box::pin(async move { sweep(&db, &timing, &sweeping).await })
    })?;
    scheduler.add(tick).await?;
    scheduler.start().await?;
    Ok(scheduler)
}

async fn sweep(db: &DatabaseConnection, timing: &Timing, sweeping: &tokio::sync::Mutex<()>) {
    let Ok(_one_at_a_time) = sweeping.try_lock() else { return };
    if let Err(error) = queue_due(db, Utc::now(), timing).await {
        tracing::warn!(%error, "cannot queue the scheduled jobs; trying again at the next tick");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::{Capability, ConnectorError};
    use chrono::TimeZone;
    use serde_json::json;

    const FIFTEEN: Duration = Duration::from_secs(15 * 60);

    fn kind(capabilities: &'static [Capability]) -> KindSpec {
        KindSpec {
            kind: "test",
            label: "Test",
            description: "",
            capabilities,
            settings: &[],
            credentials: &[],
            synced_entities: &[LinkedEntity::Product],
            connect: |_| Err(ConnectorError::Unsupported("connect")),
        }
    }

    #[test]
    fn products_follow_the_setting_or_the_operator_default() {
        let products_only = kind(&[Capability::Products]);
        let schedules = schedules_of_kind(&products_only, &json!({}), FIFTEEN);
        assert_eq!(schedules.len(), 1, "no sale statuses without the capability to pull them");
        assert_eq!(
            (schedules[0].entity, schedules[0].schedule.describe()),
            (LinkedEntity::Product, "every 15 minutes")
        );
        assert!(schedules[0].is_default);

        let hourly = schedules_of_kind(&products_only, &json!({"productSyncSchedule": "5 * * * *"}), FIFTEEN);
        assert_eq!(hourly[0].schedule.describe(), "5 * * * *");
        assert!(!hourly[0].is_default);
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 7, 4, 0).unwrap();
        assert_eq!(hourly[0].schedule.latest_at_or_before(at), Utc.with_ymd_and_hms(2026, 12, 2, 6, 5, 0).single());

        let broken = schedules_of_kind(&products_only, &json!({"productSyncSchedule": "often"}), FIFTEEN);
        assert!(broken[0].is_default, "a value written by hand past validation falls back to the default");
    }

    #[test]
    fn sale_statuses_are_scheduled_only_for_kinds_that_pull_them_twice_a_day_by_default() {
        let pulls = kind(&[Capability::Products, Capability::SaleStatusPull]);
        let schedules = schedules_of_kind(&pulls, &json!({}), FIFTEEN);
        let statuses = schedules.iter().find(|s| s.entity == LinkedEntity::SaleStatus).expect("scheduled");
        assert_eq!((statuses.setting, statuses.schedule.describe()), ("saleStatusSyncTimes", "07:00, 19:00"));
        let custom = schedules_of_kind(&pulls, &json!({"saleStatusSyncTimes": ["06:15"]}), FIFTEEN);
        assert_eq!(custom[1].schedule.describe(), "06:15");
        let pushes_only = kind(&[Capability::Products, Capability::SalePush]);
        let schedules = schedules_of_kind(&pushes_only, &json!({}), FIFTEEN);
        assert!(schedules.iter().all(|s| s.entity != LinkedEntity::SaleStatus), "a kind that cannot pull has none");
    }

    #[test]
    fn the_product_push_runs_on_a_schedule_only_when_one_is_set() {
        let pushes = kind(&[Capability::Products, Capability::ProductPush]);
        let unset = schedules_of_kind(&pushes, &json!({}), FIFTEEN);
        assert!(unset.iter().all(|s| s.entity != LinkedEntity::ProductPush), "{unset:?}");
        let set = schedules_of_kind(&pushes, &json!({"productPushSchedule": "30 * * * *"}), FIFTEEN);
        let push = set.iter().find(|s| s.entity == LinkedEntity::ProductPush).expect("scheduled");
        assert_eq!(
            (push.setting, push.schedule.describe(), push.is_default),
            ("productPushSchedule", "30 * * * *", false)
        );
        let broken = schedules_of_kind(&pushes, &json!({"productPushSchedule": "often"}), FIFTEEN);
        assert!(broken.iter().all(|s| s.entity != LinkedEntity::ProductPush), "a broken one does not push by default");
        let cannot =
            schedules_of_kind(&kind(&[Capability::Products]), &json!({"productPushSchedule": "30 * * * *"}), FIFTEEN);
        assert!(cannot.iter().all(|s| s.entity != LinkedEntity::ProductPush), "a kind that cannot take products");
    }
}
