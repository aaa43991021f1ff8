//! Where a pass goes on from: the cursor stored per integration and entity in `sync_states` — a date of
//! Koppel's (SnelStart's modification times), or a remote's own cursors ([`FeedCursors`], Exact Online's
//! Sync API `Timestamp`s of its changes and of its deletion feed). A change of an entity's field mappings
//! makes its next pass read everything again ([`read_all_again`]).

use crate::error::EngineResult;
use chrono::{DateTime, Utc};
use koppel_entity::enums::LinkedEntity;
use koppel_entity::{IntegrationOwned, integration, sync_state};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set};
use uuid::Uuid;

/// The cursors of a remote with a cursor of its own and a deletion feed (Exact Online's Timestamps),
/// stored as JSON in `sync_states.cursor`: `{"changes": …, "deleted": …}`.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(super) struct FeedCursors {
    /// After the last change read.
    pub changes: Option<String>,
    /// After the last deletion read (and applied, or nothing to apply).
    pub deleted: Option<String>,
}

impl FeedCursors {
    /// The stored cursors; none (from the beginning) when nothing or something else is stored.
    pub(super) fn parse(stored: Option<&str>) -> Self {
        stored.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
    }

    pub(super) fn text(&self) -> String {
        serde_json::to_string(self).expect("cursors serialise")
    }
}

/// Where the incremental pass of `entity` goes on from.
pub(super) async fn cursor_of(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
) -> EngineResult<Option<DateTime<Utc>>> {
    let text = cursor_text_of(db, integration, entity).await?;
    Ok(text.and_then(|c| DateTime::parse_from_rfc3339(&c).ok()).map(|c| c.to_utc()))
}

/// The stored cursor as it is: a date (SnelStart) or the remote's own cursors (Exact Online's).
pub(super) async fn cursor_text_of(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
) -> EngineResult<Option<String>> {
    let state = sync_state::Entity::find_owned(integration.account_id, integration.id)
        .filter(sync_state::Column::Entity.eq(entity))
        .one(db)
        .await?;
    Ok(state.and_then(|s| s.cursor))
}

pub(super) async fn save_cursor(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
    cursor: DateTime<Utc>,
) -> EngineResult<()> {
    let text = cursor.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    save_cursor_text(db, integration, entity, text).await
}

pub(super) async fn save_cursor_text(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
    text: String,
) -> EngineResult<()> {
    let state = sync_state::Entity::find_owned(integration.account_id, integration.id)
        .filter(sync_state::Column::Entity.eq(entity))
        .one(db)
        .await?;
    match state {
        Some(state) => {
            let mut state: sync_state::ActiveModel = state.into();
            state.cursor = Set(Some(text));
            state.update(db).await?;
        }
        None => {
            sync_state::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(integration.account_id),
                integration_id: Set(integration.id),
                entity: Set(entity),
                last_checked_at: Set(None),
                last_synced_at: Set(None),
                cursor: Set(Some(text)),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Makes the next pass of `entity` read every record again (from the start date or the remote's first
/// cursor) instead of what changed since the last: its mappings changed. A deletion feed's cursor stays.
pub async fn read_all_again(
    db: &impl ConnectionTrait,
    integration: &integration::Model,
    entity: LinkedEntity,
) -> EngineResult<()> {
    let Some(text) = cursor_text_of(db, integration, entity).await? else {
        return Ok(());
    };
    let kept = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(mut cursors)) => {
            cursors.remove("changes");
            Some(serde_json::Value::Object(cursors).to_string())
        }
        _ => None,
    };
    sync_state::Entity::update_owned(integration.account_id, integration.id)
        .col_expr(sync_state::Column::Cursor, Expr::value(kept))
        .filter(sync_state::Column::Entity.eq(entity))
        .exec(db)
        .await?;
    Ok(())
}
