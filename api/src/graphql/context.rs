//! What resolvers take from the request context.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use async_graphql::Context;
use sea_orm::DatabaseConnection;

pub trait ContextExt {
    fn state(&self) -> &AppState;
    fn db(&self) -> &DatabaseConnection {
        &self.state().db
    }
    /// The signed-in caller, or `UNAUTHENTICATED`.
    fn principal(&self) -> ApiResult<&Principal>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn principal(&self) -> ApiResult<&Principal> {
        self.data_opt::<Principal>()
            .ok_or_else(|| ApiError::Unauthenticated("sign in first: send Authorization: Bearer <token>".into()))
    }
}
