//! Creating and changing users.

use super::{CreateUserInput, UpdateUserInput};
use crate::accounts::MIN_PASSWORD;
use crate::auth::{Principal, password};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::ids;
use crate::validate;
use chrono::Utc;
use koppel_entity::{Scoped, enums::Role, organisation, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set};
use uuid::Uuid;

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<user::Model> {
    user::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("user"))
}

fn check_password(problems: &mut Problems, password: Option<&str>) {
    if let Some(password) = password {
        if password.chars().count() < MIN_PASSWORD {
            problems.add(
                "password",
                UserErrorCode::Invalid,
                format!("password must be at least {MIN_PASSWORD} characters"),
            );
        } else if password.chars().count() > 200 {
            problems.add("password", UserErrorCode::TooLong, "password must be at most 200 characters");
        }
    }
}

/// Checks that an organisation id exists in the account.
pub async fn check_organisation(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    id: &async_graphql::ID,
    field: &str,
    problems: &mut Problems,
) -> ApiResult<Option<Uuid>> {
    let Some(uuid) = ids::parse_field(id, field, problems) else { return Ok(None) };
    if organisation::Entity::find_by_id_in(account_id, uuid).one(db).await?.is_none() {
        problems.add(field, UserErrorCode::NotFound, format!("organisation {uuid} does not exist"));
        return Ok(None);
    }
    Ok(Some(uuid))
}

pub async fn create(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: CreateUserInput,
) -> ApiResult<user::Model> {
    let account_id = principal.account_id;
    let mut problems = Problems::new();
    let username = validate::required(&mut problems, "username", &input.username, 100);
    check_password(&mut problems, input.password.as_deref());
    let display_name = validate::optional(&mut problems, "displayName", input.display_name.as_deref(), 200);
    let email = validate::email(&mut problems, "email", input.email.as_deref());
    let organisation_id = match &input.organisation_id {
        Some(id) => check_organisation(db, account_id, id, "organisationId", &mut problems).await?,
        None => None,
    };
    if !username.is_empty()
        && user::Entity::find_in(account_id).filter(user::Column::Username.eq(&username)).one(db).await?.is_some()
    {
        problems.add("username", UserErrorCode::Taken, format!("username {username} is already taken"));
    }
    problems.into_result()?;
    let now = Utc::now();
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        organisation_id: Set(organisation_id),
        username: Set(username),
        display_name: Set(display_name),
        email: Set(email),
        role: Set(input.role.into()),
        password_hash: Set(input.password.as_deref().map(password::hash)),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(user)
}

pub async fn update(
    db: &impl ConnectionTrait,
    principal: &Principal,
    input: UpdateUserInput,
) -> ApiResult<user::Model> {
    let account_id = principal.account_id;
    let id = ids::parse(&input.id, "user")?;
    let existing = find(db, account_id, id).await?;
    let mut problems = Problems::new();
    check_password(&mut problems, input.password.as_deref());
    let display_name = validate::optional(&mut problems, "displayName", input.display_name.as_deref(), 200);
    let email = validate::email(&mut problems, "email", input.email.as_deref());
    let organisation_id = match &input.organisation_id {
        Some(org) => check_organisation(db, account_id, org, "organisationId", &mut problems).await?,
        None => None,
    };
    if id == principal.user_id {
        if input.role.is_some_and(|r| Role::from(r) != Role::Admin) {
            problems.add("role", UserErrorCode::Invalid, "you cannot take away your own admin role");
        }
        if input.active == Some(false) {
            problems.add("active", UserErrorCode::Invalid, "you cannot disable yourself");
        }
    }
    problems.into_result()?;
    let mut active: user::ActiveModel = existing.into();
    if let Some(password) = input.password.as_deref() {
        active.password_hash = Set(Some(password::hash(password)));
    }
    if let Some(role) = input.role {
        active.role = Set(role.into());
    }
    if input.clear_organisation {
        active.organisation_id = Set(None);
    } else if organisation_id.is_some() {
        active.organisation_id = Set(organisation_id);
    }
    if input.display_name.is_some() {
        active.display_name = Set(display_name);
    }
    if input.email.is_some() {
        active.email = Set(email);
    }
    if let Some(flag) = input.active {
        active.active = Set(flag);
    }
    active.updated_at = Set(Utc::now());
    Ok(active.update(db).await?)
}
