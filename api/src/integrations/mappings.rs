//! Mappings between an integration's remote and the local account, each set with replace-set
//! semantics and validated against what exists locally and (live) remotely: field mappings with
//! transforms and value mappings, status mappings, flow mappings, question mappings with answer options.

use super::service::{self, connector_for};
use crate::catalog::{Flow, Question};
use crate::error::{ApiError, ApiResult, Problems, UserError, UserErrorCode};
use crate::graphql::{ContextExt, ids};
use crate::statuses::Status;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use koppel_daemon::mapping::{self, TargetKind as Target, Transform};
use koppel_entity::enums::{ExtraFieldEntity, ExtraFieldType, QuestionType};
use koppel_entity::{
    Scoped, extra_field, field_mapping, flow, flow_mapping, integration, question, question_mapping, status,
    status_mapping,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DeleteMany, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use uuid::Uuid;

/// The built-in product fields every remote product has.
const PRODUCT_BUILT_INS: [&str; 6] = ["sku", "name", "description", "category", "incentive", "productType"];
/// The product attributes a remote field can be mapped onto.
const PRODUCT_ATTRIBUTES: [&str; 4] = ["name", "description", "category", "incentive"];

#[derive(Enum, Copy, Clone, Eq, PartialEq, Hash, Debug)]
pub enum TargetKind {
    /// A local extra field, by key.
    ExtraField,
    /// A local question, by key.
    Question,
    /// A built-in attribute: name, description, category or incentive.
    Attribute,
}

impl From<TargetKind> for Target {
    fn from(kind: TargetKind) -> Self {
        match kind {
            TargetKind::ExtraField => Target::ExtraField,
            TargetKind::Question => Target::Question,
            TargetKind::Attribute => Target::Attribute,
        }
    }
}

impl From<Target> for TargetKind {
    fn from(kind: Target) -> Self {
        match kind {
            Target::ExtraField => TargetKind::ExtraField,
            Target::Question => TargetKind::Question,
            Target::Attribute => TargetKind::Attribute,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum TransformKind {
    Trim,
    Uppercase,
    Lowercase,
    /// `argument`: the value to use when the remote one is empty.
    Default,
    /// `argument`: a chrono format such as `%d-%m-%Y`.
    DateFormat,
    /// `argument`: the number of decimals.
    NumberScale,
}

#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "TransformInput")]
pub struct TransformStep {
    pub kind: TransformKind,
    pub argument: Option<String>,
}

#[derive(SimpleObject, InputObject, Clone, Debug, Serialize, Deserialize, PartialEq)]
#[graphql(input_name = "ValueMappingInput")]
pub struct ValueMapping {
    /// The value at the remote, e.g. `green`.
    pub remote: String,
    /// The local value, e.g. `Groene stroom`.
    pub local: String,
}

#[derive(SimpleObject, Clone)]
pub struct FieldMapping {
    pub id: ID,
    pub entity: String,
    pub remote_field: String,
    pub target_kind: TargetKind,
    pub target: String,
    pub transforms: Vec<TransformStep>,
    pub values: Vec<ValueMapping>,
}

fn to_step(transform: &Transform) -> TransformStep {
    let (kind, argument) = match transform {
        Transform::Trim => (TransformKind::Trim, None),
        Transform::Uppercase => (TransformKind::Uppercase, None),
        Transform::Lowercase => (TransformKind::Lowercase, None),
        Transform::Default(value) => (TransformKind::Default, Some(value.clone())),
        Transform::DateFormat(format) => (TransformKind::DateFormat, Some(format.clone())),
        Transform::NumberScale(scale) => (TransformKind::NumberScale, Some(scale.to_string())),
    };
    TransformStep { kind, argument }
}

/// A transform from its GraphQL form; the error says whether the argument is missing or malformed.
fn from_step(step: &TransformStep) -> Result<Transform, (UserErrorCode, &'static str)> {
    let argument = || {
        step.argument
            .clone()
            .filter(|a| !a.is_empty())
            .ok_or((UserErrorCode::Required, "this transform needs an argument"))
    };
    Ok(match step.kind {
        TransformKind::Trim => Transform::Trim,
        TransformKind::Uppercase => Transform::Uppercase,
        TransformKind::Lowercase => Transform::Lowercase,
        TransformKind::Default => Transform::Default(argument()?),
        TransformKind::DateFormat => Transform::DateFormat(argument()?),
        TransformKind::NumberScale => Transform::NumberScale(
            argument()?
                .trim()
                .parse()
                .map_err(|_| (UserErrorCode::Invalid, "the argument must be a number of decimals"))?,
        ),
    })
}

impl From<field_mapping::Model> for FieldMapping {
    fn from(m: field_mapping::Model) -> Self {
        let transforms: Vec<Transform> = serde_json::from_value(m.transforms).unwrap_or_default();
        Self {
            id: ids::to_id(m.id),
            entity: m.entity,
            remote_field: m.remote_field,
            target_kind: serde_json::from_value::<Target>(serde_json::Value::String(m.target_kind))
                .map(Into::into)
                .unwrap_or(TargetKind::ExtraField),
            target: m.target,
            transforms: transforms.iter().map(to_step).collect(),
            values: serde_json::from_value(m.value_mappings).unwrap_or_default(),
        }
    }
}

pub async fn load_field_mappings(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: Option<&str>,
) -> ApiResult<Vec<field_mapping::Model>> {
    let mut select = field_mapping::Entity::find_in(integration.account_id)
        .filter(field_mapping::Column::IntegrationId.eq(integration.id))
        .order_by_asc(field_mapping::Column::Position);
    if let Some(entity) = entity {
        select = select.filter(field_mapping::Column::Entity.eq(entity));
    }
    Ok(select.all(db).await?)
}

/// Stored field mappings as the mapping engine takes them.
pub fn daemon_mappings(rows: &[field_mapping::Model]) -> Vec<mapping::FieldMapping> {
    rows.iter()
        .map(|m| mapping::FieldMapping {
            remote_field: m.remote_field.clone(),
            target_kind: serde_json::from_value(serde_json::Value::String(m.target_kind.clone()))
                .unwrap_or(Target::ExtraField),
            target: m.target.clone(),
            transforms: serde_json::from_value(m.transforms.clone()).unwrap_or_default(),
            values: serde_json::from_value(m.value_mappings.clone()).unwrap_or_default(),
        })
        .collect()
}

pub async fn field_mappings(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: Option<&str>,
) -> ApiResult<Vec<FieldMapping>> {
    Ok(load_field_mappings(db, integration, entity).await?.into_iter().map(Into::into).collect())
}

#[derive(SimpleObject, Clone)]
pub struct StatusMapping {
    pub remote_status: String,
    pub local_status: Status,
    /// A system status mapped automatically by key (override it with an explicit mapping).
    pub automatic: bool,
}

pub async fn status_mappings(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> ApiResult<Vec<StatusMapping>> {
    let explicit = status_mapping::Entity::find_in(integration.account_id)
        .filter(status_mapping::Column::IntegrationId.eq(integration.id))
        .order_by_asc(status_mapping::Column::RemoteStatus)
        .all(db)
        .await?;
    let statuses =
        status::Entity::find_in(integration.account_id).order_by_asc(status::Column::Position).all(db).await?;
    let mut mappings = Vec::new();
    for local in statuses.iter().filter(|s| s.system) {
        if !explicit.iter().any(|m| m.remote_status == local.key) {
            mappings.push(StatusMapping {
                remote_status: local.key.clone(),
                local_status: local.clone().into(),
                automatic: true,
            });
        }
    }
    for mapping in explicit {
        if let Some(local) = statuses.iter().find(|s| s.id == mapping.local_status_id) {
            mappings.push(StatusMapping {
                remote_status: mapping.remote_status,
                local_status: local.clone().into(),
                automatic: false,
            });
        }
    }
    Ok(mappings)
}

#[derive(SimpleObject, Clone)]
pub struct FlowMapping {
    pub remote_flow_id: String,
    pub local_flow: Flow,
}

pub async fn flow_mappings(db: &impl ConnectionTrait, integration: &integration::Model) -> ApiResult<Vec<FlowMapping>> {
    let rows = flow_mapping::Entity::find_in(integration.account_id)
        .filter(flow_mapping::Column::IntegrationId.eq(integration.id))
        .all(db)
        .await?;
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

#[derive(SimpleObject, Clone)]
pub struct QuestionMapping {
    pub remote_question_key: String,
    pub local_question: Question,
    pub options: Vec<ValueMapping>,
    /// Mismatches found when the mapping was saved (type, options, required, validations).
    pub warnings: Vec<String>,
}

pub async fn question_mappings(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
) -> ApiResult<Vec<QuestionMapping>> {
    let rows = question_mapping::Entity::find_in(integration.account_id)
        .filter(question_mapping::Column::IntegrationId.eq(integration.id))
        .order_by_asc(question_mapping::Column::RemoteQuestion)
        .all(db)
        .await?;
    let questions = question::Entity::find_by_ids_in(integration.account_id, rows.iter().map(|r| r.local_question_id))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let local = questions.iter().find(|q| q.id == r.local_question_id)?;
            Some(QuestionMapping {
                remote_question_key: r.remote_question,
                local_question: local.clone().into(),
                options: serde_json::from_value(r.option_mappings).unwrap_or_default(),
                warnings: serde_json::from_value(r.warnings).unwrap_or_default(),
            })
        })
        .collect())
}

#[derive(InputObject)]
pub struct FieldMappingInput {
    pub remote_field: String,
    pub target_kind: TargetKind,
    pub target: String,
    #[graphql(default)]
    pub transforms: Vec<TransformStep>,
    #[graphql(default)]
    pub values: Vec<ValueMapping>,
}

#[derive(InputObject)]
pub struct SetFieldMappingsInput {
    pub integration_id: ID,
    /// The entity whose fields are mapped, e.g. `product`.
    pub entity: String,
    /// Replaces all field mappings of the entity.
    pub mappings: Vec<FieldMappingInput>,
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

#[derive(InputObject)]
pub struct QuestionMappingInput {
    pub remote_question_key: String,
    pub local_question_id: ID,
    /// Local answer option → remote answer option.
    #[graphql(default)]
    pub options: Vec<ValueMapping>,
}

#[derive(InputObject)]
pub struct SetQuestionMappingsInput {
    pub integration_id: ID,
    pub mappings: Vec<QuestionMappingInput>,
}

crate::payload!(SetFieldMappingsPayload { field_mappings: Vec<FieldMapping> });
crate::payload!(SetStatusMappingsPayload { status_mappings: Vec<StatusMapping> });
crate::payload!(SetFlowMappingsPayload { flow_mappings: Vec<FlowMapping> });

/// Something that will make sales fail at the remote, although the mapping itself is valid.
#[derive(SimpleObject, Clone, Debug)]
pub struct MappingWarning {
    pub field: String,
    pub message: String,
}

#[derive(SimpleObject)]
pub struct SetQuestionMappingsPayload {
    pub question_mappings: Option<Vec<QuestionMapping>>,
    /// Mismatches between a local question and its remote twin (type, options, required, validations).
    pub warnings: Vec<MappingWarning>,
    pub user_errors: Vec<UserError>,
}

/// Replace-set: deletes what `old` selects and inserts `rows`, in one transaction.
async fn replace_all<E>(db: &DatabaseConnection, old: DeleteMany<E>, rows: Vec<E::ActiveModel>) -> ApiResult<()>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let txn = crate::db::begin_write(db).await?;
    old.exec(&txn).await?;
    if !rows.is_empty() {
        E::insert_many(rows).exec(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

async fn integration_of(ctx: &Context<'_>, id: &ID) -> ApiResult<integration::Model> {
    let principal = ctx.principal()?.require_admin()?;
    service::find(ctx.db(), principal.account_id, id).await
}

#[derive(Default)]
pub struct MappingMutation;

#[Object]
impl MappingMutation {
    /// Replaces the field mappings of one entity (admins only), checked against the remote's fields
    /// (live) and the local extra fields, questions and attributes.
    async fn set_field_mappings(
        &self,
        ctx: &Context<'_>,
        input: SetFieldMappingsInput,
    ) -> ApiResult<SetFieldMappingsPayload> {
        let integration = integration_of(ctx, &input.integration_id).await?;
        let result = set_field_mappings(ctx, &integration, input).await;
        SetFieldMappingsPayload::from_result(result)
    }

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

    /// Replaces the question mappings (admins only), with answer-option mappings. A local question whose
    /// type, options or rules differ from the remote one is accepted with a warning.
    async fn set_question_mappings(
        &self,
        ctx: &Context<'_>,
        input: SetQuestionMappingsInput,
    ) -> ApiResult<SetQuestionMappingsPayload> {
        let integration = integration_of(ctx, &input.integration_id).await?;
        match set_question_mappings(ctx, &integration, input).await {
            Ok((mappings, warnings)) => {
                Ok(SetQuestionMappingsPayload { question_mappings: Some(mappings), warnings, user_errors: Vec::new() })
            }
            Err(ApiError::Invalid(user_errors)) => {
                Ok(SetQuestionMappingsPayload { question_mappings: None, warnings: Vec::new(), user_errors })
            }
            Err(error) => Err(error),
        }
    }
}

async fn set_field_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetFieldMappingsInput,
) -> ApiResult<Vec<FieldMapping>> {
    let db = ctx.db();
    let mut problems = Problems::new();
    let synced = koppel_daemon::connectors::kind(&integration.kind).map(|k| k.synced_entities).unwrap_or_default();
    if !synced.contains(&input.entity.as_str()) {
        return Err(ApiError::invalid(
            "entity",
            UserErrorCode::NotAnOption,
            format!("entity must be one of: {}", synced.join(", ")),
        ));
    }
    let connector = connector_for(ctx.state(), integration, integration.mode).await?;
    let remote_fields = connector.product_fields().await?;
    let definitions = extra_field::Entity::find_in(integration.account_id)
        .filter(extra_field::Column::Entity.eq(ExtraFieldEntity::Product))
        .all(db)
        .await?;
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, mapping) in input.mappings.iter().enumerate() {
        let field = format!("mappings.{i}");
        let remote_field = remote_fields.iter().find(|f| f.key == mapping.remote_field);
        if remote_field.is_none() && !PRODUCT_BUILT_INS.contains(&mapping.remote_field.as_str()) {
            problems.add(
                format!("{field}.remoteField"),
                UserErrorCode::NotFound,
                format!("the remote has no product field {}", mapping.remote_field),
            );
        }
        let mut local_options: Option<Vec<String>> = None;
        match mapping.target_kind {
            TargetKind::ExtraField => match definitions.iter().find(|d| d.key == mapping.target) {
                Some(definition) if definition.field_type == ExtraFieldType::Select => {
                    local_options = Some(serde_json::from_value(definition.options.clone()).unwrap_or_default());
                }
                Some(_) => {}
                None => problems.add(
                    format!("{field}.target"),
                    UserErrorCode::NotFound,
                    format!("there is no product extra field {}", mapping.target),
                ),
            },
            TargetKind::Question => {
                let exists = question::Entity::find_in(integration.account_id)
                    .filter(question::Column::Key.eq(&mapping.target))
                    .one(db)
                    .await?;
                if exists.is_none() {
                    problems.add(
                        format!("{field}.target"),
                        UserErrorCode::NotFound,
                        format!("there is no question {}", mapping.target),
                    );
                }
            }
            TargetKind::Attribute => {
                if !PRODUCT_ATTRIBUTES.contains(&mapping.target.as_str()) {
                    problems.add(
                        format!("{field}.target"),
                        UserErrorCode::NotAnOption,
                        format!("attribute must be one of: {}", PRODUCT_ATTRIBUTES.join(", ")),
                    );
                }
            }
        }
        if !seen.insert((mapping.remote_field.clone(), mapping.target_kind, mapping.target.clone())) {
            problems.add(&field, UserErrorCode::Taken, "this remote field is already mapped to this target");
        }
        let mut transforms = Vec::new();
        for (j, step) in mapping.transforms.iter().enumerate() {
            match from_step(step) {
                Ok(transform) => match transform.problem() {
                    Some(problem) => {
                        problems.add(format!("{field}.transforms.{j}.argument"), UserErrorCode::Invalid, problem)
                    }
                    None => transforms.push(transform),
                },
                Err((code, problem)) => problems.add(format!("{field}.transforms.{j}.argument"), code, problem),
            }
        }
        for (j, value) in mapping.values.iter().enumerate() {
            if let Some(remote) = remote_field.filter(|f| !f.options.is_empty())
                && !remote.options.contains(&value.remote)
            {
                problems.add(
                    format!("{field}.values.{j}.remote"),
                    UserErrorCode::NotAnOption,
                    format!(
                        "{} is not an option of the remote field {} ({})",
                        value.remote,
                        remote.key,
                        remote.options.join(", ")
                    ),
                );
            }
            if let Some(options) = &local_options
                && !options.contains(&value.local)
            {
                problems.add(
                    format!("{field}.values.{j}.local"),
                    UserErrorCode::NotAnOption,
                    format!("{} is not an option of {} ({})", value.local, mapping.target, options.join(", ")),
                );
            }
        }
        rows.push(field_mapping::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            integration_id: Set(integration.id),
            entity: Set(input.entity.clone()),
            remote_field: Set(mapping.remote_field.clone()),
            target_kind: Set(serde_json::to_value(Target::from(mapping.target_kind))
                .expect("serialises")
                .as_str()
                .unwrap_or_default()
                .to_owned()),
            target: Set(mapping.target.clone()),
            transforms: Set(serde_json::to_value(&transforms).expect("serialises")),
            value_mappings: Set(serde_json::to_value(&mapping.values).expect("serialises")),
            position: Set(i as i32),
        });
    }
    problems.into_result()?;
    let old = field_mapping::Entity::delete_many()
        .filter(field_mapping::Column::IntegrationId.eq(integration.id))
        .filter(field_mapping::Column::Entity.eq(&input.entity));
    replace_all(db, old, rows).await?;
    field_mappings(db, integration, Some(&input.entity)).await
}

async fn set_status_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetStatusMappingsInput,
) -> ApiResult<Vec<StatusMapping>> {
    let db = ctx.db();
    let connector = connector_for(ctx.state(), integration, integration.mode).await?;
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
    let old = status_mapping::Entity::delete_many().filter(status_mapping::Column::IntegrationId.eq(integration.id));
    replace_all(db, old, rows).await?;
    status_mappings(db, integration).await
}

async fn set_flow_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetFlowMappingsInput,
) -> ApiResult<Vec<FlowMapping>> {
    let db = ctx.db();
    let connector = connector_for(ctx.state(), integration, integration.mode).await?;
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
    let old = flow_mapping::Entity::delete_many().filter(flow_mapping::Column::IntegrationId.eq(integration.id));
    replace_all(db, old, rows).await?;
    flow_mappings(db, integration).await
}

async fn set_question_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetQuestionMappingsInput,
) -> ApiResult<(Vec<QuestionMapping>, Vec<MappingWarning>)> {
    let db = ctx.db();
    let connector = connector_for(ctx.state(), integration, integration.mode).await?;
    let remote = connector.questions().await?;
    let mut problems = Problems::new();
    let mut warnings = Vec::new();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, mapping) in input.mappings.iter().enumerate() {
        let field = format!("mappings.{i}");
        let Some(remote_question) = remote.iter().find(|q| q.key == mapping.remote_question_key) else {
            problems.add(
                format!("{field}.remoteQuestionKey"),
                UserErrorCode::NotFound,
                format!("the remote has no question {}", mapping.remote_question_key),
            );
            continue;
        };
        if !seen.insert(mapping.remote_question_key.clone()) {
            problems.add(
                format!("{field}.remoteQuestionKey"),
                UserErrorCode::Taken,
                format!("{} is mapped twice", mapping.remote_question_key),
            );
        }
        let local =
            match ids::parse_field(&mapping.local_question_id, &format!("{field}.localQuestionId"), &mut problems) {
                Some(id) => question::Entity::find_by_id_in(integration.account_id, id).one(db).await?,
                None => continue,
            };
        let Some(local) = local else {
            problems.add(format!("{field}.localQuestionId"), UserErrorCode::NotFound, "this question does not exist");
            continue;
        };
        let local_options: Vec<String> =
            serde_json::from_value::<Vec<crate::catalog::questions::AnswerOption>>(local.options.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|o| o.value)
                .collect();
        let remote_options: Vec<String> = remote_question.options.iter().map(|o| o.value.clone()).collect();
        for (j, option) in mapping.options.iter().enumerate() {
            if !local_options.contains(&option.local) {
                problems.add(
                    format!("{field}.options.{j}.local"),
                    UserErrorCode::NotAnOption,
                    format!("{} is not an option of {}", option.local, local.key),
                );
            }
            if !remote_options.contains(&option.remote) {
                problems.add(
                    format!("{field}.options.{j}.remote"),
                    UserErrorCode::NotAnOption,
                    format!("{} is not an option of the remote {}", option.remote, remote_question.key),
                );
            }
        }
        let found = compatibility(&field, &local, remote_question, &mapping.options);
        let messages: Vec<&str> = found.iter().map(|w| w.message.as_str()).collect();
        let stored_warnings = serde_json::to_value(&messages).expect("serialises");
        warnings.extend(found);
        rows.push(question_mapping::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(integration.account_id),
            integration_id: Set(integration.id),
            remote_question: Set(mapping.remote_question_key.clone()),
            local_question_id: Set(local.id),
            option_mappings: Set(serde_json::to_value(&mapping.options).expect("serialises")),
            warnings: Set(stored_warnings),
        });
    }
    problems.into_result()?;
    let old =
        question_mapping::Entity::delete_many().filter(question_mapping::Column::IntegrationId.eq(integration.id));
    replace_all(db, old, rows).await?;
    Ok((question_mappings(db, integration).await?, warnings))
}

/// Why sales answering `local` may be refused by the remote that asks `remote`.
fn compatibility(
    field: &str,
    local: &question::Model,
    remote: &koppel_daemon::connectors::RemoteQuestion,
    options: &[ValueMapping],
) -> Vec<MappingWarning> {
    let mut warnings = Vec::new();
    let mut warn = |message: String| warnings.push(MappingWarning { field: field.to_owned(), message });
    let local_type = local.question_type.as_str();
    if local_type != remote.question_type {
        warn(format!("{} is a {local_type} question here but {} at the remote", local.key, remote.question_type));
    }
    if remote.required && !local.required {
        warn(format!("the remote requires {}, but {} is optional here", remote.key, local.key));
    }
    if matches!(local.question_type, QuestionType::Select | QuestionType::Multiselect) || !remote.options.is_empty() {
        let local_options: Vec<String> =
            serde_json::from_value::<Vec<crate::catalog::questions::AnswerOption>>(local.options.clone())
                .unwrap_or_default()
                .into_iter()
                .map(|o| o.value)
                .collect();
        for option in &local_options {
            let mapped = options.iter().any(|m| &m.local == option);
            let same = remote.options.iter().any(|r| &r.value == option);
            if !mapped && !same {
                warn(format!("the local option {option} of {} has no counterpart at the remote; map it", local.key));
            }
        }
    }
    if local.validations != remote.validations
        && !(remote.validations.as_object().is_some_and(|o| o.values().all(|v| v.is_null())))
    {
        warn(format!("the validations of {} differ from the remote's ({})", local.key, remote.validations));
    }
    warnings
}
