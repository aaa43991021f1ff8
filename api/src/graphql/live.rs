//! What every subscription shares, over graphql-transport-ws (the protocol of the `graphql-ws` client
//! that Apollo and urql use): the token travels in the `connection_init` payload and is checked like a
//! request's; it is checked again while the subscription runs (all subscriptions' tokens together, see
//! [`crate::auth::sessions`]), so a revoked token or a disabled user ends it. Items come from one of
//! the process's feeds (a broadcast), never a poll per subscriber.

use crate::error::{ApiError, ApiResult};
use crate::graphql::ContextExt;
use async_graphql::Context;
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// The bearer token a subscription was opened with, to check again while it runs.
#[derive(Clone)]
pub struct SubscriptionToken(pub String);

/// How often the tokens of running subscriptions are checked again (all of them together).
pub const RECHECK: Duration = Duration::from_secs(5);

/// The items of `receiver` (a feed's subscription) that `pick` keeps, until the token stops being valid.
pub fn follow<I, T, F>(
    ctx: &Context<'_>,
    mut receiver: broadcast::Receiver<I>,
    pick: F,
) -> BoxStream<'static, ApiResult<T>>
where
    I: Clone + Send + 'static,
    T: Send + 'static,
    F: Fn(I) -> Option<T> + Send + 'static,
{
    let state = ctx.state().clone();
    let watching = match ctx.data_opt::<SubscriptionToken>() {
        Some(SubscriptionToken(token)) => match state.sessions.watch(&state.jwt, token) {
            Ok(watching) => Some(watching),
            Err(error) => return stream::once(async move { Err(error) }).boxed(),
        },
        None => None,
    };
    async_stream::stream! {
        let mut watching = watching;
        loop {
            let ended = async {
                match watching.as_mut() {
                    Some(watching) => match watching.ended.changed().await {
                        Ok(()) => watching.ended.borrow().clone(),
                        // The checks stopped (the server is shutting down): the feed ends the stream.
                        Err(_) => std::future::pending().await,
                    },
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                item = receiver.recv() => match item {
                    Ok(item) => if let Some(value) = pick(item) { yield Ok(value) },
                    Err(RecvError::Lagged(missed)) => tracing::warn!(missed, "a subscriber fell behind the feed"),
                    Err(RecvError::Closed) => break,
                },
                reason = ended => {
                    if let Some(reason) = reason {
                        yield Err(reason);
                        break;
                    }
                }
            }
        }
    }
    .boxed()
}

/// Checks the `connection_init` payload's token (`{"Authorization": "Bearer …"}` or `{"token": "…"}`).
pub fn token_of(payload: &serde_json::Value) -> ApiResult<String> {
    let value = payload
        .get("Authorization")
        .or_else(|| payload.get("authorization"))
        .and_then(|v| v.as_str())
        .map(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")).unwrap_or(v))
        .or_else(|| payload.get("token").and_then(|v| v.as_str()))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    value.map(str::to_owned).ok_or_else(|| {
        ApiError::Unauthenticated("send the token in connection_init: {\"Authorization\": \"Bearer <token>\"}".into())
    })
}
