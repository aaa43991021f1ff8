//! Authentication: who is calling. Checked once in the HTTP layer; resolvers receive a [`Principal`].
//!
//! A bearer token is either a login JWT (three dot-separated parts) or an API token (`kpl_…`).

pub mod api_token;
pub mod cache;
pub mod jwt;
pub mod password;
mod principal;
pub mod sessions;

pub use cache::AuthCache;
pub use principal::{Credential, Principal};

use crate::error::{ApiError, ApiResult};
use chrono::Utc;
use koppel_entity::{Scoped, api_token as token_entity, user};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

/// Resolves an `Authorization: Bearer …` value to the calling principal. A login token's signature and
/// expiry are checked on every request; who it belongs to comes from `cache` when remembered (see
/// [`cache`] for when that is forgotten), else from the database.
pub async fn authenticate(
    db: &DatabaseConnection,
    keys: &jwt::JwtKeys,
    cache: &AuthCache,
    bearer: &str,
) -> ApiResult<Principal> {
    if bearer.starts_with(api_token::PREFIX) {
        return authenticate_api_token(db, cache, bearer).await;
    }
    let claims = keys.verify(bearer)?;
    let key = cache::CacheKey::Login { account: claims.acc, user: claims.sub };
    if let Some(principal) = cache.get(&key) {
        return Ok(principal);
    }
    let generation = cache.generation();
    let user =
        user::Entity::find_by_id_in(claims.acc, claims.sub).one(db).await?.filter(|u| u.active).ok_or_else(|| {
            ApiError::Unauthenticated("the user of this token no longer exists or is disabled".into())
        })?;
    let principal = Principal::new(&user, Credential::Login);
    cache.remember(key, &principal, generation);
    Ok(principal)
}

/// An API token is remembered for at most a minute ([`cache::MAX_AGE`]), so that its `last_used_at`
/// still moves about once a minute while it is used.
async fn authenticate_api_token(db: &DatabaseConnection, cache: &AuthCache, secret: &str) -> ApiResult<Principal> {
    let hash = api_token::hash(secret);
    let key = cache::CacheKey::ApiToken(hash.clone());
    if let Some(principal) = cache.get(&key) {
        return Ok(principal);
    }
    let generation = cache.generation();
    let unknown = || ApiError::Unauthenticated("unknown API token".into());
    let token = token_entity::Entity::find()
        .filter(token_entity::Column::TokenHash.eq(hash))
        .one(db)
        .await?
        .ok_or_else(unknown)?;
    if token.revoked_at.is_some() {
        // The caller holds the secret, so saying it was revoked tells them nothing new and saves a support call.
        return Err(ApiError::TokenRevoked);
    }
    let user = user::Entity::find_by_id_in(token.account_id, token.user_id)
        .one(db)
        .await?
        .filter(|u| u.active)
        .ok_or_else(unknown)?;
    let principal =
        Principal::new(&user, Credential::ApiToken { token_id: token.id, integration_only: token.integration_only });
    // Record use at most once a minute, so that reads do not turn into writes.
    let now = Utc::now();
    if token.last_used_at.is_none_or(|t| now - t > chrono::Duration::minutes(1)) {
        let mut active: token_entity::ActiveModel = token.into();
        active.last_used_at = Set(Some(now));
        active.update(db).await?;
    }
    cache.remember(key, &principal, generation);
    Ok(principal)
}
