//! Remote links: how a local record knows its remote twin in one integration.

use chrono::{DateTime, Utc};
use koppel_entity::enums::LinkedEntity;
use koppel_entity::{IntegrationOwned, integration, remote_link};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, DeleteMany, QueryFilter, Select, Set, UpdateMany,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The links of one entity of an integration.
pub fn of(integration: &integration::Model, entity: LinkedEntity) -> Select<remote_link::Entity> {
    remote_link::Entity::find_owned(integration.account_id, integration.id)
        .filter(remote_link::Column::Entity.eq(entity))
}

/// An update of the links of one entity of an integration.
pub fn update_of(integration: &integration::Model, entity: LinkedEntity) -> UpdateMany<remote_link::Entity> {
    remote_link::Entity::update_owned(integration.account_id, integration.id)
        .filter(remote_link::Column::Entity.eq(entity))
}

/// A delete of the links of one entity of an integration.
pub fn delete_of(integration: &integration::Model, entity: LinkedEntity) -> DeleteMany<remote_link::Entity> {
    remote_link::Entity::delete_owned(integration.account_id, integration.id)
        .filter(remote_link::Column::Entity.eq(entity))
}

/// Local ids by remote id, for the given remote ids.
pub async fn local_ids(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
    remote_ids: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, Uuid>, DbErr> {
    Ok(of(integration, entity)
        .filter(remote_link::Column::RemoteId.is_in(remote_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|l| (l.remote_id, l.local_id))
        .collect())
}

/// One record's link as it should be after a write.
pub struct LinkWrite<'a> {
    pub entity: LinkedEntity,
    pub local_id: Uuid,
    pub remote_id: &'a str,
    pub content_hash: &'a str,
}

/// Writes a link: refreshes `existing`, or creates one (replacing a stale link of the same local record).
pub async fn upsert(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    link: LinkWrite<'_>,
    existing: Option<remote_link::Model>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    match existing {
        Some(found) => {
            let mut active: remote_link::ActiveModel = found.into();
            active.local_id = Set(link.local_id);
            active.content_hash = Set(link.content_hash.into());
            active.last_seen_at = Set(Some(now));
            active.last_synced_at = Set(Some(now));
            active.update(db).await?;
        }
        None => {
            remote_link::Entity::delete_owned(integration.account_id, integration.id)
                .filter(remote_link::Column::Entity.eq(link.entity))
                .filter(remote_link::Column::LocalId.eq(link.local_id))
                .exec(db)
                .await?;
            remote_link::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(integration.account_id),
                integration_id: Set(integration.id),
                entity: Set(link.entity),
                local_id: Set(link.local_id),
                remote_id: Set(link.remote_id.into()),
                content_hash: Set(link.content_hash.into()),
                manual: Set(false),
                deactivated_by_sync: Set(false),
                last_seen_at: Set(Some(now)),
                last_synced_at: Set(Some(now)),
                created_at: Set(now),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}
