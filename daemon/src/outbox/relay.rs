//! The daemon's side of the outbox: claim due transmissions with a lease, map and send them, record
//! what happened — in batches, so that a burst of sales costs two write transactions per batch and
//! the remote sees several submissions in flight at once.
//!
//! Claims work like the job queue's (`FOR UPDATE SKIP LOCKED` on PostgreSQL; under SQLite's write lock
//! there): a claim counts an attempt and leases the row to this daemon; outcomes are recorded only
//! while the lease is still ours. A daemon that dies mid-send leaves its rows `sending`; when the lease
//! runs out they are claimed again and sent with the same idempotency key, so the remote returns the
//! sale it already made instead of a second one.

use super::orders;
use super::prepare::{Known, prepare};
use crate::Context;
use crate::alerts::{self, Alert};
use crate::connectors::sale_settings::SaleSettings;
use crate::connectors::{self, Connector, ConnectorError, RemoteQuestion};
use crate::problems::Problem;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use koppel_entity::enums::{EventLevel, LinkedEntity, TransmissionFailure, TransmissionState};
use koppel_entity::{Scoped, integration, sale, sale_transmission, status, sync_event};
use sea_orm::sea_query::{Expr, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Who holds the leases: unique per daemon (`<host>:<pid>:outbox`).
    pub owner: String,
    /// How long a claim lasts; a send that takes longer may be sent again by another daemon (with the
    /// same idempotency key, so still once at the remote).
    pub lease: Duration,
    /// How long to wait when nothing is due.
    pub idle_poll: Duration,
    /// The most transmissions claimed at once.
    pub batch: u64,
    /// The most submissions in flight at once.
    pub concurrency: usize,
    /// The first retry after a temporary failure waits about this long; each next one twice as long.
    pub retry_base: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            owner: "koppel:outbox".into(),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(200),
            // Measured (docs/BENCHMARKS.md §6): 128 × 32 forwarded 1.3–1.65× as many sales per second
            // as 64 × 16 on PostgreSQL and SQLite, in one run.
            batch: 128,
            concurrency: 32,
            retry_base: Duration::from_secs(10),
        }
    }
}

/// Sends due transmissions until `shutdown` turns true (the batch in flight is finished first).
pub async fn run(ctx: Context, config: RelayConfig, mut shutdown: watch::Receiver<bool>) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        let wait = match relay_once(&ctx, &config).await {
            Ok(sent) if sent as u64 >= config.batch => continue,
            Ok(_) => config.idle_poll,
            Err(error) => {
                tracing::warn!(%error, "the outbox could not claim or record transmissions");
                config.idle_poll * 5
            }
        };
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// What became of one transmission.
#[derive(Debug)]
enum Outcome {
    /// Accepted: the sale's id at the remote, and its status there when the remote said.
    Sent { remote_id: String, remote_status: Option<String> },
    /// Refused: by the mapping (every problem) or by the remote's validation. Not retried by itself.
    Failed { failure: TransmissionFailure, message: String, problems: Vec<Problem> },
    /// Worth trying again later (a remote down, busy or slow), unless this was the last attempt.
    Temporary { message: String, retry_after: Option<Duration> },
    /// Nothing more will help without a person (bad credentials, a revoked token, no such integration).
    Dead { message: String },
}

/// Claims one batch of due transmissions, sends them and records the outcomes. Returns how many
/// were claimed.
pub async fn relay_once(ctx: &Context, config: &RelayConfig) -> Result<usize, DbErr> {
    let now = Utc::now();
    let claimed = claim(&ctx.db, &config.owner, config.lease, now, config.batch).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let count = claimed.len();
    let mut by_integration: HashMap<Uuid, Vec<sale_transmission::Model>> = HashMap::new();
    for transmission in claimed {
        by_integration.entry(transmission.integration_id).or_default().push(transmission);
    }
    for (integration_id, transmissions) in by_integration {
        let account_id = transmissions[0].account_id;
        let integration = integration::Entity::find_by_id_in(account_id, integration_id).one(&ctx.db).await?;
        let outcomes = match integration {
            Some(integration) => send_all(ctx, config, &integration, &transmissions).await?,
            None => transmissions
                .iter()
                .map(|t| (t.clone(), Outcome::Dead { message: "the integration no longer exists".into() }))
                .collect(),
        };
        record(ctx, config, outcomes).await?;
    }
    Ok(count)
}

/// Maps and sends the claimed transmissions of one integration, several at once.
async fn send_all(
    ctx: &Context,
    config: &RelayConfig,
    integration: &integration::Model,
    transmissions: &[sale_transmission::Model],
) -> Result<Vec<(sale_transmission::Model, Outcome)>, DbErr> {
    let settings = SaleSettings::from_settings(&integration.settings);
    let connector = match crate::connect::connector_for(ctx, integration, integration.mode).await {
        Ok(connector) => connector,
        Err(error) => {
            return Ok(transmissions.iter().map(|t| (t.clone(), connector_outcome(&error))).collect());
        }
    };
    // For the required-question check; the remote checks again, so a failed read only skips it here.
    let remote: Option<Vec<RemoteQuestion>> = connector.questions().await.ok();
    let sale_ids: Vec<Uuid> = transmissions.iter().map(|t| t.sale_id).collect();
    let sales: HashMap<Uuid, sale::Model> = sale::Entity::find_in(integration.account_id)
        .filter(sale::Column::Id.is_in(sale_ids))
        .all(&ctx.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let batch: Vec<&sale::Model> = sales.values().collect();
    let known = Known::load(&ctx.db, integration, &batch).await?;
    let mut ready = Vec::new();
    let mut outcomes = Vec::new();
    for transmission in transmissions {
        let Some(sale) = sales.get(&transmission.sale_id) else {
            outcomes.push((transmission.clone(), Outcome::Dead { message: "the sale no longer exists".into() }));
            continue;
        };
        match prepare(&known, integration, &settings, sale, &transmission.idempotency_key, remote.as_deref()) {
            Ok(outbound) => ready.push((transmission.clone(), outbound)),
            Err(problems) => {
                let message = summary(&problems);
                outcomes.push((
                    transmission.clone(),
                    Outcome::Failed { failure: TransmissionFailure::Mapping, message, problems },
                ));
            }
        }
    }
    let connector: &dyn Connector = connector.as_ref();
    let as_orders = connectors::kind(&integration.kind).is_some_and(orders::takes_orders);
    let sent: Vec<_> = futures_util::stream::iter(ready)
        .map(|(transmission, outbound)| async move {
            let submitted = if as_orders {
                orders::push(connector, &outbound).await
            } else {
                connector.submit_sale(&outbound).await
            };
            let outcome = match submitted {
                Ok(accepted) => Outcome::Sent { remote_id: accepted.id, remote_status: accepted.status },
                Err(error) => connector_outcome(&error),
            };
            (transmission, outcome)
        })
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;
    outcomes.extend(sent);
    Ok(outcomes)
}

fn connector_outcome(error: &ConnectorError) -> Outcome {
    match error {
        ConnectorError::Refused(message) => {
            Outcome::Failed { failure: TransmissionFailure::Remote, message: message.clone(), problems: Vec::new() }
        }
        error if error.is_permanent() => Outcome::Dead { message: format!("{}: {error}", error.code()) },
        error => Outcome::Temporary { message: format!("{}: {error}", error.code()), retry_after: error.retry_after() },
    }
}

fn summary(problems: &[Problem]) -> String {
    let each: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
    format!("the sale cannot be mapped: {}", each.join("; "))
}

/// Records the outcomes of one integration's batch in one transaction: each only while this daemon
/// still holds the transmission's lease.
async fn record(
    ctx: &Context,
    config: &RelayConfig,
    outcomes: Vec<(sale_transmission::Model, Outcome)>,
) -> Result<(), DbErr> {
    let Some((first, _)) = outcomes.first() else { return Ok(()) };
    let integration = integration::Entity::find_by_id_in(first.account_id, first.integration_id).one(&ctx.db).await?;
    let settings = integration.as_ref().map(|i| SaleSettings::from_settings(&i.settings));
    let txn = crate::db::begin_write(&ctx.db).await?;
    let after_success = match settings.as_ref().and_then(|s| s.status_after_success.as_deref()) {
        Some(key) => status::Entity::find_in(first.account_id).filter(status::Column::Key.eq(key)).one(&txn).await?,
        None => None,
    };
    let max_attempts = settings.as_ref().map_or(8, |s| s.max_attempts);
    let now = Utc::now();
    let mut events = Vec::with_capacity(outcomes.len());
    let mut sent_sales = Vec::new();
    for (transmission, outcome) in outcomes {
        let mut update = sale_transmission::Entity::update_many()
            .col_expr(sale_transmission::Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(sale_transmission::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(sale_transmission::Column::UpdatedAt, Expr::value(now));
        let attempts = transmission.attempts;
        let (level, action, message, alert) = match &outcome {
            Outcome::Sent { remote_id, remote_status } => {
                update = update
                    .col_expr(sale_transmission::Column::State, Expr::value(TransmissionState::Sent))
                    .col_expr(sale_transmission::Column::RemoteId, Expr::value(Some(remote_id.clone())))
                    .col_expr(sale_transmission::Column::RemoteStatus, Expr::value(remote_status.clone()))
                    .col_expr(sale_transmission::Column::SentAt, Expr::value(Some(now)))
                    .col_expr(sale_transmission::Column::Failure, Expr::value(Option::<String>::None))
                    .col_expr(sale_transmission::Column::LastError, Expr::value(Option::<String>::None))
                    .col_expr(sale_transmission::Column::Problems, Expr::value(Option::<serde_json::Value>::None));
                let message = format!("sale {} was sent; its id at the remote is {remote_id}", transmission.sale_id);
                (EventLevel::Info, "sent", message, None)
            }
            Outcome::Failed { failure, message, problems } => {
                let listed: Vec<serde_json::Value> = problems
                    .iter()
                    .map(|p| serde_json::json!({"field": p.field, "code": p.code, "message": p.message}))
                    .collect();
                update = update
                    .col_expr(sale_transmission::Column::State, Expr::value(TransmissionState::Failed))
                    .col_expr(sale_transmission::Column::Failure, Expr::value(Some(*failure)))
                    .col_expr(sale_transmission::Column::LastError, Expr::value(Some(message.clone())))
                    .col_expr(
                        sale_transmission::Column::Problems,
                        Expr::value((!listed.is_empty()).then_some(serde_json::Value::Array(listed))),
                    );
                let what = match failure {
                    TransmissionFailure::Mapping => "cannot be mapped",
                    TransmissionFailure::Remote => "was refused by the remote",
                };
                (EventLevel::Error, "refused", format!("sale {} {what}: {message}", transmission.sale_id), None)
            }
            Outcome::Temporary { message, retry_after } if attempts < max_attempts => {
                let delay = crate::jobs::retry_delay_from(config.retry_base, attempts as u32, *retry_after);
                let at = now + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
                update = update
                    .col_expr(sale_transmission::Column::State, Expr::value(TransmissionState::Scheduled))
                    .col_expr(sale_transmission::Column::NotBefore, Expr::value(at))
                    .col_expr(sale_transmission::Column::LastError, Expr::value(Some(message.clone())));
                let message = format!(
                    "sale {} could not be sent (attempt {attempts} of {max_attempts}): {message}; next attempt at {}",
                    transmission.sale_id,
                    at.to_rfc3339()
                );
                (EventLevel::Warn, "retry", message, None)
            }
            Outcome::Temporary { message, .. } | Outcome::Dead { message } => {
                update = update
                    .col_expr(sale_transmission::Column::State, Expr::value(TransmissionState::Dead))
                    .col_expr(sale_transmission::Column::LastError, Expr::value(Some(message.clone())));
                let message = format!(
                    "sale {} could not be sent after {attempts} attempt(s) and is given up: {message}; \
                     retryTransmission sends it again",
                    transmission.sale_id
                );
                (EventLevel::Error, "dead", message.clone(), Some(message))
            }
        };
        let mut update = update
            .filter(sale_transmission::Column::Id.eq(transmission.id))
            .filter(sale_transmission::Column::State.eq(TransmissionState::Sending))
            .filter(sale_transmission::Column::LeaseOwner.eq(&config.owner));
        let stale = matches!(&outcome, Outcome::Failed { failure: TransmissionFailure::Mapping, .. });
        if stale {
            // Not when the mappings changed while it was mapped ([`super::mappings_changed`]).
            update = update.filter(sale_transmission::Column::NotBefore.lte(transmission.not_before));
        }
        let mut updated = update.exec(&txn).await?;
        if stale && updated.rows_affected == 0 {
            updated = requeue_stale(&txn, &transmission, &config.owner, now).await?;
            if updated.rows_affected == 1 {
                continue;
            }
        }
        if updated.rows_affected == 0 {
            // The lease ran out and another daemon has it now: it records the outcome.
            tracing::warn!(transmission = %transmission.id, "the outbox lost a lease before recording");
            continue;
        }
        if let Outcome::Sent { remote_id, .. } = &outcome {
            sent_sales.push(transmission.sale_id);
            crate::telemetry::records("sale", "sent", 1);
            events.push(super::event_row(&transmission, level, action, message, Some(remote_id.clone()), now));
        } else {
            events.push(super::event_row(&transmission, level, action, message, None, now));
        }
        if let Some(message) = alert {
            alerts::raise(
                &txn,
                Alert {
                    account_id: transmission.account_id,
                    integration_id: transmission.integration_id,
                    run_id: None,
                    entity: Some(LinkedEntity::Sale),
                    action: "dead",
                    message,
                },
            )
            .await?;
        }
    }
    if let (Some(status), false) = (&after_success, sent_sales.is_empty()) {
        // The configured status after success, for the sales that do not have it yet.
        sale::Entity::update_many()
            .col_expr(sale::Column::StatusId, Expr::value(status.id))
            .col_expr(sale::Column::StatusChangedAt, Expr::value(now))
            .col_expr(sale::Column::UpdatedAt, Expr::value(now))
            .filter(sale::Column::AccountId.eq(status.account_id))
            .filter(sale::Column::Id.is_in(sent_sales))
            .filter(sale::Column::StatusId.ne(status.id))
            .exec(&txn)
            .await?;
    }
    if !events.is_empty() {
        sync_event::Entity::insert_many(events).exec(&txn).await?;
    }
    txn.commit().await
}

/// Puts back in the queue a transmission whose mapping problem is stale: the mappings changed while
/// it was being mapped.
async fn requeue_stale(
    db: &impl ConnectionTrait,
    transmission: &sale_transmission::Model,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<sea_orm::UpdateResult, DbErr> {
    sale_transmission::Entity::update_many()
        .col_expr(sale_transmission::Column::State, Expr::value(TransmissionState::Queued))
        .col_expr(sale_transmission::Column::LeaseOwner, Expr::value(Option::<String>::None))
        .col_expr(sale_transmission::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(sale_transmission::Column::Attempts, Expr::col(sale_transmission::Column::Attempts).sub(1))
        .col_expr(sale_transmission::Column::UpdatedAt, Expr::value(now))
        .filter(sale_transmission::Column::Id.eq(transmission.id))
        .filter(sale_transmission::Column::State.eq(TransmissionState::Sending))
        .filter(sale_transmission::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await
}

/// Claims up to `limit` due transmissions for `owner`, counting an attempt: first those whose lease
/// ran out (their daemon died mid-send), then the queued ones, then the scheduled ones now due.
pub async fn claim(
    db: &impl ConnectionTrait,
    owner: &str,
    lease: Duration,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<sale_transmission::Model>, DbErr> {
    let mut claimed = Vec::new();
    for state in [TransmissionState::Sending, TransmissionState::Queued, TransmissionState::Scheduled] {
        let left = limit.saturating_sub(claimed.len() as u64);
        if left == 0 {
            break;
        }
        claimed.extend(take(db, owner, lease, now, due(state, now, left)).await?);
    }
    Ok(claimed)
}

async fn take(
    db: &impl ConnectionTrait,
    owner: &str,
    lease: Duration,
    now: DateTime<Utc>,
    due: sea_orm::sea_query::SelectStatement,
) -> Result<Vec<sale_transmission::Model>, DbErr> {
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
    let mut claimed = sale_transmission::Entity::update_many()
        .col_expr(sale_transmission::Column::State, Expr::value(TransmissionState::Sending))
        .col_expr(sale_transmission::Column::LeaseOwner, Expr::value(owner))
        .col_expr(sale_transmission::Column::LeaseUntil, Expr::value(until))
        .col_expr(sale_transmission::Column::Attempts, Expr::col(sale_transmission::Column::Attempts).add(1))
        .col_expr(sale_transmission::Column::UpdatedAt, Expr::value(now))
        .filter(sale_transmission::Column::Id.in_subquery(due))
        .exec_with_returning(db)
        .await?;
    claimed.sort_by_key(|t| (t.not_before, t.id));
    Ok(claimed)
}

/// Due rows of one state in `(state, not_before)` index order (a `sending` row is due when its lease
/// ran out), locked for this transaction and skipped by every other one on PostgreSQL.
fn due(state: TransmissionState, now: DateTime<Utc>, limit: u64) -> sea_orm::sea_query::SelectStatement {
    let select = sale_transmission::Entity::find()
        .select_only()
        .column(sale_transmission::Column::Id)
        .filter(sale_transmission::Column::State.eq(state));
    let select = match state {
        TransmissionState::Sending => select
            .filter(sale_transmission::Column::LeaseUntil.lt(now))
            .order_by_asc(sale_transmission::Column::LeaseUntil),
        _ => select
            .filter(sale_transmission::Column::NotBefore.lte(now))
            .order_by_asc(sale_transmission::Column::NotBefore),
    };
    select
        .order_by_asc(sale_transmission::Column::Id)
        .limit(limit)
        .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
        .into_query()
}
