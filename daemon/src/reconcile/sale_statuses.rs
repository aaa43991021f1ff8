//! The sale-status pull of one integration (seed 000): the statuses of the sales it accepted are read
//! back from the remote, taken through the integration's status mappings ([`statuses::StatusMap`]) and
//! applied to the local sales — an event per change. Only mapped statuses are synchronised: a remote
//! status with no mapping changes nothing and is told as a warning naming it
//! ([`ChangeAction::Unmapped`]). Off unless the integration's `checkStatusUpdates` says so.
//!
//! A remote status is applied when it changed at the remote since it was last applied
//! (`sale_transmissions.remote_status`, first set from the remote's answer to the send): the local
//! status is made to match what the remote moved the sale to, but a local change the remote never saw
//! (the `statusAfterSuccess`, a person's) is not undone by a remote status that stayed the same. An
//! unmapped status is not remembered, so it is applied once a mapping for it exists (and warned about
//! at every pull until then). A pass cut off between batches and run again finds the applied ones
//! unchanged. A status change here is a
//! sale change like any other: it goes through the outbox ([`crate::outbox::sale_changed`]) in the
//! same transaction, so it may qualify the sale for another integration.

use super::{Change, ChangeAction, EntitySync, NoRecorder, PassReport, Progress, Recorder};
use crate::Context;
use crate::connect;
use crate::connectors::sale_settings::SaleSettings;
use crate::error::EngineResult;
use crate::mapping::statuses::{self, StatusMap};
use chrono::{SubsecRound, Utc};
use koppel_entity::enums::{LinkedEntity, MissingRecordPolicy, TransmissionState};
use koppel_entity::{Scoped, integration, sale, sale_transmission, status};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

/// Sent sales asked of the remote at once, and applied in one transaction: a large pull does not hold
/// the database (SQLite's one write lock) for its whole apply.
const PAGE: u64 = 200;

/// The sale-status pass, as the engine runs it by entity.
pub struct SaleStatusSync;

#[async_trait::async_trait]
impl EntitySync for SaleStatusSync {
    fn entity(&self) -> LinkedEntity {
        LinkedEntity::SaleStatus
    }

    async fn pass(
        &self,
        ctx: &Context,
        integration: &integration::Model,
        apply: bool,
        progress: &Progress,
        recorder: &dyn Recorder,
    ) -> EngineResult<PassReport> {
        reconcile_sale_statuses_with(ctx, integration, apply, progress, recorder).await
    }
}

/// Pulls the statuses of the sales sent to `integration`; with `apply = false` it only says what it
/// would change.
pub async fn reconcile_sale_statuses(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
) -> EngineResult<PassReport> {
    reconcile_sale_statuses_with(ctx, integration, apply, &Progress::none(), &NoRecorder).await
}

/// [`reconcile_sale_statuses`], telling `progress` how many sent sales it went through and `recorder`
/// what each committed batch changed.
#[tracing::instrument(skip_all, fields(integration = %integration.id, apply))]
pub async fn reconcile_sale_statuses_with(
    ctx: &Context,
    integration: &integration::Model,
    apply: bool,
    progress: &Progress,
    recorder: &dyn Recorder,
) -> EngineResult<PassReport> {
    // Unmapped statuses and sales the remote does not know are left alone: nothing is removed.
    let mut report = PassReport {
        applied: apply,
        held_back: None,
        policy: MissingRecordPolicy::Ignore,
        last_synced_at: None,
        changes: Vec::new(),
    };
    if !SaleSettings::from_settings(&integration.settings).check_status_updates {
        tracing::info!("checkStatusUpdates is off: no sale statuses pulled");
        return Ok(report);
    }
    let db = &ctx.db;
    let map = statuses::load(db, integration).await?;
    let keys: HashMap<Uuid, String> =
        status::Entity::find_in(integration.account_id).all(db).await?.into_iter().map(|s| (s.id, s.key)).collect();
    let total = sent(integration).count(db).await?;
    progress.advanced(0, Some(total));
    if total == 0 {
        return Ok(report);
    }
    let connector = connect::connector_for(ctx, integration, integration.mode).await?;
    // Microseconds: what PostgreSQL stores, so that the report says what a later read says.
    let now = Utc::now().trunc_subsecs(6);
    let mut after: Option<Uuid> = None;
    let mut done = 0u64;
    loop {
        let mut select = sent(integration)
            .select_only()
            .columns([
                sale_transmission::Column::Id,
                sale_transmission::Column::SaleId,
                sale_transmission::Column::RemoteId,
                sale_transmission::Column::RemoteStatus,
            ])
            .order_by_asc(sale_transmission::Column::Id)
            .limit(PAGE);
        if let Some(last) = after {
            select = select.filter(sale_transmission::Column::Id.gt(last));
        }
        let page: Vec<(Uuid, Uuid, Option<String>, Option<String>)> = select.into_tuple().all(db).await?;
        let Some((last, _, _, _)) = page.last() else { break };
        after = Some(*last);
        let sent_sales: Vec<(Uuid, String)> =
            page.iter().filter_map(|(_, sale, remote, _)| Some((*sale, remote.clone()?))).collect();
        // Per sale: its transmission and the remote status last applied.
        let seen: HashMap<Uuid, (Uuid, Option<String>)> =
            page.iter().map(|(id, sale, _, status)| (*sale, (*id, status.clone()))).collect();
        let remote_ids: Vec<String> = sent_sales.iter().map(|(_, remote)| remote.clone()).collect();
        // A remote that cannot answer fails the pass (and the job retries it); batches applied before
        // stay applied, and the next attempt finds them unchanged.
        let remote: HashMap<String, String> =
            connector.sale_statuses(&remote_ids).await?.into_iter().map(|s| (s.id, s.status)).collect();
        let from = report.changes.len();
        if apply {
            // The sales are read in the transaction that changes them: a person changing one meanwhile
            // is not overwritten with an older status.
            let txn = crate::db::begin_write(db).await?;
            let sales = sales_of(&txn, integration, &sent_sales).await?;
            for (sale_id, remote_id) in &sent_sales {
                let Some(sale) = sales.get(sale_id) else { continue };
                let (transmission, last) = &seen[sale_id];
                let now_at_remote = remote.get(remote_id);
                let change = compare(sale, remote_id, now_at_remote, last.as_ref(), &map, &keys);
                if change.action == ChangeAction::Update
                    && let Some(local) = now_at_remote.and_then(|r| map.local_for(r))
                {
                    let mut active: sale::ActiveModel = sale.clone().into();
                    active.status_id = Set(local.id);
                    active.status_changed_at = Set(now);
                    active.updated_at = Set(now);
                    let sale = active.update(&txn).await?;
                    crate::outbox::sale_changed(&txn, &sale).await?;
                }
                // A mapped remote status is remembered as applied (also when the sale had it already).
                if let Some(status) = now_at_remote.filter(|r| map.local_for(r).is_some() && last.as_ref() != Some(*r))
                {
                    sale_transmission::Entity::update_many_in(integration.account_id)
                        .col_expr(sale_transmission::Column::RemoteStatus, Expr::value(Some(status.clone())))
                        .filter(sale_transmission::Column::Id.eq(*transmission))
                        .exec(&txn)
                        .await?;
                }
                report.changes.push(change);
            }
            let written: Vec<&Change> =
                report.changes[from..].iter().filter(|c| c.action == ChangeAction::Update).collect();
            recorder.written(&txn, &written).await?;
            txn.commit().await?;
        } else {
            let sales = sales_of(db, integration, &sent_sales).await?;
            for (sale_id, remote_id) in &sent_sales {
                if let Some(sale) = sales.get(sale_id) {
                    let last = seen[sale_id].1.as_ref();
                    report.changes.push(compare(sale, remote_id, remote.get(remote_id), last, &map, &keys));
                }
            }
        }
        done += page.len() as u64;
        progress.advanced(done, Some(total));
        if (page.len() as u64) < PAGE {
            break;
        }
    }
    let updated = report.count(ChangeAction::Update);
    if apply && updated > 0 {
        report.last_synced_at = Some(now);
    }
    tracing::info!(
        sales = report.changes.len(),
        updated,
        unmapped = report.count(ChangeAction::Unmapped),
        "sale statuses pulled"
    );
    Ok(report)
}

/// The integration's transmissions the remote accepted, and so has a status for.
fn sent(integration: &integration::Model) -> Select<sale_transmission::Entity> {
    sale_transmission::Entity::find_in(integration.account_id)
        .filter(sale_transmission::Column::IntegrationId.eq(integration.id))
        .filter(sale_transmission::Column::State.eq(TransmissionState::Sent))
        .filter(sale_transmission::Column::RemoteId.is_not_null())
}

async fn sales_of(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    sent: &[(Uuid, String)],
) -> EngineResult<HashMap<Uuid, sale::Model>> {
    let ids: Vec<Uuid> = sent.iter().map(|(sale, _)| *sale).collect();
    Ok(sale::Entity::find_in(integration.account_id)
        .filter(sale::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect())
}

/// What the pull does with one sent sale, given its status at the remote (`None`: the remote does not
/// know the sale, or gave it no status) and the remote status last applied.
fn compare(
    sale: &sale::Model,
    remote_id: &str,
    remote_status: Option<&String>,
    last_applied: Option<&String>,
    map: &StatusMap,
    keys: &HashMap<Uuid, String>,
) -> Change {
    let mut change = Change {
        remote_id: remote_id.to_owned(),
        label: Some(format!("sale {}", sale.id)),
        local_id: Some(sale.id),
        action: ChangeAction::Unchanged,
        note: None,
        payload: None,
    };
    let Some(remote_status) = remote_status else {
        change.action = ChangeAction::Ignore;
        change.note = Some("the remote does not report this sale's status".into());
        return change;
    };
    let Some(local) = map.local_for(remote_status) else {
        change.action = ChangeAction::Unmapped;
        change.note = Some(format!(
            "the remote status {remote_status} is not mapped, so the sale keeps its status (only mapped statuses \
             are synchronised)"
        ));
        change.payload = Some(serde_json::json!({ "remoteStatus": remote_status }));
        return change;
    };
    if local.id == sale.status_id {
        return change;
    }
    if last_applied == Some(remote_status) {
        change.note = Some(format!(
            "the remote status {remote_status} did not change since it was applied; the local status stands"
        ));
        return change;
    }
    let old = keys.get(&sale.status_id).map_or("?", String::as_str);
    change.action = ChangeAction::Update;
    change.note = Some(format!("status {old} → {} (remote status {remote_status})", local.key));
    change.payload = Some(serde_json::json!({ "remoteStatus": remote_status, "from": old, "to": local.key }));
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use koppel_entity::status_mapping;

    fn status(key: &str, system: bool) -> status::Model {
        status::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            key: key.into(),
            name: key.into(),
            system,
            position: 0,
            created_at: Utc::now(),
        }
    }

    fn sale_with(status_id: Uuid) -> sale::Model {
        sale::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            organisation_id: None,
            agent_id: Uuid::nil(),
            customer_id: None,
            product_id: Uuid::nil(),
            flow_id: None,
            status_id,
            answers: serde_json::json!({}),
            opt_in: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            status_changed_at: Utc::now(),
            idempotency_key: None,
            idempotency_hash: None,
        }
    }

    #[test]
    fn a_sale_takes_the_mapped_status_and_an_unmapped_one_changes_nothing() {
        let (new, sent, approved) = (status("new", true), status("sent", false), status("approved", false));
        let statuses = [new.clone(), sent.clone(), approved.clone()];
        let explicit = vec![status_mapping::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::nil(),
            integration_id: Uuid::nil(),
            remote_status: "callback".into(),
            local_status_id: approved.id,
        }];
        let map = StatusMap::new(explicit, &statuses);
        let keys: HashMap<Uuid, String> = statuses.iter().map(|s| (s.id, s.key.clone())).collect();
        let sale = sale_with(sent.id);

        let changed = compare(&sale, "r1", Some(&"callback".to_owned()), None, &map, &keys);
        assert_eq!(changed.action, ChangeAction::Update);
        assert_eq!(changed.note.as_deref(), Some("status sent → approved (remote status callback)"));

        let system = compare(&sale, "r1", Some(&"new".to_owned()), None, &map, &keys);
        assert_eq!(system.action, ChangeAction::Update, "a system status maps by key");
        let stayed = compare(&sale, "r1", Some(&"new".to_owned()), Some(&"new".to_owned()), &map, &keys);
        assert_eq!(stayed.action, ChangeAction::Unchanged, "`sent` here stands while the remote still says new");
        let moved = compare(&sale, "r1", Some(&"callback".to_owned()), Some(&"new".to_owned()), &map, &keys);
        assert_eq!(moved.action, ChangeAction::Update, "the remote moved it on");

        let same = compare(&sale_with(approved.id), "r1", Some(&"callback".to_owned()), None, &map, &keys);
        assert_eq!(same.action, ChangeAction::Unchanged);

        let unmapped = compare(&sale, "r1", Some(&"on_hold".to_owned()), None, &map, &keys);
        assert_eq!(unmapped.action, ChangeAction::Unmapped);
        assert!(unmapped.note.as_deref().is_some_and(|n| n.contains("on_hold")), "{unmapped:?}");

        assert_eq!(compare(&sale, "r1", None, None, &map, &keys).action, ChangeAction::Ignore);
    }
}
