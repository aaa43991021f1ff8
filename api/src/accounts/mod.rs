//! Accounts (tenants): the `Account` type, the service behind `koppel account create`, and the password
//! check behind `login` (its GraphQL side is the `session` module).

mod service;

pub use service::{MIN_PASSWORD, SYSTEM_STATUSES, create_account, login};

use crate::error::ApiResult;
use crate::graphql::{ContextExt, ids::to_id};
use async_graphql::{Context, ID, InputObject, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::account;
use sea_orm::EntityTrait;

/// An account: one tenant.
#[derive(SimpleObject, Clone)]
pub struct Account {
    pub id: ID,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<account::Model> for Account {
    fn from(m: account::Model) -> Self {
        Self { id: to_id(m.id), name: m.name, created_at: m.created_at }
    }
}

#[derive(InputObject)]
pub struct LoginInput {
    /// The account's name, e.g. `acme`.
    pub account: String,
    pub username: String,
    pub password: String,
}

/// The account of a user, for `User.account`.
pub async fn account_of(ctx: &Context<'_>, account_id: uuid::Uuid) -> ApiResult<Account> {
    let account = account::Entity::find_by_id(account_id)
        .one(ctx.db())
        .await?
        .ok_or(crate::error::ApiError::NotFound("account"))?;
    Ok(account.into())
}
