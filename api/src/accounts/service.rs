//! Creating accounts and checking passwords.

use crate::auth::{jwt::JwtKeys, password};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::validate;
use chrono::{DateTime, Utc};
use koppel_entity::enums::Role;
use koppel_entity::{account, status, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, TransactionSession, TransactionTrait,
};
use uuid::Uuid;

/// The statuses every account starts with: `(key, name)`. System statuses are mapped automatically by
/// integrations and cannot be renamed or deleted.
pub const SYSTEM_STATUSES: [(&str, &str); 5] = [
    ("new", "New"),
    ("sent", "Sent"),
    ("processed", "Processed"),
    ("rejected", "Rejected"),
    ("cancelled", "Cancelled"),
];

/// Minimum password length for users who sign in.
pub const MIN_PASSWORD: usize = 10;

/// Creates an account with its first admin user and its system statuses, in one transaction.
pub async fn create_account<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    name: &str,
    admin_username: &str,
    admin_password: &str,
) -> ApiResult<(account::Model, user::Model)> {
    let mut problems = Problems::new();
    let name = validate::key(&mut problems, "name", &name.to_ascii_lowercase());
    let username = validate::required(&mut problems, "admin", admin_username, 100);
    if admin_password.chars().count() < MIN_PASSWORD {
        problems.add(
            "password",
            UserErrorCode::Invalid,
            format!("password must be at least {MIN_PASSWORD} characters"),
        );
    }
    if problems.is_empty() && account::Entity::find().filter(account::Column::Name.eq(&name)).one(db).await?.is_some() {
        problems.add("name", UserErrorCode::Taken, format!("an account named {name} already exists"));
    }
    problems.into_result()?;

    let hash = password::hash(admin_password);
    let txn = crate::db::begin_write(db).await?;
    let now = Utc::now();
    let account =
        account::ActiveModel { id: Set(Uuid::now_v7()), name: Set(name), created_at: Set(now) }.insert(&txn).await?;
    let admin = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        organisation_id: Set(None),
        username: Set(username),
        display_name: Set(None),
        email: Set(None),
        role: Set(Role::Admin),
        password_hash: Set(Some(hash)),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let statuses = SYSTEM_STATUSES.iter().enumerate().map(|(position, (key, name))| status::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account.id),
        key: Set((*key).into()),
        name: Set((*name).into()),
        system: Set(true),
        position: Set(position as i32),
        created_at: Set(now),
    });
    status::Entity::insert_many(statuses).exec(&txn).await?;
    txn.commit().await?;
    Ok((account, admin))
}

/// Checks a password and issues a login token.
pub async fn login(
    db: &impl ConnectionTrait,
    keys: &JwtKeys,
    input: &super::LoginInput,
) -> ApiResult<(String, DateTime<Utc>, user::Model)> {
    let account = account::Entity::find()
        .filter(account::Column::Name.eq(input.account.trim().to_ascii_lowercase()))
        .one(db)
        .await?;
    let user = match &account {
        Some(account) => {
            user::Entity::find()
                .filter(user::Column::AccountId.eq(account.id))
                .filter(user::Column::Username.eq(input.username.trim()))
                .one(db)
                .await?
        }
        None => None,
    };
    let stored = user.as_ref().filter(|u| u.active).and_then(|u| u.password_hash.as_deref());
    if !password::verify(&input.password, stored) {
        return Err(ApiError::Unauthenticated("wrong account, username or password".into()));
    }
    let user = user.expect("a verified password belongs to a user");
    let (token, expires) = keys.issue(&user)?;
    Ok((token, expires, user))
}
