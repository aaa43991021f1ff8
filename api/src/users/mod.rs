//! Users and their API tokens. Admins manage both; everyone can read themselves.

mod service;
mod tokens;

pub use tokens::{ApiToken, TokenMutation, TokenQuery};

use crate::accounts::{Account, account_of};
use crate::error::{ApiError, ApiResult};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, loaders};
use crate::organisations::Organisation;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, MergedObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, enums, organisation, user};
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::Role")]
pub enum Role {
    /// Manages the account: users, tokens, organisations, catalogue, settings.
    Admin,
    /// Sells: creates and reads sales, reads the catalogue.
    Agent,
    /// A user that exists only to connect a system; acts through API tokens.
    Integration,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct User {
    pub id: ID,
    pub username: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub account_id: Uuid,
    #[graphql(skip)]
    pub organisation_id: Option<Uuid>,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            username: m.username,
            display_name: m.display_name,
            email: m.email,
            role: m.role.into(),
            active: m.active,
            created_at: m.created_at,
            account_id: m.account_id,
            organisation_id: m.organisation_id,
        }
    }
}

#[ComplexObject]
impl User {
    async fn account(&self, ctx: &Context<'_>) -> ApiResult<Account> {
        account_of(ctx, self.account_id).await
    }

    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        let Some(id) = self.organisation_id else { return Ok(None) };
        Ok(loaders::load::<organisation::Entity>(ctx, id).await?.map(Into::into))
    }
}

#[derive(InputObject)]
pub struct CreateUserInput {
    pub username: String,
    /// At least 10 characters. Users without a password cannot sign in and act only through API tokens.
    pub password: Option<String>,
    pub role: Role,
    pub organisation_id: Option<ID>,
    pub display_name: Option<String>,
    pub email: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateUserInput {
    pub id: ID,
    pub password: Option<String>,
    pub role: Option<Role>,
    /// Moves the user to another organisation.
    pub organisation_id: Option<ID>,
    /// Takes the user out of its organisation.
    #[graphql(default)]
    pub clear_organisation: bool,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// A disabled user can neither sign in nor use its tokens.
    pub active: Option<bool>,
}

crate::payload!(CreateUserPayload { user: User });
crate::payload!(UpdateUserPayload { user: User });

#[derive(Default)]
struct UserQueryRoot;

#[Object]
impl UserQueryRoot {
    /// The account's users (admins only).
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn users(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        role: Option<Role>,
        organisation_id: Option<ID>,
    ) -> ApiResult<Connection<String, User>> {
        let principal = ctx.principal()?.require_admin()?;
        let mut select = user::Entity::find_in(principal.account_id);
        if let Some(role) = role {
            select = select.filter(user::Column::Role.eq(enums::Role::from(role)));
        }
        if let Some(org) = organisation_id {
            select = select.filter(user::Column::OrganisationId.eq(ids::parse(&org, "organisation")?));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, User::from).await
    }

    /// One user: admins see everyone in the account, others only themselves.
    async fn user(&self, ctx: &Context<'_>, id: ID) -> ApiResult<User> {
        let principal = ctx.principal()?.require_user()?;
        let id = ids::parse(&id, "user")?;
        if !principal.is_admin() && id != principal.user_id {
            return Err(ApiError::NotFound("user"));
        }
        service::find(ctx.db(), principal.account_id, id).await.map(Into::into)
    }
}

#[derive(MergedObject, Default)]
pub struct UserQuery(UserQueryRoot, TokenQuery);

#[derive(Default)]
struct UserMutationRoot;

#[Object]
impl UserMutationRoot {
    /// Adds a user to the account (admins only).
    async fn create_user(&self, ctx: &Context<'_>, input: CreateUserInput) -> ApiResult<CreateUserPayload> {
        let principal = ctx.principal()?.require_admin()?;
        CreateUserPayload::from_result(service::create(ctx.db(), principal, input).await.map(Into::into))
    }

    /// Changes a user (admins only). Admins cannot demote or disable themselves.
    async fn update_user(&self, ctx: &Context<'_>, input: UpdateUserInput) -> ApiResult<UpdateUserPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::update(ctx.db(), principal, input).await;
        if result.is_ok() {
            // The user may have been disabled, or moved to another role or organisation.
            ctx.state().auth.forget_all();
        }
        UpdateUserPayload::from_result(result.map(Into::into))
    }
}

#[derive(MergedObject, Default)]
pub struct UserMutation(UserMutationRoot, TokenMutation);
