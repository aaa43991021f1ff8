//! Grant visibility: which products and flows an organisation may see. The catalogue, sales,
//! organisations and the provider surface all ask here, so none of them imports another for it.

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::graphql::loaders::LoadError;
use koppel_entity::enums::GrantTarget;
use koppel_entity::{Scoped, access_grant, flow, product};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

/// The ids an organisation was granted, of one kind, as a subquery.
pub fn granted(organisation_id: Uuid, target: GrantTarget) -> sea_orm::sea_query::SelectStatement {
    access_grant::Entity::find()
        .select_only()
        .column(access_grant::Column::TargetId)
        .filter(access_grant::Column::OrganisationId.eq(organisation_id))
        .filter(access_grant::Column::Target.eq(target))
        .into_query()
}

/// Granted, active and authorised: what a partner may sell.
pub fn visible_products(account_id: Uuid, organisation_id: Uuid) -> sea_orm::Select<product::Entity> {
    product::Entity::find_in(account_id)
        .filter(product::Column::Id.in_subquery(granted(organisation_id, GrantTarget::Product)))
        .filter(product::Column::Active.eq(true))
        .filter(product::Column::Authorised.eq(true))
}

pub fn visible_flows(account_id: Uuid, organisation_id: Uuid) -> sea_orm::Select<flow::Entity> {
    flow::Entity::find_in(account_id)
        .filter(flow::Column::Id.in_subquery(granted(organisation_id, GrantTarget::Flow)))
        .filter(flow::Column::Active.eq(true))
}

/// What of the catalogue the caller's organisation may see, batched per request, so that nested fields
/// of the provider surface cost one statement per level, not one per row.
pub struct Visibility {
    pub db: sea_orm::DatabaseConnection,
    pub account_id: Uuid,
    pub organisation_id: Option<Uuid>,
}

/// A record of the catalogue whose visibility is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CatalogueItem {
    Product(Uuid),
    Flow(Uuid),
}

impl async_graphql::dataloader::Loader<CatalogueItem> for Visibility {
    type Value = bool;
    type Error = LoadError;

    async fn load(
        &self,
        keys: &[CatalogueItem],
    ) -> Result<std::collections::HashMap<CatalogueItem, bool>, Self::Error> {
        let error = |e| LoadError(std::sync::Arc::new(e));
        let mut visible: std::collections::HashMap<CatalogueItem, bool> = keys.iter().map(|k| (*k, false)).collect();
        let Some(organisation) = self.organisation_id else { return Ok(visible) };
        let products: Vec<Uuid> =
            keys.iter().filter_map(|k| if let CatalogueItem::Product(id) = k { Some(*id) } else { None }).collect();
        let flows: Vec<Uuid> =
            keys.iter().filter_map(|k| if let CatalogueItem::Flow(id) = k { Some(*id) } else { None }).collect();
        if !products.is_empty() {
            let found: Vec<Uuid> = visible_products(self.account_id, organisation)
                .filter(product::Column::Id.is_in(products))
                .select_only()
                .column(product::Column::Id)
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(error)?;
            found.into_iter().for_each(|id| {
                visible.insert(CatalogueItem::Product(id), true);
            });
        }
        if !flows.is_empty() {
            let found: Vec<Uuid> = visible_flows(self.account_id, organisation)
                .filter(flow::Column::Id.is_in(flows))
                .select_only()
                .column(flow::Column::Id)
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(error)?;
            found.into_iter().for_each(|id| {
                visible.insert(CatalogueItem::Flow(id), true);
            });
        }
        Ok(visible)
    }
}

/// Whether the caller's organisation may see a product or flow (for nested fields of the provider surface).
pub async fn visible(ctx: &async_graphql::Context<'_>, item: CatalogueItem) -> ApiResult<bool> {
    let loader = crate::graphql::loaders::of(ctx)?.batcher(|request| Visibility {
        db: request.db.clone(),
        account_id: request.account_id,
        organisation_id: request.organisation_id,
    });
    Ok(loader.load_one(item).await?.unwrap_or(false))
}

pub async fn product_visible(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> ApiResult<bool> {
    let Some(organisation) = principal.organisation_id else { return Ok(false) };
    Ok(visible_products(principal.account_id, organisation).filter(product::Column::Id.eq(id)).one(db).await?.is_some())
}

pub async fn flow_visible(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> ApiResult<bool> {
    let Some(organisation) = principal.organisation_id else { return Ok(false) };
    Ok(visible_flows(principal.account_id, organisation).filter(flow::Column::Id.eq(id)).one(db).await?.is_some())
}
