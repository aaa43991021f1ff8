//! The live views of a remote (catalogue, product fields, questions, flows, statuses), read while the
//! caller waits: an admin browses them to choose what to import and how to map it.

use super::service;
use crate::catalog::Tariff;
use crate::error::{ApiError, ApiResult};
use crate::extra_fields::ExtraFieldValue;
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::connect;
use koppel_daemon::connectors::{Connector, ListRequest, RemoteProduct as Remote};
use koppel_daemon::links;
use koppel_entity::enums::LinkedEntity;
use koppel_entity::integration;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(SimpleObject)]
pub struct RemoteSupplier {
    pub remote_id: String,
    pub name: String,
}

/// A product in the remote catalogue, as the remote shows it now.
#[derive(SimpleObject)]
pub struct RemoteProduct {
    pub remote_id: String,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub product_type: String,
    pub category: Option<String>,
    pub incentive: Option<String>,
    pub tariffs: Vec<Tariff>,
    /// The remote's extra-field values.
    pub fields: Vec<ExtraFieldValue>,
    pub supplier: Option<RemoteSupplier>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Whether it is already imported (linked to a local product).
    pub imported: bool,
    pub local_product_id: Option<ID>,
}

fn to_graphql(remote: Remote, links: &HashMap<String, Uuid>) -> RemoteProduct {
    let local = links.get(&remote.id).copied();
    RemoteProduct {
        sku: remote.sku,
        name: remote.name,
        description: remote.description,
        product_type: remote.product_type,
        category: remote.category,
        incentive: remote.incentive,
        tariffs: remote
            .tariffs
            .into_iter()
            .map(|t| Tariff { code: t.code, label: t.label, amount: t.amount, unit: t.unit })
            .collect(),
        fields: remote.fields.into_iter().map(|(key, value)| ExtraFieldValue { key, value }).collect(),
        supplier: remote.supplier.map(|s| RemoteSupplier { remote_id: s.id, name: s.name }),
        updated_at: remote.updated_at,
        imported: local.is_some(),
        local_product_id: local.map(ids::to_id),
        remote_id: remote.id,
    }
}

#[derive(SimpleObject)]
pub struct RemotePageInfo {
    pub has_next_page: bool,
    /// The remote's cursor: pass it as `after` for the next page.
    pub end_cursor: Option<String>,
}

/// One page of the remote catalogue, read live.
#[derive(SimpleObject)]
pub struct RemoteProductPage {
    pub nodes: Vec<RemoteProduct>,
    pub page_info: RemotePageInfo,
}

#[derive(SimpleObject)]
pub struct RemoteField {
    pub key: String,
    pub label: String,
    pub field_type: String,
    pub options: Vec<String>,
}

#[derive(SimpleObject)]
pub struct RemoteOption {
    pub value: String,
    pub label: String,
}

/// A question at the remote: its type, validations, conditions and answer options decide whether a
/// sale will be accepted there.
#[derive(SimpleObject)]
pub struct RemoteQuestion {
    pub remote_id: String,
    pub key: String,
    pub label: String,
    pub question_type: String,
    pub required: bool,
    pub validations: Json<Value>,
    pub conditions: Json<Value>,
    pub options: Vec<RemoteOption>,
    pub flow_id: Option<String>,
    pub product_id: Option<String>,
}

#[derive(SimpleObject)]
pub struct RemoteFlow {
    pub remote_id: String,
    pub name: String,
}

#[derive(SimpleObject)]
pub struct RemoteStatus {
    pub key: String,
    pub name: String,
    pub system: bool,
}

async fn integration_of(ctx: &Context<'_>, id: &ID) -> ApiResult<integration::Model> {
    let principal = ctx.principal()?.require_admin()?;
    service::find(ctx.db(), principal.account_id, ids::parse(id, "integration")?).await
}

/// The integration of a live view, for admins, with its connector.
async fn connect(ctx: &Context<'_>, id: &ID) -> ApiResult<(integration::Model, Box<dyn Connector>)> {
    let integration = integration_of(ctx, id).await?;
    let connector = connect::connector_for(&ctx.state().engine, &integration, integration.mode).await?;
    Ok((integration, connector))
}

#[derive(Default)]
pub struct RemoteQuery;

#[Object]
impl RemoteQuery {
    /// Pages through the remote catalogue live, marking what is already imported (admins only).
    async fn remote_products(
        &self,
        ctx: &Context<'_>,
        integration_id: ID,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RemoteProductPage> {
        let first = first.unwrap_or(50);
        if !(1..=100).contains(&first) {
            return Err(ApiError::BadUserInput(format!("first must be between 1 and 100, not {first}")));
        }
        let (integration, connector) = connect(ctx, &integration_id).await?;
        let page = connector.products(ListRequest { first: first as usize, after, changed_since: None }).await?;
        let remote_ids = page.items.iter().map(|p| p.id.clone());
        let links = links::local_ids(ctx.db(), &integration, LinkedEntity::Product, remote_ids).await?;
        Ok(RemoteProductPage {
            page_info: RemotePageInfo { has_next_page: page.next.is_some(), end_cursor: page.next },
            nodes: page.items.into_iter().map(|p| to_graphql(p, &links)).collect(),
        })
    }

    /// The fields the remote's products carry, for product data mappings.
    async fn remote_product_fields(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteField>> {
        let (_, connector) = connect(ctx, &integration_id).await?;
        Ok(connector
            .product_fields()
            .await?
            .into_iter()
            .map(|f| RemoteField { key: f.key, label: f.label, field_type: f.field_type, options: f.options })
            .collect())
    }

    /// The remote's questions with their type, validations, conditions and answer options.
    async fn remote_questions(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteQuestion>> {
        let (_, connector) = connect(ctx, &integration_id).await?;
        Ok(connector
            .questions()
            .await?
            .into_iter()
            .map(|q| RemoteQuestion {
                remote_id: q.id,
                key: q.key,
                label: q.label,
                question_type: q.question_type,
                required: q.required,
                validations: Json(q.validations),
                conditions: Json(q.conditions),
                options: q.options.into_iter().map(|o| RemoteOption { value: o.value, label: o.label }).collect(),
                flow_id: q.flow_id,
                product_id: q.product_id,
            })
            .collect())
    }

    async fn remote_flows(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteFlow>> {
        let (_, connector) = connect(ctx, &integration_id).await?;
        Ok(connector.flows().await?.into_iter().map(|f| RemoteFlow { remote_id: f.id, name: f.name }).collect())
    }

    async fn remote_statuses(&self, ctx: &Context<'_>, integration_id: ID) -> ApiResult<Vec<RemoteStatus>> {
        let (_, connector) = connect(ctx, &integration_id).await?;
        Ok(connector
            .statuses()
            .await?
            .into_iter()
            .map(|s| RemoteStatus { key: s.key, name: s.name, system: s.system })
            .collect())
    }
}
