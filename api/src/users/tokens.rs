//! API tokens: created for a user by an admin, the secret shown once, revocable at any time.

use super::User;
use crate::auth::api_token;
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, loaders};
use crate::validate;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, api_token as token, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, Set};
use uuid::Uuid;

/// An API token. Its secret is never shown again after creation; `prefix` helps to recognise it.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct ApiToken {
    pub id: ID,
    pub name: String,
    pub prefix: String,
    /// Only for integrations: such a token can only use the provider surface.
    pub integration_only: bool,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub user_id: Uuid,
}

impl From<token::Model> for ApiToken {
    fn from(m: token::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            name: m.name,
            prefix: m.prefix,
            integration_only: m.integration_only,
            last_used_at: m.last_used_at,
            revoked_at: m.revoked_at,
            created_at: m.created_at,
            user_id: m.user_id,
        }
    }
}

#[ComplexObject]
impl ApiToken {
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders::load::<user::Entity>(ctx, self.user_id).await?.map(Into::into))
    }
}

#[derive(InputObject)]
pub struct CreateApiTokenInput {
    pub user_id: ID,
    pub name: String,
    /// Mark the token as "for integrations only" (the connection token handed to a partner).
    #[graphql(default)]
    pub integration_only: bool,
}

#[derive(InputObject)]
pub struct RevokeApiTokenInput {
    pub id: ID,
}

/// A new token and its secret, shown this once.
#[derive(SimpleObject)]
pub struct CreatedApiToken {
    pub api_token: ApiToken,
    /// The secret for `Authorization: Bearer`. Store it now: it is not shown again.
    pub secret: String,
}

crate::payload!(CreateApiTokenPayload { created: CreatedApiToken });
crate::payload!(RevokeApiTokenPayload { api_token: ApiToken });

#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// The account's API tokens, optionally of one user (admins only).
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn api_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        user_id: Option<ID>,
    ) -> ApiResult<Connection<String, ApiToken>> {
        let principal = ctx.principal()?.require_admin()?;
        let mut select = token::Entity::find_in(principal.account_id);
        if let Some(user_id) = user_id {
            select = select.filter(token::Column::UserId.eq(ids::parse(&user_id, "user")?));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, ApiToken::from).await
    }
}

#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Creates a token for a user of the account (admins only) and returns its secret once.
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> ApiResult<CreateApiTokenPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let result = async {
            let mut problems = Problems::new();
            let name = validate::required(&mut problems, "name", &input.name, 100);
            let user_id = ids::parse_field(&input.user_id, "userId", &mut problems);
            let user = match user_id {
                Some(id) => user::Entity::find_by_id_in(principal.account_id, id).one(db).await?,
                None => None,
            };
            if user_id.is_some() && user.is_none() {
                problems.add("userId", UserErrorCode::NotFound, format!("user {} does not exist", input.user_id.as_str()));
            }
            problems.into_result()?;
            let user = user.expect("checked above");
            let secret = api_token::generate();
            let model = token::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(principal.account_id),
                user_id: Set(user.id),
                name: Set(name),
                token_hash: Set(api_token::hash(&secret)),
                prefix: Set(api_token::display_prefix(&secret)),
                integration_only: Set(input.integration_only),
                scopes: Set(serde_json::json!([])),
                last_used_at: Set(None),
                revoked_at: Set(None),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?;
            tracing::info!(token = %model.id, user = %user.id, integration_only = model.integration_only, "API token created");
            Ok(CreatedApiToken { api_token: model.into(), secret })
        }
        .await;
        CreateApiTokenPayload::from_result(result)
    }

    /// Revokes a token (admins only); it stops working on the next request.
    async fn revoke_api_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeApiTokenInput,
    ) -> ApiResult<RevokeApiTokenPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let id = ids::parse(&input.id, "API token")?;
        let existing = token::Entity::find_by_id_in(principal.account_id, id)
            .one(ctx.db())
            .await?
            .ok_or(ApiError::NotFound("API token"))?;
        if existing.revoked_at.is_some() {
            return RevokeApiTokenPayload::from_result(Ok(existing.into()));
        }
        let mut active: token::ActiveModel = existing.into();
        active.revoked_at = Set(Some(Utc::now()));
        let model = active.update(ctx.db()).await?;
        ctx.state().auth.forget_all();
        RevokeApiTokenPayload::from_result(Ok(model.into()))
    }
}
