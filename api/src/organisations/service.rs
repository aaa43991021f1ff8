//! Organisation rules: unique names per account, validated extra fields, replace-set grants.

use super::{CreateOrganisationInput, SetOrganisationGrantsInput, UpdateOrganisationInput};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::extra_fields::validate_values;
use crate::graphql::ids;
use crate::validate;
use async_graphql::ID;
use chrono::Utc;
use koppel_entity::enums::{ExtraFieldEntity, GrantTarget};
use koppel_entity::{Scoped, access_grant, flow, organisation, product};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ModelTrait, QueryFilter, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use std::collections::HashSet;
use uuid::Uuid;

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<organisation::Model> {
    organisation::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("organisation"))
}

async fn check_name(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    name: &str,
    except: Option<Uuid>,
    problems: &mut Problems,
) -> ApiResult<()> {
    let key = (account_id, organisation::Column::Name, "name", "an organisation named");
    Ok(validate::unique::<organisation::Entity>(db, problems, key, name, except).await?)
}

pub async fn create(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    input: CreateOrganisationInput,
) -> ApiResult<organisation::Model> {
    let mut problems = Problems::new();
    let name = validate::required(&mut problems, "name", &input.name, 200);
    check_name(db, account_id, &name, None, &mut problems).await?;
    let extra = validate_values(
        db,
        account_id,
        ExtraFieldEntity::Organisation,
        &input.extra_fields,
        &serde_json::json!({}),
        "extraFields",
        &mut problems,
    )
    .await?;
    problems.into_result()?;
    let now = Utc::now();
    Ok(organisation::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        name: Set(name),
        extra_fields: Set(extra),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

pub async fn update(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    input: UpdateOrganisationInput,
) -> ApiResult<organisation::Model> {
    let existing = find(db, account_id, ids::parse(&input.id, "organisation")?).await?;
    let mut problems = Problems::new();
    let name = input.name.as_deref().map(|n| validate::required(&mut problems, "name", n, 200));
    if let Some(name) = &name {
        check_name(db, account_id, name, Some(existing.id), &mut problems).await?;
    }
    let extra = validate_values(
        db,
        account_id,
        ExtraFieldEntity::Organisation,
        &input.extra_fields,
        &existing.extra_fields,
        "extraFields",
        &mut problems,
    )
    .await?;
    problems.into_result()?;
    let mut active: organisation::ActiveModel = existing.into();
    if let Some(name) = name {
        active.name = Set(name);
    }
    active.extra_fields = Set(extra);
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}

/// Deletes one and says which.
pub async fn delete(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<Uuid> {
    find(db, account_id, id).await?.delete(db).await?;
    Ok(id)
}

/// Parses ids and keeps those that exist in the account; reports the others by position.
async fn existing_ids<E: Scoped>(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    requested: &[ID],
    field: &str,
    what: &str,
    problems: &mut Problems,
) -> ApiResult<Vec<Uuid>> {
    let parsed: Vec<(usize, Option<Uuid>)> =
        requested.iter().enumerate().map(|(i, id)| (i, uuid::Uuid::parse_str(id.as_str()).ok())).collect();
    let wanted: Vec<Uuid> = parsed.iter().filter_map(|(_, id)| *id).collect();
    let found: HashSet<Uuid> = E::find_by_ids_in(account_id, wanted)
        .select_only()
        .column(E::id_column())
        .into_tuple::<Uuid>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut ids = Vec::new();
    for (i, id) in parsed {
        match id.filter(|id| found.contains(id)) {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => problems.add(
                format!("{field}.{i}"),
                UserErrorCode::NotFound,
                format!("{what} {} does not exist", requested[i].as_str()),
            ),
        }
    }
    Ok(ids)
}

pub async fn set_grants<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    account_id: Uuid,
    input: SetOrganisationGrantsInput,
) -> ApiResult<organisation::Model> {
    let organisation = find(db, account_id, ids::parse(&input.organisation_id, "organisation")?).await?;
    let mut problems = Problems::new();
    let products =
        existing_ids::<product::Entity>(db, account_id, &input.product_ids, "productIds", "product", &mut problems)
            .await?;
    let flows = existing_ids::<flow::Entity>(db, account_id, &input.flow_ids, "flowIds", "flow", &mut problems).await?;
    problems.into_result()?;
    let wanted: Vec<(GrantTarget, Uuid)> = products
        .into_iter()
        .map(|id| (GrantTarget::Product, id))
        .chain(flows.into_iter().map(|id| (GrantTarget::Flow, id)))
        .collect();
    // Grants that stay keep their date, so that a partner's "changed since" sees only new ones.
    let txn = crate::db::begin_write(db).await?;
    let current = access_grant::Entity::find_in(account_id)
        .filter(access_grant::Column::OrganisationId.eq(organisation.id))
        .all(&txn)
        .await?;
    let gone: Vec<Uuid> = current.iter().filter(|g| !wanted.contains(&(g.target, g.target_id))).map(|g| g.id).collect();
    if !gone.is_empty() {
        access_grant::Entity::delete_many().filter(access_grant::Column::Id.is_in(gone)).exec(&txn).await?;
    }
    let now = Utc::now();
    let new: Vec<access_grant::ActiveModel> = wanted
        .into_iter()
        .filter(|(target, id)| !current.iter().any(|g| g.target == *target && g.target_id == *id))
        .map(|(target, target_id)| access_grant::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(account_id),
            organisation_id: Set(organisation.id),
            target: Set(target),
            target_id: Set(target_id),
            created_at: Set(now),
        })
        .collect();
    if !new.is_empty() {
        access_grant::Entity::insert_many(new).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(organisation)
}
