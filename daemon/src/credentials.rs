//! Integration credentials at rest: each value encrypted under the master key ([`crate::crypto`]) with
//! the integration, mode and field as additional data, so that a ciphertext copied to another row or
//! field does not decrypt. Only the last four characters of long values are kept in the clear.

use crate::connectors::ConnectorError;
use crate::crypto::MasterKey;
use chrono::Utc;
use koppel_entity::enums::IntegrationMode;
use koppel_entity::{IntegrationOwned, integration, integration_credential};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, QueryFilter, Set};
use std::collections::HashMap;
use uuid::Uuid;

fn additional_data(integration_id: Uuid, mode: IntegrationMode, field: &str) -> String {
    format!("integration/{integration_id}/{}/{field}", mode.as_str())
}

/// Replaces one credential of a mode; an empty value removes it. Runs in the caller's transaction.
pub async fn replace(
    db: &impl ConnectionTrait,
    key: &MasterKey,
    integration: &integration::Model,
    mode: IntegrationMode,
    field: &str,
    value: &str,
) -> Result<(), DbErr> {
    integration_credential::Entity::delete_owned(integration.account_id, integration.id)
        .filter(integration_credential::Column::Mode.eq(mode))
        .filter(integration_credential::Column::Field.eq(field))
        .exec(db)
        .await?;
    if value.is_empty() {
        return Ok(());
    }
    // Short values would be shown almost whole; they only get a mask.
    let last_four: String = if value.chars().count() >= 12 {
        value.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
    } else {
        String::new()
    };
    integration_credential::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(integration.account_id),
        integration_id: Set(integration.id),
        mode: Set(mode),
        field: Set(field.to_owned()),
        ciphertext: Set(key.encrypt(value, &additional_data(integration.id, mode, field))),
        last_four: Set(last_four),
        updated_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Removes every credential of an integration, e.g. when its base URL moves to another host.
pub async fn remove_all(db: &impl ConnectionTrait, integration: &integration::Model) -> Result<(), DbErr> {
    integration_credential::Entity::delete_owned(integration.account_id, integration.id).exec(db).await?;
    // The OAuth tokens too: they were given by the old remote.
    koppel_entity::oauth_connection::Entity::delete_owned(integration.account_id, integration.id).exec(db).await?;
    Ok(())
}

/// The decrypted credentials of a mode, by field.
pub async fn decrypted(
    db: &impl ConnectionTrait,
    key: &MasterKey,
    integration: &integration::Model,
    mode: IntegrationMode,
) -> Result<HashMap<String, String>, ConnectorError> {
    let rows = integration_credential::Entity::find_owned(integration.account_id, integration.id)
        .filter(integration_credential::Column::Mode.eq(mode))
        .all(db)
        .await
        .map_err(|error| {
            tracing::error!(%error, integration = %integration.id, "cannot read the credentials");
            ConnectorError::Configuration("the stored credentials cannot be read".into())
        })?;
    let mut credentials = HashMap::new();
    for row in rows {
        let plain = key.decrypt(&row.ciphertext, &additional_data(integration.id, mode, &row.field)).map_err(|_| {
            ConnectorError::Configuration(format!("{} cannot be decrypted with the master key", row.field))
        })?;
        credentials.insert(row.field, plain);
    }
    Ok(credentials)
}
