//! Flows: the sales scripts agents follow, each with its questions.

use super::Question;
use crate::error::{ApiError, ApiResult, Problems};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids};
use crate::validate;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, flow, question};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set};
use uuid::Uuid;

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Flow {
    pub id: ID,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
}

impl From<flow::Model> for Flow {
    fn from(m: flow::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            name: m.name,
            description: m.description,
            active: m.active,
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            account_id: m.account_id,
        }
    }
}

#[ComplexObject]
impl Flow {
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn questions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Question>> {
        let select = question::Entity::find_in(self.account_id).filter(question::Column::FlowId.eq(self.uuid));
        paginate(ctx.db(), select, Page::new(first, after)?, Question::from).await
    }
}

#[derive(InputObject)]
pub struct CreateFlowInput {
    pub name: String,
    pub description: Option<String>,
    #[graphql(default = true)]
    pub active: bool,
}

#[derive(InputObject)]
pub struct UpdateFlowInput {
    pub id: ID,
    pub name: Option<String>,
    pub description: Option<String>,
    pub active: Option<bool>,
}

crate::payload!(CreateFlowPayload { flow: Flow });
crate::payload!(UpdateFlowPayload { flow: Flow });

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<flow::Model> {
    flow::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("flow"))
}

#[derive(Default)]
pub struct FlowQuery;

#[Object]
impl FlowQuery {
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn flows(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Flow>> {
        let principal = ctx.principal()?.require_agent()?;
        paginate(ctx.db(), flow::Entity::find_in(principal.account_id), Page::new(first, after)?, Flow::from).await
    }

    async fn flow(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Flow> {
        let principal = ctx.principal()?.require_agent()?;
        find(ctx.db(), principal.account_id, ids::parse(&id, "flow")?).await.map(Into::into)
    }
}

#[derive(Default)]
pub struct FlowMutation;

#[Object]
impl FlowMutation {
    /// Adds a flow (admins only).
    async fn create_flow(&self, ctx: &Context<'_>, input: CreateFlowInput) -> ApiResult<CreateFlowPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let mut problems = Problems::new();
        let name = validate::required(&mut problems, "name", &input.name, 200);
        let description = validate::optional(&mut problems, "description", input.description.as_deref(), 10_000);
        if let Err(error) = problems.into_result() {
            return CreateFlowPayload::from_result(Err(error.into()));
        }
        let now = Utc::now();
        let model = flow::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(principal.account_id),
            name: Set(name),
            description: Set(description),
            active: Set(input.active),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(ctx.db())
        .await?;
        CreateFlowPayload::from_result(Ok(model.into()))
    }

    /// Changes a flow (admins only).
    async fn update_flow(&self, ctx: &Context<'_>, input: UpdateFlowInput) -> ApiResult<UpdateFlowPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let existing = find(ctx.db(), principal.account_id, ids::parse(&input.id, "flow")?).await?;
        let mut problems = Problems::new();
        let mut active: flow::ActiveModel = existing.into();
        if let Some(name) = &input.name {
            active.name = Set(validate::required(&mut problems, "name", name, 200));
        }
        if input.description.is_some() {
            active.description =
                Set(validate::optional(&mut problems, "description", input.description.as_deref(), 10_000));
        }
        if let Some(flag) = input.active {
            active.active = Set(flag);
        }
        if let Err(error) = problems.into_result() {
            return UpdateFlowPayload::from_result(Err(error.into()));
        }
        active.updated_at = Set(Utc::now());
        UpdateFlowPayload::from_result(Ok(active.update(ctx.db()).await?.into()))
    }
}
