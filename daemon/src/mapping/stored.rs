//! Field mappings as they are stored, and as the mapping engine takes them.

use super::{FieldMapping, TargetKind};
use koppel_entity::{IntegrationOwned, field_mapping, integration};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, QueryFilter, QueryOrder};

/// The stored field mappings of an integration, of one entity (`product`, `sale`, …) or all, in order.
pub async fn load(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: Option<&str>,
) -> Result<Vec<field_mapping::Model>, DbErr> {
    let mut select = field_mapping::Entity::find_owned(integration.account_id, integration.id)
        .order_by_asc(field_mapping::Column::Position);
    if let Some(entity) = entity {
        select = select.filter(field_mapping::Column::Entity.eq(entity));
    }
    select.all(db).await
}

/// Stored field mappings as the mapping engine takes them.
pub fn to_engine(rows: &[field_mapping::Model]) -> Vec<FieldMapping> {
    rows.iter()
        .map(|m| FieldMapping {
            remote_field: m.remote_field.clone(),
            target_kind: serde_json::from_value(serde_json::Value::String(m.target_kind.clone()))
                .unwrap_or(TargetKind::ExtraField),
            target: m.target.clone(),
            transforms: serde_json::from_value(m.transforms.clone()).unwrap_or_default(),
            values: serde_json::from_value(m.value_mappings.clone()).unwrap_or_default(),
            create_only: m.create_only,
        })
        .collect()
}

/// What of the mappings goes into a link's content hash: a changed mapping changes every hash, so the
/// next pass refreshes the records it maps.
pub fn fingerprint(rows: &[field_mapping::Model]) -> Vec<u8> {
    let parts: Vec<_> = rows
        .iter()
        .map(|m| (&m.remote_field, &m.target_kind, &m.target, &m.transforms, &m.value_mappings, m.create_only))
        .collect();
    serde_json::to_vec(&parts).expect("serialises")
}
