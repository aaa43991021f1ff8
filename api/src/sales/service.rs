//! Creating sales and changing their status.

use super::{ChangeSaleStatusInput, CreateSaleInput, answers};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::ids;
use crate::statuses;
use async_graphql::ID;
use chrono::Utc;
use koppel_entity::{Scoped, customer, flow, organisation, product, question, sale, status};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

/// A sale the caller may see: admins any of the account's, agents their own.
pub async fn find_visible(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> ApiResult<sale::Model> {
    sale::Entity::find_by_id_in(principal.account_id, id)
        .one(db)
        .await?
        .filter(|s| principal.is_admin() || s.agent_id == principal.user_id)
        .ok_or(ApiError::NotFound("sale"))
}

/// Looks up an optional reference; reports a malformed or unknown id on `field`.
async fn reference<E: Scoped>(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    id: Option<&ID>,
    field: &str,
    what: &str,
    problems: &mut Problems,
) -> ApiResult<Option<E::Model>> {
    let Some(id) = id else { return Ok(None) };
    let Some(uuid) = ids::parse_field(id, field, problems) else { return Ok(None) };
    let found = E::find_by_id_in(account_id, uuid).one(db).await?;
    if found.is_none() {
        problems.add(field, UserErrorCode::NotFound, format!("{what} {uuid} does not exist"));
    }
    Ok(found)
}

/// The idempotency key a provider-surface client submitted a sale with, and the hash of what it
/// submitted, so that a retry is told from a different sale sent with the same key.
pub struct Idempotency {
    pub key: String,
    pub hash: String,
}

/// Creates a sale; `idempotency` is set for sales submitted through the provider surface. Queues the
/// transmissions the new sale qualifies for (call it in the transaction that commits the sale).
pub async fn create(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: CreateSaleInput,
    idempotency: Option<Idempotency>,
) -> ApiResult<sale::Model> {
    let account_id = principal.account_id;
    let mut problems = Problems::new();
    let product =
        reference::<product::Entity>(db, account_id, Some(&input.product_id), "productId", "product", &mut problems)
            .await?;
    if let Some(product) = &product {
        if !product.active {
            problems.add("productId", UserErrorCode::Invalid, format!("{} is not active", product.name));
        } else if !product.authorised {
            problems.add(
                "productId",
                UserErrorCode::Invalid,
                format!("{} is not authorised for sale yet", product.name),
            );
        }
    }
    let flow =
        reference::<flow::Entity>(db, account_id, input.flow_id.as_ref(), "flowId", "flow", &mut problems).await?;
    if flow.as_ref().is_some_and(|f| !f.active) {
        problems.add("flowId", UserErrorCode::Invalid, "this flow is not active");
    }
    let customer = reference::<customer::Entity>(
        db,
        account_id,
        input.customer_id.as_ref(),
        "customerId",
        "customer",
        &mut problems,
    )
    .await?;
    let organisation = reference::<organisation::Entity>(
        db,
        account_id,
        input.organisation_id.as_ref(),
        "organisationId",
        "organisation",
        &mut problems,
    )
    .await?;
    if let Some(opt_in) = &input.opt_in {
        crate::validate::optional(&mut problems, "optIn.channel", opt_in.channel.as_deref(), 50);
    }

    // The questions that apply: those of the product and those of the flow.
    let mut scope = Condition::any();
    if let Some(product) = &product {
        scope = scope.add(question::Column::ProductId.eq(product.id));
    }
    if let Some(flow) = &flow {
        scope = scope.add(question::Column::FlowId.eq(flow.id));
    }
    let questions = if product.is_some() || flow.is_some() {
        question::Entity::find_in(account_id)
            .filter(scope)
            .order_by_asc(question::Column::Position)
            .order_by_asc(question::Column::Id)
            .all(db)
            .await?
    } else {
        Vec::new()
    };
    let given: Vec<(String, serde_json::Value)> =
        input.answers.iter().map(|a| (a.question_key.clone(), a.value.0.clone())).collect();
    let stored = answers::check(&questions, &given, &mut problems);
    problems.into_result()?;

    let initial = statuses::find_by_key(db, account_id, "new").await?;
    let (idempotency_key, idempotency_hash) = idempotency.map(|i| (i.key, i.hash)).unzip();
    let now = Utc::now();
    let opt_in = input.opt_in.map(|mut o| {
        o.recorded_at.get_or_insert(now);
        serde_json::to_value(o).expect("serialises")
    });
    let sale = sale::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        organisation_id: Set(organisation.map(|o| o.id).or(principal.organisation_id)),
        agent_id: Set(principal.user_id),
        customer_id: Set(customer.map(|c| c.id)),
        product_id: Set(product.expect("checked above").id),
        flow_id: Set(flow.map(|f| f.id)),
        status_id: Set(initial.id),
        answers: Set(serde_json::Value::Object(stored)),
        opt_in: Set(opt_in),
        created_at: Set(now),
        updated_at: Set(now),
        status_changed_at: Set(now),
        idempotency_key: Set(idempotency_key),
        idempotency_hash: Set(idempotency_hash),
    }
    .insert(db)
    .await?;
    koppel_daemon::outbox::sale_changed(db, &sale).await?;
    Ok(sale)
}

pub async fn change_status(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: ChangeSaleStatusInput,
) -> ApiResult<sale::Model> {
    let existing = find_visible(db, principal, ids::parse(&input.id, "sale")?).await?;
    let mut problems = Problems::new();
    let status = reference::<status::Entity>(
        db,
        principal.account_id,
        Some(&input.status_id),
        "statusId",
        "status",
        &mut problems,
    )
    .await?;
    problems.into_result()?;
    let status = status.expect("checked above");
    if status.id == existing.status_id {
        return Ok(existing);
    }
    let now = Utc::now();
    let mut active: sale::ActiveModel = existing.into();
    active.status_id = Set(status.id);
    active.status_changed_at = Set(now);
    active.updated_at = Set(now);
    let sale = active.update(db).await?;
    koppel_daemon::outbox::sale_changed(db, &sale).await?;
    Ok(sale)
}

/// Commits the transaction of a sale change when it succeeded (the sale and the transmissions it
/// qualifies are stored together), rolls it back otherwise.
pub async fn commit(txn: sea_orm::DatabaseTransaction, result: ApiResult<sale::Model>) -> ApiResult<sale::Model> {
    match result {
        Ok(sale) => {
            txn.commit().await?;
            Ok(sale)
        }
        Err(error) => {
            txn.rollback().await?;
            Err(error)
        }
    }
}
