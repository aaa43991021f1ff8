//! Flow mappings: which remote flow each local flow's sales go to.

use super::{Then, connect, integration_of, replace_all};
use crate::catalog::Flow;
use crate::error::{ApiResult, Problems, UserErrorCode};
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use koppel_entity::{IntegrationOwned, Scoped, flow, flow_mapping, integration};
use sea_orm::{ConnectionTrait, Set};
use std::collections::HashSet;
use uuid::Uuid;

#[derive(SimpleObject, Clone)]
pub struct FlowMapping {
    pub remote_flow_id: String,
    pub local_flow: Flow,
}

pub async fn flow_mappings(db: &impl ConnectionTrait, integration: &integration::Model) -> ApiResult<Vec<FlowMapping>> {
    let rows = flow_mapping::Entity::find_owned(integration.account_id, integration.id).all(db).await?;
    let flows =
        flow::Entity::find_by_ids_in(integration.account_id, rows.iter().map(|r| r.local_flow_id)).all(db).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let local = flows.iter().find(|f| f.id == r.local_flow_id)?;
            Some(FlowMapping { remote_flow_id: r.remote_flow_id, local_flow: local.clone().into() })
        })
        .collect())
}

#[derive(InputObject)]
pub struct FlowMappingInput {
    pub local_flow_id: ID,
    pub remote_flow_id: String,
}

#[derive(InputObject)]
pub struct SetFlowMappingsInput {
    pub integration_id: ID,
    pub mappings: Vec<FlowMappingInput>,
}

crate::payload!(SetFlowMappingsPayload { flow_mappings: Vec<FlowMapping> });

#[derive(Default)]
pub struct FlowMappingMutation;

#[Object]
impl FlowMappingMutation {
    /// Replaces the flow mappings (admins only): which remote flow each local flow's sales go to.
    async fn set_flow_mappings(
        &self,
        ctx: &Context<'_>,
        input: SetFlowMappingsInput,
    ) -> ApiResult<SetFlowMappingsPayload> {
        let integration = integration_of(ctx, &input.integration_id).await?;
        let result = set_flow_mappings(ctx, &integration, input).await;
        SetFlowMappingsPayload::from_result(result)
    }
}

async fn set_flow_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetFlowMappingsInput,
) -> ApiResult<Vec<FlowMapping>> {
    let db = ctx.db();
    let connector = connect(ctx, integration).await?;
    let remote = connector.flows().await?;
    let mut problems = Problems::new();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, mapping) in input.mappings.iter().enumerate() {
        if !remote.iter().any(|f| f.id == mapping.remote_flow_id) {
            problems.add(
                format!("mappings.{i}.remoteFlowId"),
                UserErrorCode::NotFound,
                format!("the remote has no flow {}", mapping.remote_flow_id),
            );
        }
        let local = match ids::parse_field(&mapping.local_flow_id, &format!("mappings.{i}.localFlowId"), &mut problems)
        {
            Some(id) => flow::Entity::find_by_id_in(integration.account_id, id).one(db).await?,
            None => continue,
        };
        match local {
            Some(local) if !seen.insert(local.id) => problems.add(
                format!("mappings.{i}.localFlowId"),
                UserErrorCode::Taken,
                format!("{} is mapped twice", local.name),
            ),
            Some(local) => rows.push(flow_mapping::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(integration.account_id),
                integration_id: Set(integration.id),
                remote_flow_id: Set(mapping.remote_flow_id.clone()),
                local_flow_id: Set(local.id),
            }),
            None => {
                problems.add(format!("mappings.{i}.localFlowId"), UserErrorCode::NotFound, "this flow does not exist")
            }
        }
    }
    problems.into_result()?;
    let old = flow_mapping::Entity::delete_owned(integration.account_id, integration.id);
    replace_all(db, old, rows, Then::SalesMappingChanged(integration)).await?;
    flow_mappings(db, integration).await
}
