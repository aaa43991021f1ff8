//! The provider surface: what another environment's integration (seed 001, party A) may use with an
//! integration-only token of an agent in one of our organisations. It sees exactly the catalogue the
//! organisation was granted (active products, flows, their questions, statuses), submits sales with an
//! idempotency key, and reads the statuses of the sales it submitted. Grants and token revocation are
//! read on every request, so they take effect at once.

use crate::auth::Principal;
use crate::catalog::{Flow, Product, Question};
use crate::customers::{ContactPersonInput, CreateCustomerInput, CustomerFields};
use crate::error::{ApiError, ApiResult, UserErrorCode};
use crate::extra_fields::ExtraField;
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids};
use crate::sales::service::Idempotency;
use crate::sales::{AnswerInput, CreateSaleInput, OptIn, Sale};
use crate::statuses::Status;
use crate::visibility::{flow_visible, product_visible, visible_flows, visible_products};
use async_graphql::connection::Connection;
use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use koppel_entity::enums::{ExtraFieldEntity, GrantTarget};
use koppel_entity::{Scoped, access_grant, extra_field, flow, product, question, sale, status};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, QueryTrait};
use uuid::Uuid;

mod request_hash;

/// A sale submitted by another environment: the customer travels with it.
#[derive(InputObject)]
pub struct SubmitSaleInput {
    /// Chosen by the caller, unique per sale: submitting the same sale again with the same key returns
    /// the sale created the first time instead of creating a second one (safe retries); a different sale
    /// with a key already used is refused (`CONFLICT` on `idempotencyKey`).
    pub idempotency_key: String,
    pub product_id: ID,
    pub flow_id: Option<ID>,
    pub customer: Option<CustomerFields>,
    #[graphql(default)]
    pub contact_persons: Vec<ContactPersonInput>,
    #[graphql(default)]
    pub answers: Vec<AnswerInput>,
    pub opt_in: Option<OptIn>,
}

crate::payload!(SubmitSalePayload { sale: Sale });

#[derive(Default)]
pub struct ProviderQuery;

#[Object]
impl ProviderQuery {
    /// The active, authorised products granted to the caller's organisation; `changedSince` returns only
    /// those changed or granted after that moment, `ids` only those products.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn provider_products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        changed_since: Option<DateTime<Utc>>,
        ids: Option<Vec<ID>>,
    ) -> ApiResult<Connection<String, Product>> {
        let principal = ctx.principal()?;
        let organisation = principal.require_provider()?;
        let mut select = visible_products(principal.account_id, organisation);
        if let Some(since) = changed_since {
            // Changed, or granted to the organisation, since then.
            let granted_since = access_grant::Entity::find()
                .select_only()
                .column(access_grant::Column::TargetId)
                .filter(access_grant::Column::OrganisationId.eq(organisation))
                .filter(access_grant::Column::Target.eq(GrantTarget::Product))
                .filter(access_grant::Column::CreatedAt.gt(since))
                .into_query();
            select = select.filter(
                Condition::any()
                    .add(product::Column::UpdatedAt.gt(since))
                    .add(product::Column::Id.in_subquery(granted_since)),
            );
        }
        if let Some(ids) = ids {
            let wanted: Vec<Uuid> = ids.iter().filter_map(|id| Uuid::parse_str(id.as_str()).ok()).collect();
            select = select.filter(product::Column::Id.is_in(wanted));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Product::from).await
    }

    /// The product extra fields the provider shares (hidden ones are left out).
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn provider_product_fields(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, ExtraField>> {
        let principal = ctx.principal()?;
        principal.require_provider()?;
        let select = extra_field::Entity::find_in(principal.account_id)
            .filter(extra_field::Column::Entity.eq(ExtraFieldEntity::Product))
            .filter(extra_field::Column::Hidden.eq(false));
        paginate(ctx.db(), select, Page::new(first, after)?, ExtraField::from).await
    }

    /// The active flows granted to the caller's organisation.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn provider_flows(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Flow>> {
        let principal = ctx.principal()?;
        let organisation = principal.require_provider()?;
        paginate(ctx.db(), visible_flows(principal.account_id, organisation), Page::new(first, after)?, Flow::from)
            .await
    }

    /// The questions of the granted flows and products, with their type, validations, conditions and options.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn provider_questions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Question>> {
        let principal = ctx.principal()?;
        let organisation = principal.require_provider()?;
        let flows =
            visible_flows(principal.account_id, organisation).select_only().column(flow::Column::Id).into_query();
        let products =
            visible_products(principal.account_id, organisation).select_only().column(product::Column::Id).into_query();
        let select = question::Entity::find_in(principal.account_id).filter(
            Condition::any()
                .add(question::Column::FlowId.in_subquery(flows))
                .add(question::Column::ProductId.in_subquery(products)),
        );
        paginate(ctx.db(), select, Page::new(first, after)?, Question::from).await
    }

    /// The provider's sale statuses, to map onto the caller's own.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn provider_statuses(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Status>> {
        let principal = ctx.principal()?;
        principal.require_provider()?;
        paginate(ctx.db(), status::Entity::find_in(principal.account_id), Page::new(first, after)?, Status::from).await
    }

    /// The sales the caller submitted, optionally only these ids or those changed since a moment.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn provider_sales(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        ids: Option<Vec<ID>>,
        changed_since: Option<DateTime<Utc>>,
    ) -> ApiResult<Connection<String, Sale>> {
        let principal = ctx.principal()?;
        principal.require_provider()?;
        let mut select =
            sale::Entity::find_in(principal.account_id).filter(sale::Column::AgentId.eq(principal.user_id));
        if let Some(ids) = ids {
            let wanted: Vec<Uuid> = ids.iter().filter_map(|id| Uuid::parse_str(id.as_str()).ok()).collect();
            select = select.filter(sale::Column::Id.is_in(wanted));
        }
        if let Some(since) = changed_since {
            select = select.filter(sale::Column::UpdatedAt.gt(since));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Sale::from).await
    }
}

#[derive(Default)]
pub struct ProviderMutation;

#[Object]
impl ProviderMutation {
    /// Submits a sale of a granted product, with its customer and answers, checked like any sale.
    /// Retrying with the same `idempotencyKey` and the same sale returns the sale created the first time;
    /// the same key with a different sale is a `CONFLICT` on `idempotencyKey` and changes nothing.
    async fn submit_sale(&self, ctx: &Context<'_>, input: SubmitSaleInput) -> ApiResult<SubmitSalePayload> {
        let principal = ctx.principal()?;
        let organisation = principal.require_provider()?;
        let db = ctx.db();
        let mut problems = crate::error::Problems::new();
        let key = crate::validate::required(&mut problems, "idempotencyKey", &input.idempotency_key, 200);
        if let Err(error) = problems.into_result() {
            return SubmitSalePayload::from_result(Err(error.into()));
        }
        let hash = request_hash::of(&input);
        if let Some(existing) = find_submitted(db, principal, &key).await? {
            return SubmitSalePayload::from_result(replay(existing, &key, &hash));
        }
        // Products and flows that are not granted do not exist for the caller.
        let product_visible = match Uuid::parse_str(input.product_id.as_str()) {
            Ok(id) => product_visible(db, principal, id).await?,
            Err(_) => false,
        };
        let flow_visible = match &input.flow_id {
            None => true,
            Some(id) => match Uuid::parse_str(id.as_str()) {
                Ok(id) => flow_visible(db, principal, id).await?,
                Err(_) => false,
            },
        };
        let mut problems = crate::error::Problems::new();
        if !product_visible {
            problems.add(
                "productId",
                UserErrorCode::NotFound,
                format!("product {} does not exist", input.product_id.as_str()),
            );
        }
        if !flow_visible {
            problems.add("flowId", UserErrorCode::NotFound, "this flow does not exist");
        }
        if let Err(error) = problems.into_result() {
            return SubmitSalePayload::from_result(Err(error.into()));
        }

        let txn = crate::db::begin_write(db).await?;
        let result = async {
            let customer_id = match input.customer {
                Some(fields) => {
                    let input = CreateCustomerInput { customer: fields, contact_persons: input.contact_persons };
                    Some(ids::to_id(crate::customers::create(&txn, principal.account_id, input).await?.id))
                }
                None => None,
            };
            let sale_input = CreateSaleInput {
                product_id: input.product_id,
                flow_id: input.flow_id,
                customer_id,
                organisation_id: None,
                answers: input.answers,
                opt_in: input.opt_in,
            };
            let idempotency = Idempotency { key: key.clone(), hash: hash.clone() };
            crate::sales::service::create(&txn, principal, sale_input, Some(idempotency)).await
        }
        .await;
        match result {
            Ok(sale) => {
                txn.commit().await?;
                tracing::info!(sale = %sale.id, organisation = %organisation, "sale submitted through the provider surface");
                SubmitSalePayload::from_result(Ok(sale.into()))
            }
            Err(error) => {
                txn.rollback().await?;
                // A concurrent submission with the same key won the race: answer as if it came first.
                if matches!(error, ApiError::Internal(_) | ApiError::Conflict(_))
                    && let Some(existing) = find_submitted(db, principal, &key).await?
                {
                    return SubmitSalePayload::from_result(replay(existing, &key, &hash));
                }
                SubmitSalePayload::from_result(Err(error))
            }
        }
    }
}

/// The answer to a submission whose key was used before: that sale if the same sale was submitted (or the
/// sale predates the hash, so there is nothing to compare), else a conflict that changes nothing.
fn replay(existing: sale::Model, key: &str, hash: &str) -> ApiResult<Sale> {
    match existing.idempotency_hash.as_deref() {
        Some(stored) if stored != hash => Err(ApiError::invalid(
            "idempotencyKey",
            UserErrorCode::Conflict,
            format!("idempotency key {key} was already used for a different sale"),
        )),
        _ => Ok(existing.into()),
    }
}

async fn find_submitted(db: &impl ConnectionTrait, principal: &Principal, key: &str) -> ApiResult<Option<sale::Model>> {
    Ok(sale::Entity::find_in(principal.account_id)
        .filter(sale::Column::AgentId.eq(principal.user_id))
        .filter(sale::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?)
}
