//! The durable job queue the daemons share (after crates.io's background jobs and svix's worker).
//!
//! A job is a row in `jobs`: kind, payload, dedupe key, run after, attempts, lease owner, lease until,
//! state. [`enqueue`] writes one (a second enqueue with the same dedupe key is a no-op, so one job per
//! integration and schedule slot however many daemons fire it). A worker [`claim`]s the oldest due job
//! with a lease — `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers never take the same row; on
//! SQLite the single `UPDATE … RETURNING` runs under the database's write lock — [`renew`]s the lease
//! while working, and [`complete`]s or [`fail`]s it. Workers claim short jobs in small batches
//! ([`claim_batch`], [`renew_many`], [`complete_many`]): one round trip for many jobs, with the same
//! guarantees, since each job of a batch is leased, renewed and completed like a single one. A job whose worker died is claimable again when its
//! lease runs out. Failures retry with exponential backoff and jitter, never sooner than the remote's
//! `Retry-After`; permanent errors (bad credentials, refused data) and the last attempt make it `dead`.
//! The worker hands a dead job to its handler in the same transaction ([`worker::JobHandler::dead`]):
//! the daemon raises the one alert there (module `alerts`), never one per failed attempt.

mod backoff;
pub mod worker;

pub use backoff::{retry_delay, retry_delay_from};

use crate::error::EngineError;
use chrono::{DateTime, Utc};
use koppel_entity::enums::JobState;
use koppel_entity::job;
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, TryInsertResult,
};
use std::time::Duration;
use uuid::Uuid;

/// Attempts a job gets unless it says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    pub account_id: Option<Uuid>,
    pub integration_id: Option<Uuid>,
    /// Jobs with the same key are one job: e.g. `reconcile:<integration>:product:<slot>`.
    pub dedupe_key: Option<String>,
    pub run_after: DateTime<Utc>,
    pub max_attempts: i32,
}

impl NewJob {
    /// A job of `kind` due now, with the default attempts and no dedupe key.
    pub fn new(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Self {
            kind: kind.into(),
            payload,
            account_id: None,
            integration_id: None,
            dedupe_key: None,
            run_after: Utc::now(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn for_integration(mut self, account_id: Uuid, integration_id: Uuid) -> Self {
        self.account_id = Some(account_id);
        self.integration_id = Some(integration_id);
        self
    }

    pub fn run_after(mut self, at: DateTime<Utc>) -> Self {
        self.run_after = at;
        self
    }
}

/// Writes a job, unless one with its dedupe key exists; returns the id of the new job, or `None`.
pub async fn enqueue(db: &impl ConnectionTrait, new: NewJob) -> Result<Option<Uuid>, DbErr> {
    let now = Utc::now();
    let id = Uuid::now_v7();
    let row = job::ActiveModel {
        id: Set(id),
        account_id: Set(new.account_id),
        integration_id: Set(new.integration_id),
        kind: Set(new.kind),
        payload: Set(new.payload),
        dedupe_key: Set(new.dedupe_key),
        state: Set(JobState::Queued),
        run_after: Set(new.run_after),
        attempts: Set(0),
        max_attempts: Set(Ord::max(new.max_attempts, 1)),
        lease_owner: Set(None),
        lease_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        finished_at: Set(None),
    };
    let inserted =
        job::Entity::insert(row).on_conflict_do_nothing_on([job::Column::DedupeKey]).exec_without_returning(db).await?;
    Ok(match inserted {
        TryInsertResult::Inserted(rows) if rows > 0 => Some(id),
        _ => None,
    })
}

/// Claims the oldest due job (queued and due, or running with an expired lease) for `owner` until
/// `now + lease`, counting an attempt. `None` when nothing is due.
pub async fn claim(
    db: &impl ConnectionTrait,
    owner: &str,
    lease: Duration,
    now: DateTime<Utc>,
) -> Result<Option<job::Model>, DbErr> {
    Ok(claim_batch(db, owner, lease, now, 1).await?.into_iter().next())
}

/// Claims up to `limit` due jobs, each as [`claim`] does: first jobs whose lease ran out (their worker
/// died), then the oldest queued ones. One round trip each for many short jobs: the queue's throughput
/// on PostgreSQL (docs/BENCHMARKS.md).
///
/// Two statements rather than one with `OR`: an `OR` of the two kinds of due job cannot be read in
/// order from the `(state, run_after)` index, so PostgreSQL sorted every due job on every claim — a
/// claim cost as much as the backlog was long (14 ms at 20,000 queued jobs).
pub async fn claim_batch(
    db: &impl ConnectionTrait,
    owner: &str,
    lease: Duration,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<job::Model>, DbErr> {
    let limit = Ord::max(limit, 1);
    let mut claimed = take(db, owner, lease, now, lease_expired(now, limit)).await?;
    if (claimed.len() as u64) < limit {
        claimed.extend(take(db, owner, lease, now, due_queued(now, limit - claimed.len() as u64)).await?);
    }
    Ok(claimed)
}

/// Leases the jobs `due` selects to `owner`, counting an attempt; oldest first.
async fn take(
    db: &impl ConnectionTrait,
    owner: &str,
    lease: Duration,
    now: DateTime<Utc>,
    due: sea_orm::sea_query::SelectStatement,
) -> Result<Vec<job::Model>, DbErr> {
    let mut claimed = job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Running))
        .col_expr(job::Column::LeaseOwner, Expr::value(owner))
        .col_expr(job::Column::LeaseUntil, Expr::value(lease_end(now, lease)))
        .col_expr(job::Column::Attempts, Expr::col(job::Column::Attempts).add(1))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.in_subquery(due))
        .exec_with_returning(db)
        .await?;
    // `RETURNING` keeps no order.
    claimed.sort_by_key(|j| (j.run_after, j.id));
    Ok(claimed)
}

/// The oldest queued jobs that are due, in `(state, run_after)` index order, locked for this
/// transaction and skipped by every other one on PostgreSQL.
fn due_queued(now: DateTime<Utc>, limit: u64) -> sea_orm::sea_query::SelectStatement {
    job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::State.eq(JobState::Queued))
        .filter(job::Column::RunAfter.lte(now))
        .order_by_asc(job::Column::RunAfter)
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query()
}

/// Running jobs whose lease ran out (their worker died), longest expired first, locked likewise.
fn lease_expired(now: DateTime<Utc>, limit: u64) -> sea_orm::sea_query::SelectStatement {
    job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::State.eq(JobState::Running))
        .filter(job::Column::LeaseUntil.lt(now))
        .order_by_asc(job::Column::LeaseUntil)
        .order_by_asc(job::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query()
}

fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5))
}

/// Extends the lease of a job this owner holds; `false` when the lease was lost (another worker took
/// the job after it expired): the caller must stop working on it.
pub async fn renew(db: &impl ConnectionTrait, id: Uuid, owner: &str, lease: Duration) -> Result<bool, DbErr> {
    Ok(renew_many(db, &[id], owner, lease).await?.contains(&id))
}

/// Extends the leases of the jobs this owner holds among `ids`, in one statement; returns those it still
/// holds (a job missing from the answer was lost: another worker took it after its lease expired).
pub async fn renew_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    owner: &str,
    lease: Duration,
) -> Result<Vec<Uuid>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let renewed = job::Entity::update_many()
        .col_expr(job::Column::LeaseUntil, Expr::value(lease_end(now, lease)))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.is_in(ids.iter().copied()))
        .filter(job::Column::State.eq(JobState::Running))
        .filter(job::Column::LeaseOwner.eq(owner))
        .exec_with_returning(db)
        .await?;
    Ok(renewed.into_iter().map(|j| j.id).collect())
}

/// Marks a job this owner holds as done.
pub async fn complete(db: &impl ConnectionTrait, id: Uuid, owner: &str) -> Result<bool, DbErr> {
    Ok(complete_many(db, &[id], owner).await? == 1)
}

/// Marks the jobs this owner holds among `ids` as done, in one statement; returns how many it held.
pub async fn complete_many(db: &impl ConnectionTrait, ids: &[Uuid], owner: &str) -> Result<u64, DbErr> {
    if ids.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let done = job::Entity::update_many()
        .col_expr(job::Column::State, Expr::value(JobState::Done))
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::FinishedAt, Expr::value(Some(now)))
        .col_expr(job::Column::UpdatedAt, Expr::value(now))
        .filter(job::Column::Id.is_in(ids.iter().copied()))
        .filter(job::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await?;
    Ok(done.rows_affected)
}

/// What became of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// It runs again after this time.
    Retry { at: DateTime<Utc> },
    /// A permanent error or the last attempt: it will not run again by itself.
    Dead,
    /// Nothing was recorded: the lease ran out and another worker holds the job now (and records it).
    LeaseLost,
}

/// Records a failed attempt of a job this owner holds: a retry after backoff (never sooner than the
/// remote's `Retry-After`), or `dead` for a permanent error or the last attempt (`LeaseLost` when the
/// owner no longer holds it).
pub async fn fail(
    db: &impl ConnectionTrait,
    claimed: &job::Model,
    owner: &str,
    error: &EngineError,
) -> Result<Failed, DbErr> {
    let now = Utc::now();
    let outcome = if error.is_permanent() || claimed.attempts >= claimed.max_attempts {
        Failed::Dead
    } else {
        let delay = retry_delay(claimed.attempts as u32, error.retry_after());
        Failed::Retry { at: now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1)) }
    };
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(job::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(job::Column::LastError, Expr::value(Some(format!("{}: {error}", error.label()))))
        .col_expr(job::Column::UpdatedAt, Expr::value(now));
    update = match outcome {
        Failed::Retry { at } => update
            .col_expr(job::Column::State, Expr::value(JobState::Queued))
            .col_expr(job::Column::RunAfter, Expr::value(at)),
        Failed::Dead => update
            .col_expr(job::Column::State, Expr::value(JobState::Dead))
            .col_expr(job::Column::FinishedAt, Expr::value(Some(now))),
        // Only found out below, by the update touching no row.
        Failed::LeaseLost => update,
    };
    let updated =
        update.filter(job::Column::Id.eq(claimed.id)).filter(job::Column::LeaseOwner.eq(owner)).exec(db).await?;
    Ok(if updated.rows_affected == 1 { outcome } else { Failed::LeaseLost })
}

/// How many jobs there are by kind and state, for `/metrics`.
pub async fn counts(db: &impl ConnectionTrait) -> Result<Vec<(String, JobState, i64)>, DbErr> {
    job::Entity::find()
        .select_only()
        .column(job::Column::Kind)
        .column(job::Column::State)
        .column_as(job::Column::Id.count(), "count")
        .group_by(job::Column::Kind)
        .group_by(job::Column::State)
        .into_tuple()
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    #[test]
    fn the_claim_skips_locked_rows_on_postgresql() {
        let now = Utc::now();
        for due in [due_queued(now, 16), lease_expired(now, 16)] {
            assert!(due.to_string(PostgresQueryBuilder).ends_with("LIMIT 16 FOR UPDATE SKIP LOCKED"));
            // SQLite has no row locks: the claiming UPDATE runs under its single write lock instead.
            assert!(!due.to_string(SqliteQueryBuilder).contains("FOR UPDATE"));
        }
    }
}
