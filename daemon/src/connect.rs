//! Building the connector of an integration: its kind, its checked base URL, its decrypted credentials.

use crate::Context;
use crate::connectors::oauth_tokens::TokenStore;
use crate::connectors::{self, Connector, ConnectorConfig, ConnectorError};
use koppel_entity::enums::IntegrationMode;
use koppel_entity::integration;

/// The connector of an integration for a mode, with its decrypted credentials.
pub async fn connector_for(
    ctx: &Context,
    integration: &integration::Model,
    mode: IntegrationMode,
) -> Result<Box<dyn Connector>, ConnectorError> {
    let spec = connectors::kind(&integration.kind)
        .ok_or_else(|| ConnectorError::Configuration(format!("unknown kind {}", integration.kind)))?;
    let base_url = crate::net::check_base_url(&integration.base_url, ctx.limits.allow_private_remotes)
        .map_err(|e| ConnectorError::Configuration(format!("the base URL {e}")))?;
    let credentials = crate::credentials::decrypted(&ctx.db, &ctx.master_key, integration, mode).await?;
    for required in spec.credentials.iter().filter(|c| c.required) {
        if !credentials.contains_key(required.name) {
            return Err(ConnectorError::Configuration(format!(
                "{} is not set for the {} mode",
                required.label,
                mode.as_str()
            )));
        }
    }
    (spec.connect)(ConnectorConfig {
        base_url,
        settings: integration.settings.clone(),
        credentials,
        http: ctx.http.clone(),
        tokens: TokenStore::new(ctx.db.clone(), ctx.master_key.clone(), integration, mode),
        shared: ctx.shared.of(integration.id),
    })
}
