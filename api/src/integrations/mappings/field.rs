//! Field mappings: a remote field through transforms and value mappings onto a local extra field,
//! question or built-in attribute, per entity (seed 000's product and sale data mappings).

use super::{Then, ValueMapping, connect, integration_of, replace_all};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use koppel_daemon::connectors::{Capability, RemoteField};
use koppel_daemon::mapping::records::CUSTOMER_ATTRIBUTES;
use koppel_daemon::mapping::{TargetKind as Target, Transform, stored};
use koppel_daemon::outbox::prepare::{EXTRA_FIELD_OWNERS, SALE_ATTRIBUTES, SALE_MAPPING};
use koppel_entity::enums::{ExtraFieldEntity, ExtraFieldType, LinkedEntity};
use koppel_entity::{IntegrationOwned, Scoped, extra_field, field_mapping, integration, question};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, Set};
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
    /// A built-in attribute: a product's name, description, category or incentive; a customer's
    /// companyName, firstName, lastName, email, phone or kvkNumber; a sale's (see the sale data mapping).
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

#[derive(SimpleObject, Clone)]
pub struct FieldMapping {
    pub id: ID,
    pub entity: String,
    pub remote_field: String,
    pub target_kind: TargetKind,
    pub target: String,
    pub transforms: Vec<TransformStep>,
    pub values: Vec<ValueMapping>,
    /// Written when the record is created, never overwritten by a later import or pass.
    pub create_only: bool,
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
            create_only: m.create_only,
        }
    }
}

pub async fn field_mappings(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: Option<&str>,
) -> ApiResult<Vec<FieldMapping>> {
    Ok(stored::load(db, integration, entity).await?.into_iter().map(Into::into).collect())
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
    /// Write the value when the record is created only; a later import or pass leaves it alone.
    #[graphql(default)]
    pub create_only: bool,
}

#[derive(InputObject)]
pub struct SetFieldMappingsInput {
    pub integration_id: ID,
    /// The entity whose fields are mapped, e.g. `product`.
    pub entity: String,
    /// Replaces all field mappings of the entity.
    pub mappings: Vec<FieldMappingInput>,
}

crate::payload!(SetFieldMappingsPayload { field_mappings: Vec<FieldMapping> });

#[derive(Default)]
pub struct FieldMappingMutation;

#[Object]
impl FieldMappingMutation {
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
}

async fn set_field_mappings(
    ctx: &Context<'_>,
    integration: &integration::Model,
    input: SetFieldMappingsInput,
) -> ApiResult<Vec<FieldMapping>> {
    let db = ctx.db();
    let mut problems = Problems::new();
    let kind = koppel_daemon::connectors::kind(&integration.kind);
    let mut entities: Vec<&str> =
        kind.map(|k| k.synced_entities.iter().map(|e| e.as_str()).collect()).unwrap_or_default();
    if kind.is_some_and(|k| k.capabilities.contains(&Capability::SalePush)) {
        entities.push(SALE_MAPPING);
    }
    if !entities.contains(&input.entity.as_str()) {
        return Err(ApiError::invalid(
            "entity",
            UserErrorCode::NotAnOption,
            format!("entity must be one of: {}", entities.join(", ")),
        ));
    }
    let sale = input.entity == SALE_MAPPING;
    // A customer's or an invoice's mappings (a bookkeeping or ERP remote's records) write that record's
    // extra fields, and a customer's attributes.
    let record = match input.entity.as_str() {
        "customer" => Some((LinkedEntity::Customer, ExtraFieldEntity::Customer)),
        "invoice" => Some((LinkedEntity::Invoice, ExtraFieldEntity::Invoice)),
        _ => None,
    };
    let connector = connect(ctx, integration).await?;
    // What the remote takes: a product's fields, a customer's or invoice's fields, or (the sale data
    // mapping) the questions a sale answers.
    let remote_fields: Vec<RemoteField> = if let Some((entity, _)) = record {
        connector.record_fields(entity)
    } else if sale {
        connector
            .questions()
            .await?
            .into_iter()
            .map(|q| RemoteField {
                options: q.options.iter().map(|o| o.value.clone()).collect(),
                key: q.key,
                label: q.label,
                field_type: q.question_type,
            })
            .collect()
    } else {
        connector.product_fields().await?
    };
    let definitions = extra_field::Entity::find_in(integration.account_id).all(db).await?;
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, mapping) in input.mappings.iter().enumerate() {
        let field = format!("mappings.{i}");
        let remote_field = remote_fields.iter().find(|f| f.key == mapping.remote_field);
        let built_in = record.is_none() && !sale && PRODUCT_BUILT_INS.contains(&mapping.remote_field.as_str());
        if remote_field.is_none() && !built_in {
            let what = if sale { "question".to_owned() } else { format!("{} field", input.entity) };
            let known: Vec<&str> = remote_fields.iter().map(|f| f.key.as_str()).collect();
            let hint = if record.is_some() { format!(" (its fields: {})", known.join(", ")) } else { String::new() };
            problems.add(
                format!("{field}.remoteField"),
                UserErrorCode::NotFound,
                format!("the remote has no {what} {}{hint}", mapping.remote_field),
            );
        }
        let mut local_options: Option<Vec<String>> = None;
        // A product mapping writes a product extra field; the sale data mapping reads `product.<key>`,
        // `organisation.<key>` (e.g. the CIRE ID) or `customer.<key>`.
        let extra_field = if sale {
            mapping.target.split_once('.').and_then(|(owner, key)| {
                let owner = match owner {
                    "product" => ExtraFieldEntity::Product,
                    "organisation" => ExtraFieldEntity::Organisation,
                    "customer" => ExtraFieldEntity::Customer,
                    _ => return None,
                };
                Some((owner, key.to_owned()))
            })
        } else {
            Some((record.map_or(ExtraFieldEntity::Product, |(_, owner)| owner), mapping.target.clone()))
        };
        match mapping.target_kind {
            TargetKind::ExtraField => {
                match extra_field
                    .and_then(|(owner, key)| definitions.iter().find(|d| d.entity == owner && d.key == key))
                {
                    Some(definition) if definition.field_type == ExtraFieldType::Select => {
                        local_options = Some(serde_json::from_value(definition.options.clone()).unwrap_or_default());
                    }
                    Some(_) => {}
                    None if sale => problems.add(
                        format!("{field}.target"),
                        UserErrorCode::NotFound,
                        format!(
                            "there is no extra field {}; name one as {}.<key>",
                            mapping.target,
                            EXTRA_FIELD_OWNERS.join(".<key>, ")
                        ),
                    ),
                    None => problems.add(
                        format!("{field}.target"),
                        UserErrorCode::NotFound,
                        format!("there is no {} extra field {}", input.entity, mapping.target),
                    ),
                }
            }
            TargetKind::Question if record.is_some() => problems.add(
                format!("{field}.targetKind"),
                UserErrorCode::NotAnOption,
                format!("a {} mapping writes extra fields or attributes, not questions", input.entity),
            ),
            TargetKind::Question => {
                let exists = question::Entity::find_in(integration.account_id)
                    .filter(question::Column::Key.eq(&mapping.target))
                    .one(db)
                    .await?;
                match exists {
                    None => problems.add(
                        format!("{field}.target"),
                        UserErrorCode::NotFound,
                        format!("there is no question {}", mapping.target),
                    ),
                    Some(question) if sale => {
                        let options: Vec<crate::catalog::questions::AnswerOption> =
                            serde_json::from_value(question.options).unwrap_or_default();
                        if !options.is_empty() {
                            local_options = Some(options.into_iter().map(|o| o.value).collect());
                        }
                    }
                    Some(_) => {}
                }
            }
            TargetKind::Attribute => {
                let allowed: &[&str] = match record {
                    Some((LinkedEntity::Customer, _)) => &CUSTOMER_ATTRIBUTES,
                    Some(_) => &[],
                    None if sale => SALE_ATTRIBUTES,
                    None => &PRODUCT_ATTRIBUTES,
                };
                if allowed.is_empty() {
                    problems.add(
                        format!("{field}.targetKind"),
                        UserErrorCode::NotAnOption,
                        format!("an {} mapping writes extra fields only", input.entity),
                    );
                } else if !allowed.contains(&mapping.target.as_str()) {
                    problems.add(
                        format!("{field}.target"),
                        UserErrorCode::NotAnOption,
                        format!("attribute must be one of: {}", allowed.join(", ")),
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
            create_only: Set(mapping.create_only),
        });
    }
    problems.into_result()?;
    let old = field_mapping::Entity::delete_owned(integration.account_id, integration.id)
        .filter(field_mapping::Column::Entity.eq(&input.entity));
    let then = match record {
        Some((entity, _)) => Then::ReadAllAgain(integration, entity),
        None if sale => Then::SalesMappingChanged(integration),
        None => Then::Nothing,
    };
    replace_all(db, old, rows, then).await?;
    field_mappings(db, integration, Some(&input.entity)).await
}
