//! `saleUpdates`: sales as they change — made, moved to another status (here, through the provider
//! surface, by the relay's status after success or the status pull) or one of their transmissions
//! moving. Items come from the process's one feed of changed sales ([`koppel_daemon::sale_feed`]), which
//! reads each changed sale once for every subscriber; a subscription only filters (see
//! [`crate::graphql::live`] for the token checks every subscription shares).

use super::{Sale, service};
use crate::error::{ApiError, ApiResult};
use crate::graphql::live::follow;
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, ID, Subscription};
use futures_util::StreamExt;
use futures_util::stream::{self, BoxStream};
use koppel_entity::{Scoped, integration};
use uuid::Uuid;

#[derive(Default)]
pub struct SaleSubscription;

/// Which changes a subscription keeps.
struct Watch {
    account_id: Uuid,
    /// Agents follow their own sales; admins every sale of the account.
    agent_id: Option<Uuid>,
    sale_id: Option<Uuid>,
    integration_id: Option<Uuid>,
}

impl Watch {
    fn keeps(&self, change: &koppel_daemon::sale_feed::SaleChange) -> bool {
        let sale = &change.sale;
        sale.account_id == self.account_id
            && self.agent_id.is_none_or(|agent| sale.agent_id == agent)
            && self.sale_id.is_none_or(|id| sale.id == id)
            && self.integration_id.is_none_or(|id| change.integrations.contains(&id))
    }
}

#[Subscription]
impl SaleSubscription {
    /// Each sale as it is after a change to it or to one of its transmissions (`Sale.transmissions`):
    /// made, moved to another status, queued, sent or failed. Agents follow their own sales, admins
    /// every sale of the account; only the sale `saleId`, or only sales with a transmission to
    /// `integrationId`, when given. Changes committed together arrive as one update.
    async fn sale_updates(
        &self,
        ctx: &Context<'_>,
        sale_id: Option<ID>,
        integration_id: Option<ID>,
    ) -> BoxStream<'static, ApiResult<Sale>> {
        match watch(ctx, sale_id, integration_id).await {
            Ok(watch) => follow(ctx, ctx.state().sale_feed.subscribe(), move |change| {
                watch.keeps(&change).then(|| Sale::from(change.sale.clone()))
            }),
            Err(error) => stream::once(async move { Err(error) }).boxed(),
        }
    }
}

/// Authorises the subscription and checks its filters (an unknown or foreign id is `NOT_FOUND`).
async fn watch(ctx: &Context<'_>, sale_id: Option<ID>, integration_id: Option<ID>) -> ApiResult<Watch> {
    let principal = ctx.principal()?.require_agent()?;
    let db = ctx.db();
    let sale_id = match sale_id {
        Some(id) => Some(service::find_visible(db, principal, ids::parse(&id, "sale")?).await?.id),
        None => None,
    };
    let integration_id = match integration_id {
        Some(id) => Some(
            integration::Entity::find_by_id_in(principal.account_id, ids::parse(&id, "integration")?)
                .one(db)
                .await?
                .ok_or(ApiError::NotFound("integration"))?
                .id,
        ),
        None => None,
    };
    Ok(Watch {
        account_id: principal.account_id,
        agent_id: (!principal.is_admin()).then_some(principal.user_id),
        sale_id,
        integration_id,
    })
}
