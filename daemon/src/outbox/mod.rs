//! Sale forwarding, the outbox way (seeds 000 and 001): a sale made here reaches the integration its
//! product comes from — automatically on the right statuses and conditions, after the agreed delay in
//! Dutch working days, or by hand — complete and exactly once.
//!
//! - [`sale_changed`] runs in the transaction of every sale change (created, status changed) and writes
//!   the **transmission** (sale × integration) the change qualifies: stored with the change or not at
//!   all, so no qualifying sale is ever missed and none is sent that was not committed.
//! - [`relay`] is the daemon's side: it claims due transmissions with a lease, maps and validates each
//!   sale ([`prepare`]), submits it with the transmission's idempotency key and records the outcome.
//!   A daemon killed mid-send leaves the row `sending` with a lease that runs out; the next claim sends
//!   again with the same key, and the remote answers with the sale it made the first time.
//! - [`send_now`] and [`retry`] are the manual side: `sendSale` and `retryTransmission`.

pub mod conditions;
pub mod orders;
pub mod prepare;
pub mod relay;

use crate::connectors::sale_settings::{AutoProcessing, SaleSettings};
use crate::connectors::{self, Capability};
use crate::problems::{Problem, ProblemCode, Rejected};
use chrono::{DateTime, Utc};
use koppel_entity::enums::{Direction, EventLevel, LinkedEntity, TransmissionState, TransmissionTrigger};
use koppel_entity::{Scoped, integration, remote_link, sale, sale_transmission, status, sync_event};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// The integrations a sale can go to: the enabled ones that receive sales and that its product comes
/// from (a link of the product to them).
async fn owners(db: &impl ConnectionTrait, sale: &sale::Model) -> Result<Vec<integration::Model>, DbErr> {
    let linked: Vec<Uuid> = remote_link::Entity::find_in(sale.account_id)
        .filter(remote_link::Column::Entity.eq(LinkedEntity::Product))
        .filter(remote_link::Column::LocalId.eq(sale.product_id))
        .all(db)
        .await?
        .into_iter()
        .map(|l| l.integration_id)
        .collect();
    if linked.is_empty() {
        return Ok(Vec::new());
    }
    Ok(integration::Entity::find_in(sale.account_id)
        .filter(integration::Column::Id.is_in(linked))
        .filter(integration::Column::Enabled.eq(true))
        .all(db)
        .await?
        .into_iter()
        .filter(receives_sales)
        .collect())
}

fn receives_sales(integration: &integration::Model) -> bool {
    connectors::kind(&integration.kind).is_some_and(|k| k.capabilities.contains(&Capability::SalePush))
}

/// When a sale that qualifies at `at` is due: after the delay in working days, at the send hour.
pub fn due_at(settings: &SaleSettings, at: DateTime<Utc>) -> DateTime<Utc> {
    settings.working_days.due_at(at, settings.delay_working_days, settings.send_hour)
}

fn state_at(not_before: DateTime<Utc>, now: DateTime<Utc>) -> TransmissionState {
    if not_before > now { TransmissionState::Scheduled } else { TransmissionState::Queued }
}

/// Writes the transmissions a sale change qualifies, in the caller's transaction (the one that wrote
/// the change). A sale qualifies for an integration its product comes from when the integration
/// processes sales automatically — on every change, or when the sale got one of its statuses — and
/// its conditions hold. A sale already sent, on its way or waiting is left alone; one that failed is
/// queued again (the sale changed, so it may pass now).
pub async fn sale_changed(
    db: &impl ConnectionTrait,
    sale: &sale::Model,
) -> Result<Vec<sale_transmission::Model>, DbErr> {
    let integrations = owners(db, sale).await?;
    if integrations.is_empty() {
        return Ok(Vec::new());
    }
    let status_key = status::Entity::find_by_id_in(sale.account_id, sale.status_id).one(db).await?.map(|s| s.key);
    let facts = conditions::Facts::of(db, sale).await?;
    let now = Utc::now();
    let mut written = Vec::new();
    for integration in integrations {
        let settings = SaleSettings::from_settings(&integration.settings);
        let qualifies = settings.processing
            && match settings.auto {
                AutoProcessing::Manual => false,
                AutoProcessing::All => true,
                AutoProcessing::Specific => status_key.as_ref().is_some_and(|k| settings.on_statuses.contains(k)),
            }
            && conditions::hold(&settings, &facts);
        if !qualifies {
            continue;
        }
        let existing = find(db, sale, integration.id).await?;
        let transmission = match existing {
            None => {
                let not_before = due_at(&settings, now);
                Some(insert(db, sale, &integration, TransmissionTrigger::Automatic, not_before, now).await?)
            }
            Some(t) if t.state == TransmissionState::Failed => Some(requeue(db, t, None, now).await?),
            Some(_) => None,
        };
        if let Some(transmission) = transmission {
            event(db, &transmission, EventLevel::Info, "queued", queued_message(&transmission, now)).await?;
            written.push(transmission);
        }
    }
    Ok(written)
}

fn queued_message(transmission: &sale_transmission::Model, now: DateTime<Utc>) -> String {
    if transmission.not_before > now {
        format!("sale {} will be sent at {}", transmission.sale_id, transmission.not_before.to_rfc3339())
    } else {
        format!("sale {} is queued to be sent", transmission.sale_id)
    }
}

/// The transmission of a sale to an integration, if there is one.
pub async fn find(
    db: &impl ConnectionTrait,
    sale: &sale::Model,
    integration_id: Uuid,
) -> Result<Option<sale_transmission::Model>, DbErr> {
    sale_transmission::Entity::find_in(sale.account_id)
        .filter(sale_transmission::Column::SaleId.eq(sale.id))
        .filter(sale_transmission::Column::IntegrationId.eq(integration_id))
        .one(db)
        .await
}

async fn insert(
    db: &impl ConnectionTrait,
    sale: &sale::Model,
    integration: &integration::Model,
    trigger: TransmissionTrigger,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<sale_transmission::Model, DbErr> {
    let id = Uuid::now_v7();
    sale_transmission::ActiveModel {
        id: Set(id),
        account_id: Set(sale.account_id),
        sale_id: Set(sale.id),
        integration_id: Set(integration.id),
        state: Set(state_at(not_before, now)),
        trigger: Set(trigger),
        not_before: Set(not_before),
        attempts: Set(0),
        // Unique per transmission and stable across attempts: the remote's duplicate check.
        idempotency_key: Set(format!("koppel-{id}")),
        remote_id: Set(None),
        remote_status: Set(None),
        failure: Set(None),
        last_error: Set(None),
        problems: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await
}

/// Puts a transmission back in the queue with a fresh set of attempts: due at `not_before` (now by
/// default), its failure cleared (the last error stays visible until the next outcome).
async fn requeue(
    db: &impl ConnectionTrait,
    transmission: sale_transmission::Model,
    trigger: Option<TransmissionTrigger>,
    now: DateTime<Utc>,
) -> Result<sale_transmission::Model, DbErr> {
    let mut active: sale_transmission::ActiveModel = transmission.into();
    active.state = Set(TransmissionState::Queued);
    active.not_before = Set(now);
    active.attempts = Set(0);
    active.failure = Set(None);
    active.problems = Set(None);
    active.lease_owner = Set(None);
    active.lease_until = Set(None);
    active.updated_at = Set(now);
    if let Some(trigger) = trigger {
        active.trigger = Set(trigger);
    }
    active.update(db).await
}

/// Queues again every failed transmission of an integration whose mappings changed: what was refused
/// for a missing mapping may pass now. Returns how many. A transmission being sent right now was mapped
/// with the old mappings: its `not_before` is moved to now, which tells the relay that a mapping problem
/// it finds is stale and the transmission goes again ([`relay`]).
pub async fn mappings_changed(db: &impl ConnectionTrait, integration: &integration::Model) -> Result<u64, DbErr> {
    let now = Utc::now();
    sale_transmission::Entity::update_many()
        .col_expr(sale_transmission::Column::NotBefore, Expr::value(now))
        .filter(sale_transmission::Column::AccountId.eq(integration.account_id))
        .filter(sale_transmission::Column::IntegrationId.eq(integration.id))
        .filter(sale_transmission::Column::State.eq(TransmissionState::Sending))
        .exec(db)
        .await?;
    let requeued = sale_transmission::Entity::update_many()
        .col_expr(sale_transmission::Column::State, Expr::value(TransmissionState::Queued))
        .col_expr(sale_transmission::Column::NotBefore, Expr::value(now))
        .col_expr(sale_transmission::Column::Attempts, Expr::value(0))
        .col_expr(sale_transmission::Column::Failure, Expr::value(Option::<String>::None))
        .col_expr(sale_transmission::Column::UpdatedAt, Expr::value(now))
        .filter(sale_transmission::Column::AccountId.eq(integration.account_id))
        .filter(sale_transmission::Column::IntegrationId.eq(integration.id))
        .filter(sale_transmission::Column::State.eq(TransmissionState::Failed))
        .exec(db)
        .await?;
    Ok(requeued.rows_affected)
}

fn refused(field: &str, code: ProblemCode, message: impl Into<String>) -> Rejected {
    Rejected(vec![Problem { field: field.into(), code, message: message.into() }])
}

/// Why a manual send or retry was refused: the problems (by field), or the database.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// `sendSale`: checks that the sale can go to the integration and maps it (every problem at once, by
/// name), then queues it to go at once. `remote` are the remote's questions when they could be read,
/// for the required-question check. A sale already sent is refused; one on its way is returned as is.
pub async fn send_now(
    db: &impl ConnectionTrait,
    sale: &sale::Model,
    integration: &integration::Model,
    remote: Option<&[crate::connectors::RemoteQuestion]>,
) -> Result<sale_transmission::Model, SendError> {
    if !receives_sales(integration) {
        return Err(refused(
            "integrationId",
            ProblemCode::Invalid,
            format!("a {} integration does not receive sales", integration.kind),
        )
        .into());
    }
    if !integration.enabled {
        return Err(refused("integrationId", ProblemCode::Invalid, format!("{} is disabled", integration.name)).into());
    }
    let settings = SaleSettings::from_settings(&integration.settings);
    if !settings.processing {
        return Err(refused(
            "integrationId",
            ProblemCode::Invalid,
            format!("sale processing is off for {}", integration.name),
        )
        .into());
    }
    let existing = find(db, sale, integration.id).await?;
    if let Some(t) = &existing {
        match t.state {
            TransmissionState::Sent => {
                return Err(refused(
                    "saleId",
                    ProblemCode::Taken,
                    format!(
                        "this sale was sent to {} already (remote id {})",
                        integration.name,
                        t.remote_id.as_deref().unwrap_or("unknown")
                    ),
                )
                .into());
            }
            TransmissionState::Sending => return Ok(t.clone()),
            _ => {}
        }
    }
    let key = existing.as_ref().map(|t| t.idempotency_key.clone()).unwrap_or_default();
    let known = prepare::Known::load(db, integration, &[sale]).await?;
    if let Err(problems) = prepare::prepare(&known, integration, &settings, sale, &key, remote) {
        return Err(Rejected(problems).into());
    }
    let now = Utc::now();
    let transmission = match existing {
        Some(t) => requeue(db, t, Some(TransmissionTrigger::Manual), now).await?,
        None => insert(db, sale, integration, TransmissionTrigger::Manual, now, now).await?,
    };
    event(db, &transmission, EventLevel::Info, "queued", format!("sale {} is queued to be sent (by hand)", sale.id))
        .await?;
    Ok(transmission)
}

/// `retryTransmission`: a failed or dead transmission goes again at once, with a fresh set of attempts.
pub async fn retry(
    db: &impl ConnectionTrait,
    transmission: sale_transmission::Model,
) -> Result<sale_transmission::Model, SendError> {
    if !matches!(transmission.state, TransmissionState::Failed | TransmissionState::Dead) {
        return Err(refused(
            "id",
            ProblemCode::Invalid,
            format!("only a failed or dead transmission can be retried; this one is {}", transmission.state.as_str()),
        )
        .into());
    }
    let transmission = requeue(db, transmission, None, Utc::now()).await?;
    event(
        db,
        &transmission,
        EventLevel::Info,
        "queued",
        format!("sale {} is queued to be sent again (by hand)", transmission.sale_id),
    )
    .await?;
    Ok(transmission)
}

/// Records an event about a transmission, in the integration's log (streamed like every event).
pub(crate) async fn event(
    db: &impl ConnectionTrait,
    transmission: &sale_transmission::Model,
    level: EventLevel,
    action: &str,
    message: String,
) -> Result<(), DbErr> {
    let remote_id = transmission.remote_id.clone();
    event_row(transmission, level, action, message, remote_id, Utc::now()).insert(db).await?;
    Ok(())
}

/// The event row about a transmission (the relay inserts a batch's rows at once).
pub(crate) fn event_row(
    transmission: &sale_transmission::Model,
    level: EventLevel,
    action: &str,
    message: String,
    remote_id: Option<String>,
    now: DateTime<Utc>,
) -> sync_event::ActiveModel {
    sync_event::ActiveModel {
        account_id: Set(transmission.account_id),
        integration_id: Set(transmission.integration_id),
        run_id: Set(None),
        level: Set(level),
        entity: Set(Some(LinkedEntity::Sale)),
        local_id: Set(Some(transmission.sale_id)),
        remote_id: Set(remote_id),
        action: Set(action.to_owned()),
        direction: Set(Some(Direction::Out)),
        message: Set(message),
        payload: Set(Some(serde_json::json!({
            "transmissionId": transmission.id,
            "attempts": transmission.attempts,
        }))),
        created_at: Set(now),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::sale_settings::SALE_SETTINGS;
    use crate::connectors::validate_settings;
    use chrono::TimeZone;
    use chrono_tz::Europe::Amsterdam;
    use serde_json::json;

    fn settings(given: serde_json::Value) -> SaleSettings {
        let (validated, problems) = validate_settings(SALE_SETTINGS, &given);
        assert!(problems.is_empty(), "{problems:?}");
        SaleSettings::from_settings(&validated)
    }

    #[test]
    fn a_sale_of_the_thursday_before_easter_goes_out_after_easter_monday() {
        // Thursday 2 April 2026, 16:30 in Amsterdam; 2 working days.
        let at = Amsterdam.with_ymd_and_hms(2026, 4, 2, 16, 30, 0).unwrap().with_timezone(&Utc);
        let every_holiday = settings(json!({"delayWorkingDays": 2, "sendHour": 9}));
        let wednesday = Amsterdam.with_ymd_and_hms(2026, 4, 8, 9, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(due_at(&every_holiday, at), wednesday, "Good Friday and Easter Monday skipped");

        let good_friday_works = settings(json!({
            "delayWorkingDays": 2,
            "sendHour": 9,
            "holidays": ["new_years_day", "easter_monday", "kings_day", "liberation_day", "ascension_day",
                         "whit_monday", "christmas_day", "boxing_day"],
        }));
        let tuesday = Amsterdam.with_ymd_and_hms(2026, 4, 7, 9, 0, 0).unwrap().with_timezone(&Utc);
        assert_eq!(due_at(&good_friday_works, at), tuesday, "Good Friday configured as a working day");

        let at_once = settings(json!({}));
        assert_eq!(due_at(&at_once, at), at, "no delay: at once");
        assert_eq!(state_at(due_at(&every_holiday, at), at), TransmissionState::Scheduled);
        assert_eq!(state_at(at, at), TransmissionState::Queued);
    }
}
