//! Status mappings: a remote status onto a local one. System statuses map by key unless overridden.

use super::{Then, connect, integration_of, replace_all};
use crate::error::{ApiResult, Problems, UserErrorCode};
use crate::graphql::{ContextExt, ids};
use crate::statuses::Status;
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use koppel_entity::{IntegrationOwned, Scoped, integration, status, status_mapping};
use sea_orm::{ConnectionTrait, Set};
use std::collections::HashSet;
use uuid::Uuid;

#[derive(SimpleObject, Clone)]
pub struct StatusMapping {
    pub remote_status: String,
    pub local_status: Status,
    /// A system status mapped automatically by key (override it with an explicit mapping).
    pub automatic: bool,
}

/// The effective mappings: the engine's ([`koppel_daemon::mapping::statuses`]), so that what is listed
/// here is what the status pull applies.
pub async fn status_mappings(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> ApiResult<Vec<StatusMapping>> {
    let map = koppel_daemon::mapping::statuses::load(db, integration).await?;
    Ok(map
        .into_mappings()
        .into_iter()
        .map(|m| StatusMapping {
            remote_status: m.remote_status,
            local_status: m.local_status.into(),
            automatic: m.automatic,
        })
        .collect())
}

#[derive(InputObject)]
pub struct StatusMappingInput {
    pub remote_status: String,
    pub local_status_id: ID,
}

#[derive(InputObject)]
pub struct SetStatusMappingsInput {
    pub integration_id: ID,
    /// Replaces all explicit status mappings. System statuses not listed stay mapped automatically.
    pub mappings: Vec<StatusMappingInput>,
}

crate::payload!(SetStatusMappingsPayload { status_mappings: Vec<StatusMapping> });

#[derive(Default)]
pub struct StatusMappingMutation;

#[Object]
impl StatusMappingMutation {
    /// Replaces the explicit status mappings (admins only). Custom remote statuses must be mapped or
    /// they are not synced; system statuses map automatically by key unless mapped here.
    async fn set_status_mappings(
        &self,
        ctx: &Context<'_>,
        input: SetStatusMappingsInput,
    ) -> ApiResult<SetStatusMappingsPayload> {
        let integration = integration_of(ctx, &input.integration_id).await?;
        let result = set_status_mappings(ctx, &integration, input).await;
        SetStatusMappingsPayload::from_result(result)
    }
}

async fn set_status_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetStatusMappingsInput,
) -> ApiResult<Vec<StatusMapping>> {
    let db = ctx.db();
    let connector = connect(ctx, integration).await?;
    let remote = connector.statuses().await?;
    let mut problems = Problems::new();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, mapping) in input.mappings.iter().enumerate() {
        if !remote.iter().any(|s| s.key == mapping.remote_status) {
            problems.add(
                format!("mappings.{i}.remoteStatus"),
                UserErrorCode::NotFound,
                format!("the remote has no status {}", mapping.remote_status),
            );
        }
        if !seen.insert(mapping.remote_status.clone()) {
            problems.add(
                format!("mappings.{i}.remoteStatus"),
                UserErrorCode::Taken,
                format!("{} is mapped twice", mapping.remote_status),
            );
        }
        let local =
            match ids::parse_field(&mapping.local_status_id, &format!("mappings.{i}.localStatusId"), &mut problems) {
                Some(id) => status::Entity::find_by_id_in(integration.account_id, id).one(db).await?,
                None => continue,
            };
        match local {
            Some(local) => rows.push(status_mapping::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(integration.account_id),
                integration_id: Set(integration.id),
                remote_status: Set(mapping.remote_status.clone()),
                local_status_id: Set(local.id),
            }),
            None => problems.add(
                format!("mappings.{i}.localStatusId"),
                UserErrorCode::NotFound,
                "this status does not exist",
            ),
        }
    }
    problems.into_result()?;
    let old = status_mapping::Entity::delete_owned(integration.account_id, integration.id);
    replace_all(db, old, rows, Then::Nothing).await?;
    status_mappings(db, integration).await
}
