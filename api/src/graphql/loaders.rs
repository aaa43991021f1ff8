//! DataLoaders for nested lookups: one statement per type per request level, never one per row.

use crate::error::ApiError;
use async_graphql::dataloader::{DataLoader, Loader};
use koppel_entity::{HasId, Scoped};
use sea_orm::DatabaseConnection;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;
use uuid::Uuid;

/// How long a loader collects keys before it queries. async-graphql's default (1 ms) is shorter than it
/// takes to resolve a page of 50 rows on PostgreSQL, which split one batch into two; 10 ms keeps a page
/// in one statement at the cost of that much latency per nesting level.
pub const BATCH_WINDOW: std::time::Duration = std::time::Duration::from_millis(10);

/// Loads rows of one tenant table by id, within the caller's account.
pub struct ById<E> {
    db: DatabaseConnection,
    account_id: Uuid,
    entity: PhantomData<fn() -> E>,
}

impl<E> ById<E> {
    pub fn loader(db: DatabaseConnection, account_id: Uuid) -> DataLoader<Self> {
        DataLoader::new(Self { db, account_id, entity: PhantomData }, tokio::spawn).delay(BATCH_WINDOW)
    }
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
    let loader =
        ctx.data_opt::<DataLoader<ById<E>>>().ok_or_else(|| ApiError::Unauthenticated("sign in first".into()))?;
    Ok(loader.load_one(id).await?)
}
