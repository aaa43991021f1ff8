//! Loaders for nested lookups: one statement per type per request level, never one per row, and no
//! waiting for a time window (see [`super::batch`]).

use super::batch::{Batcher, Batchers};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use async_graphql::dataloader::Loader;
use koppel_entity::{HasId, Scoped};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use uuid::Uuid;

/// What the nested fields of one request (or one subscription connection) load through: the caller's
/// account and organisation, and the batchers made so far.
pub struct RequestLoaders {
    pub db: DatabaseConnection,
    pub account_id: Uuid,
    pub organisation_id: Option<Uuid>,
    batchers: Batchers,
}

impl RequestLoaders {
    pub fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        Self {
            db: db.clone(),
            account_id: principal.account_id,
            organisation_id: principal.organisation_id,
            batchers: Batchers::default(),
        }
    }

    /// The request's batcher over loader `L`, made by `make` the first time a field needs it.
    pub fn batcher<K, L>(&self, make: impl FnOnce(&Self) -> L) -> Arc<Batcher<K, L>>
    where
        K: Send + Sync + Hash + Eq + Clone + 'static,
        L: Loader<K>,
        L::Error: Sync,
    {
        self.batchers.get(|| make(self))
    }
}

/// The request's loaders; a request without a signed-in caller has none.
pub fn of<'a>(ctx: &'a async_graphql::Context<'_>) -> ApiResult<&'a RequestLoaders> {
    ctx.data_opt::<RequestLoaders>().ok_or_else(|| ApiError::Unauthenticated("sign in first".into()))
}

/// Loads rows of one tenant table by id, within the caller's account.
pub struct ById<E> {
    db: DatabaseConnection,
    account_id: Uuid,
    entity: PhantomData<fn() -> E>,
}

#[derive(Clone)]
pub struct LoadError(pub Arc<sea_orm::DbErr>);

impl From<LoadError> for ApiError {
    fn from(error: LoadError) -> Self {
        ApiError::internal(std::io::Error::other(error.0.to_string()))
    }
}

impl<E> Loader<Uuid> for ById<E>
where
    E: Scoped + Send + Sync + 'static,
    E::Model: HasId + Clone + Send + Sync + 'static,
{
    type Value = E::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, LoadError> {
        let rows = E::find_by_ids_in(self.account_id, keys.iter().copied())
            .all(&self.db)
            .await
            .map_err(|e| LoadError(Arc::new(e)))?;
        Ok(rows.into_iter().map(|row| (row.id(), row)).collect())
    }
}

/// Loads one row through the request's loader for its table.
pub async fn load<E>(ctx: &async_graphql::Context<'_>, id: Uuid) -> Result<Option<E::Model>, ApiError>
where
    E: Scoped + Send + Sync + 'static,
    E::Model: HasId + Clone + Send + Sync + 'static,
{
    let batcher = of(ctx)?.batcher(|request| ById::<E> {
        db: request.db.clone(),
        account_id: request.account_id,
        entity: PhantomData,
    });
    Ok(batcher.load_one(id).await?)
}
