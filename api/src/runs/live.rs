//! Live sync progress and events (see [`crate::graphql::live`] for what every subscription shares).
//! Items come from the process's one feed of sync events ([`koppel_daemon::feed`]).

use super::{EventLevel, SyncEvent, SyncRun, integration_of, levels_from};
use crate::error::ApiResult;
use crate::graphql::ContextExt;
use crate::graphql::live::follow;
use async_graphql::{Context, ID, Subscription};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use koppel_daemon::feed::FeedItem;

#[derive(Default)]
pub struct RunSubscription;

#[Subscription]
impl RunSubscription {
    /// The runs of an integration as they are queued, start and finish (admins only).
    async fn sync_progress(&self, ctx: &Context<'_>, integration_id: ID) -> BoxStream<'static, ApiResult<SyncRun>> {
        match integration_of(ctx, &integration_id).await {
            Ok(integration) => follow(ctx, ctx.state().feed.subscribe(), move |item| match item {
                FeedItem::Run(run) if run.integration_id == integration.id => Some(SyncRun::from(run)),
                _ => None,
            }),
            Err(error) => stream::once(async move { Err(error) }).boxed(),
        }
    }

    /// The events of an integration as they are written, from a level up (admins only).
    async fn sync_events(
        &self,
        ctx: &Context<'_>,
        integration_id: ID,
        min_level: Option<EventLevel>,
    ) -> BoxStream<'static, ApiResult<SyncEvent>> {
        let levels = levels_from(min_level.unwrap_or(EventLevel::Info));
        match integration_of(ctx, &integration_id).await {
            Ok(integration) => follow(ctx, ctx.state().feed.subscribe(), move |item| match item {
                FeedItem::Event(event) if event.integration_id == integration.id && levels.contains(&event.level) => {
                    Some(SyncEvent::from(event))
                }
                _ => None,
            }),
            Err(error) => stream::once(async move { Err(error) }).boxed(),
        }
    }
}
