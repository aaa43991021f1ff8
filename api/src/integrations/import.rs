//! Importing chosen remote products (seed 000's "import products"): the engine stores them
//! ([`koppel_daemon::import`]); this module authorises and shows the result.

use super::service;
use crate::catalog::Product;
use crate::error::ApiResult;
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, ID, InputObject, Object};
use koppel_daemon::import::import_products;

#[derive(InputObject)]
pub struct ImportProductsInput {
    pub integration_id: ID,
    /// The remote ids from `remoteProducts`, at most 100.
    pub remote_ids: Vec<String>,
}

crate::payload!(ImportProductsPayload { products: Vec<Product> });

#[derive(Default)]
pub struct ImportMutation;

#[Object]
impl ImportMutation {
    /// Imports remote products as local products linked to their twins (admins only). A remote supplier
    /// becomes a local supplier once and is reused; imported products start not authorised; extra
    /// fields are filled through the product data mapping. Importing again refreshes the product.
    async fn import_products(&self, ctx: &Context<'_>, input: ImportProductsInput) -> ApiResult<ImportProductsPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let integration =
            service::find(ctx.db(), principal.account_id, ids::parse(&input.integration_id, "integration")?).await?;
        let result = import_products(&ctx.state().engine, &integration, &input.remote_ids).await;
        ImportProductsPayload::from_result(
            result.map(|products| products.into_iter().map(Product::from).collect()).map_err(Into::into),
        )
    }
}
