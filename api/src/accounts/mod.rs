//! Accounts and signing in: `login`, `me`, and the service behind `koppel account create`.

mod service;

pub use service::{MIN_PASSWORD, SYSTEM_STATUSES, create_account, login};

use crate::error::ApiResult;
use crate::graphql::{ContextExt, ids::to_id};
use crate::rate_limit::ClientAddress;
use crate::users::User;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, account};
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

crate::payload!(
    /// A login token for the `Authorization: Bearer` header.
    LoginPayload { session: Session }
);

#[derive(SimpleObject)]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        let principal = ctx.principal()?;
        let user = koppel_entity::user::Entity::find_by_id_in(principal.account_id, principal.user_id)
            .one(ctx.db())
            .await?
            .ok_or(crate::error::ApiError::NotFound("user"))?;
        Ok(user.into())
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Signs in with a password. Wrong credentials are `UNAUTHENTICATED`, without saying which part was wrong.
    /// Attempts are limited per account and username and per client address (`RATE_LIMITED`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<LoginPayload> {
        let state = ctx.state();
        // Before the database and argon2: a refused attempt costs next to nothing.
        let address = ctx.data_opt::<ClientAddress>().map(|address| address.0);
        state.limits.check_login(&input.account, &input.username, address)?;
        let result = login(&state.db, &state.jwt, &input).await.map(|(token, expires_at, user)| Session {
            token,
            expires_at,
            user: user.into(),
        });
        LoginPayload::from_result(result)
    }
}

/// The account of a user, for `User.account`.
pub async fn account_of(ctx: &Context<'_>, account_id: uuid::Uuid) -> ApiResult<Account> {
    let account = account::Entity::find_by_id(account_id)
        .one(ctx.db())
        .await?
        .ok_or(crate::error::ApiError::NotFound("account"))?;
    Ok(account.into())
}
