//! Signing in and the signed-in user: `login` and `me`.

use crate::accounts::{self, LoginInput};
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::rate_limit::ClientAddress;
use crate::users::User;
use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};

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
pub struct SessionQuery;

#[Object]
impl SessionQuery {
    /// The signed-in user.
    async fn me(&self, ctx: &Context<'_>) -> ApiResult<User> {
        // The user as read when the token was checked, in this request or, remembered, a moment ago:
        // any change to it since would have made the token check read it again.
        Ok(ctx.principal()?.user.as_ref().clone().into())
    }
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Signs in with a password. Wrong credentials are `UNAUTHENTICATED`, without saying which part was wrong.
    /// Attempts are limited per account and username and per client address (`RATE_LIMITED`).
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> ApiResult<LoginPayload> {
        let state = ctx.state();
        // Before the database and argon2: a refused attempt costs next to nothing.
        let address = ctx.data_opt::<ClientAddress>().map(|address| address.0);
        state.limits.check_login(&input.account, &input.username, address)?;
        let result = accounts::login(&state.db, &state.jwt, &input).await.map(|(token, expires_at, user)| Session {
            token,
            expires_at,
            user: user.into(),
        });
        LoginPayload::from_result(result)
    }
}
