//! Sales: created by agents with answers validated against the questions of their product and flow,
//! moved through statuses. Agents see their own sales; admins see all of the account's.

mod answers;
mod live;
pub(crate) mod service;
pub mod transmissions;

use crate::catalog::{Flow, Product};
use crate::customers::Customer;
use crate::error::ApiResult;
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, loaders};
use crate::organisations::Organisation;
use crate::statuses::Status;
use crate::users::User;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, customer, flow, organisation, product, sale, sale_transmission, status, user};
pub use live::SaleSubscription;
use sea_orm::{ColumnTrait, QueryFilter, QuerySelect, QueryTrait};
use serde::{Deserialize, Serialize};

/// An answer to a question, by the question's key.
#[derive(SimpleObject, Clone)]
pub struct Answer {
    pub question_key: String,
    pub value: Json<serde_json::Value>,
}

/// Consent recorded with the sale (e.g. by the dialer).
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Clone, Debug)]
#[graphql(input_name = "OptInInput")]
#[serde(rename_all = "camelCase")]
pub struct OptIn {
    pub consent: bool,
    /// e.g. `phone`, `email`, `web`.
    pub channel: Option<String>,
    pub recorded_at: Option<DateTime<Utc>>,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Sale {
    pub id: ID,
    pub answers: Vec<Answer>,
    pub opt_in: Option<OptIn>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    /// The key a provider-surface client submitted the sale with.
    pub idempotency_key: Option<String>,
    #[graphql(skip)]
    pub model: sale::Model,
}

impl From<sale::Model> for Sale {
    fn from(m: sale::Model) -> Self {
        let mut answers: Vec<Answer> = m
            .answers
            .as_object()
            .map(|map| map.iter().map(|(k, v)| Answer { question_key: k.clone(), value: Json(v.clone()) }).collect())
            .unwrap_or_default();
        answers.sort_by(|a, b| a.question_key.cmp(&b.question_key));
        Self {
            id: ids::to_id(m.id),
            answers,
            opt_in: m.opt_in.clone().and_then(|v| serde_json::from_value(v).ok()),
            created_at: m.created_at,
            updated_at: m.updated_at,
            status_changed_at: m.status_changed_at,
            idempotency_key: m.idempotency_key.clone(),
            model: m,
        }
    }
}

#[ComplexObject]
impl Sale {
    /// The product sold; through the provider surface only while it is still granted.
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        let id = self.model.product_id;
        if ctx.principal()?.limited_to_grants()
            && !crate::visibility::visible(ctx, crate::visibility::CatalogueItem::Product(id)).await?
        {
            return Ok(None);
        }
        Ok(loaders::load::<product::Entity>(ctx, id).await?.map(Into::into))
    }

    async fn status(&self, ctx: &Context<'_>) -> ApiResult<Option<Status>> {
        Ok(loaders::load::<status::Entity>(ctx, self.model.status_id).await?.map(Into::into))
    }

    /// The agent who made the sale.
    async fn agent(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders::load::<user::Entity>(ctx, self.model.agent_id).await?.map(Into::into))
    }

    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let Some(id) = self.model.customer_id else { return Ok(None) };
        Ok(loaders::load::<customer::Entity>(ctx, id).await?.map(Into::into))
    }

    /// The flow; through the provider surface only while it is still granted.
    async fn flow(&self, ctx: &Context<'_>) -> ApiResult<Option<Flow>> {
        let Some(id) = self.model.flow_id else { return Ok(None) };
        if ctx.principal()?.limited_to_grants()
            && !crate::visibility::visible(ctx, crate::visibility::CatalogueItem::Flow(id)).await?
        {
            return Ok(None);
        }
        Ok(loaders::load::<flow::Entity>(ctx, id).await?.map(Into::into))
    }

    async fn organisation(&self, ctx: &Context<'_>) -> ApiResult<Option<Organisation>> {
        let Some(id) = self.model.organisation_id else { return Ok(None) };
        Ok(loaders::load::<organisation::Entity>(ctx, id).await?.map(Into::into))
    }

    /// Where the sale's forwarding to each integration is (not shown through the provider surface).
    async fn transmissions(&self, ctx: &Context<'_>) -> ApiResult<Vec<transmissions::SaleTransmission>> {
        if ctx.principal()?.limited_to_grants() {
            return Ok(Vec::new());
        }
        transmissions::of_sale(ctx, self.model.id).await
    }
}

#[derive(InputObject, Clone)]
pub struct AnswerInput {
    pub question_key: String,
    /// Text, number, boolean, `YYYY-MM-DD` date, an option's value, or a list of option values.
    pub value: Json<serde_json::Value>,
}

#[derive(InputObject)]
pub struct CreateSaleInput {
    pub product_id: ID,
    pub flow_id: Option<ID>,
    pub customer_id: Option<ID>,
    /// Defaults to the agent's organisation.
    pub organisation_id: Option<ID>,
    #[graphql(default)]
    pub answers: Vec<AnswerInput>,
    pub opt_in: Option<OptIn>,
}

#[derive(InputObject)]
pub struct ChangeSaleStatusInput {
    pub id: ID,
    pub status_id: ID,
}

#[derive(InputObject, Default)]
pub struct SaleFilter {
    pub status_id: Option<ID>,
    pub product_id: Option<ID>,
    pub customer_id: Option<ID>,
    /// Only sales with a transmission in this state (e.g. every `FAILED` or `DEAD` one at once).
    pub transmission_state: Option<transmissions::TransmissionState>,
    /// With `transmissionState`: only transmissions to this integration.
    pub integration_id: Option<ID>,
}

crate::payload!(CreateSalePayload { sale: Sale });
crate::payload!(ChangeSaleStatusPayload { sale: Sale });

#[derive(Default)]
pub struct SaleQuery;

#[Object]
impl SaleQuery {
    /// Sales, newest last; agents see their own.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn sales(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<SaleFilter>,
    ) -> ApiResult<Connection<String, Sale>> {
        let principal = ctx.principal()?.require_agent()?;
        let filter = filter.unwrap_or_default();
        let mut select = sale::Entity::find_in(principal.account_id);
        if !principal.is_admin() {
            select = select.filter(sale::Column::AgentId.eq(principal.user_id));
        }
        if let Some(id) = &filter.status_id {
            select = select.filter(sale::Column::StatusId.eq(ids::parse(id, "status")?));
        }
        if let Some(id) = &filter.product_id {
            select = select.filter(sale::Column::ProductId.eq(ids::parse(id, "product")?));
        }
        if let Some(id) = &filter.customer_id {
            select = select.filter(sale::Column::CustomerId.eq(ids::parse(id, "customer")?));
        }
        if filter.transmission_state.is_some() || filter.integration_id.is_some() {
            let mut sent = sale_transmission::Entity::find_in(principal.account_id)
                .select_only()
                .column(sale_transmission::Column::SaleId);
            if let Some(state) = filter.transmission_state {
                sent = sent
                    .filter(sale_transmission::Column::State.eq(koppel_entity::enums::TransmissionState::from(state)));
            }
            if let Some(id) = &filter.integration_id {
                sent = sent.filter(sale_transmission::Column::IntegrationId.eq(ids::parse(id, "integration")?));
            }
            select = select.filter(sale::Column::Id.in_subquery(sent.into_query()));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Sale::from).await
    }

    async fn sale(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Sale> {
        let principal = ctx.principal()?.require_agent()?;
        service::find_visible(ctx.db(), principal, ids::parse(&id, "sale")?).await.map(Into::into)
    }
}

#[derive(Default)]
pub struct SaleMutation;

#[Object]
impl SaleMutation {
    /// Records a sale with status `new`. The product must be active and authorised; the answers must
    /// satisfy the questions of the product and the flow. Every problem is reported at once. A sale the
    /// integration its product comes from processes automatically is queued for it with the sale.
    async fn create_sale(&self, ctx: &Context<'_>, input: CreateSaleInput) -> ApiResult<CreateSalePayload> {
        let principal = ctx.principal()?.require_agent()?;
        let txn = crate::db::begin_write(ctx.db()).await?;
        let result = service::create(&txn, principal, input, None).await;
        CreateSalePayload::from_result(service::commit(txn, result).await.map(Into::into))
    }

    /// Moves a sale to another status; queues it for the integration its product comes from when that
    /// processes the status (see `Sale.transmissions`).
    async fn change_sale_status(
        &self,
        ctx: &Context<'_>,
        input: ChangeSaleStatusInput,
    ) -> ApiResult<ChangeSaleStatusPayload> {
        let principal = ctx.principal()?.require_agent()?;
        let txn = crate::db::begin_write(ctx.db()).await?;
        let result = service::change_status(&txn, principal, input).await;
        ChangeSaleStatusPayload::from_result(service::commit(txn, result).await.map(Into::into))
    }
}
