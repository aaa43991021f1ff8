//! Extra-field values on records: validated against the definitions, stored as a JSON object by key.

use crate::error::{ApiResult, Problems, UserErrorCode};
use async_graphql::{InputObject, SimpleObject};
use koppel_entity::{Scoped, enums, extra_field};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter};
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(InputObject, Clone)]
pub struct ExtraFieldValueInput {
    pub key: String,
    pub value: String,
}

#[derive(SimpleObject, Clone)]
pub struct ExtraFieldValue {
    pub key: String,
    pub value: String,
}

/// The values a caller may see: only keys that still have a definition (values of a deleted definition
/// stay stored but are not shown), and hidden fields only to admins using the full API.
pub async fn visible_values(
    ctx: &async_graphql::Context<'_>,
    entity: enums::ExtraFieldEntity,
    stored: &Value,
) -> crate::error::ApiResult<Vec<ExtraFieldValue>> {
    use crate::graphql::ContextExt;
    let principal = ctx.principal()?;
    let sees_hidden = principal.is_admin() && !principal.integration_only();
    let loader = crate::graphql::loaders::of(ctx)?
        .batcher(|request| DefinitionLoader { db: request.db.clone(), account_id: request.account_id });
    let definitions = loader.load_one(entity).await?.unwrap_or_default();
    let mut values = to_values(stored);
    values.retain(|value| definitions.iter().any(|(key, hidden)| key == &value.key && (sees_hidden || !hidden)));
    Ok(values)
}

/// Loads the extra-field definitions of an entity once per request: `(key, hidden)` pairs.
pub struct DefinitionLoader {
    pub db: sea_orm::DatabaseConnection,
    pub account_id: Uuid,
}

impl async_graphql::dataloader::Loader<enums::ExtraFieldEntity> for DefinitionLoader {
    type Value = Vec<(String, bool)>;
    type Error = crate::graphql::loaders::LoadError;

    async fn load(
        &self,
        keys: &[enums::ExtraFieldEntity],
    ) -> Result<std::collections::HashMap<enums::ExtraFieldEntity, Self::Value>, Self::Error> {
        let rows = extra_field::Entity::find_in(self.account_id)
            .filter(extra_field::Column::Entity.is_in(keys.iter().copied()))
            .all(&self.db)
            .await
            .map_err(|e| crate::graphql::loaders::LoadError(std::sync::Arc::new(e)))?;
        let mut map: std::collections::HashMap<_, Vec<(String, bool)>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            map.entry(row.entity).or_default().push((row.key, row.hidden));
        }
        Ok(map)
    }
}

/// The stored values as a list, in key order.
pub fn to_values(stored: &Value) -> Vec<ExtraFieldValue> {
    let mut values: Vec<ExtraFieldValue> = stored
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(key, value)| ExtraFieldValue {
                    key: key.clone(),
                    value: value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string()),
                })
                .collect()
        })
        .unwrap_or_default();
    values.sort_by(|a, b| a.key.cmp(&b.key));
    values
}

/// Checks values against the account's definitions for `entity` and merges them into `current`;
/// an empty value removes the key. Problems are reported as `{field}.{i}.key` / `.value`.
pub async fn validate_values(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    entity: enums::ExtraFieldEntity,
    inputs: &[ExtraFieldValueInput],
    current: &Value,
    field: &str,
    problems: &mut Problems,
) -> ApiResult<Value> {
    let mut merged: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    if inputs.is_empty() {
        return Ok(Value::Object(merged));
    }
    let definitions =
        extra_field::Entity::find_in(account_id).filter(extra_field::Column::Entity.eq(entity)).all(db).await?;
    for (i, input) in inputs.iter().enumerate() {
        let key = input.key.trim();
        let Some(definition) = definitions.iter().find(|d| d.key == key) else {
            problems.add(
                format!("{field}.{i}.key"),
                UserErrorCode::Unknown,
                format!("there is no {} extra field {key}", entity.as_str()),
            );
            continue;
        };
        let value = input.value.trim();
        if value.is_empty() {
            merged.remove(key);
            continue;
        }
        let max = match definition.field_type {
            enums::ExtraFieldType::Textarea => 5000,
            _ => 500,
        };
        if value.chars().count() > max {
            problems.add(
                format!("{field}.{i}.value"),
                UserErrorCode::TooLong,
                format!("{key} must be at most {max} characters"),
            );
        }
        if definition.field_type == enums::ExtraFieldType::Select {
            let options: Vec<String> = serde_json::from_value(definition.options.clone()).unwrap_or_default();
            if !options.iter().any(|o| o == value) {
                problems.add(
                    format!("{field}.{i}.value"),
                    UserErrorCode::NotAnOption,
                    format!("{key} must be one of: {}", options.join(", ")),
                );
            }
        }
        merged.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    Ok(Value::Object(merged))
}
