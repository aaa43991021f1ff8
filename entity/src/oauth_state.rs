//! A `state` handed out when an admin starts connecting an integration over OAuth2: bound to the
//! integration, the mode, the admin and the remote's origin; single use (`used_at`), expiring. Only its
//! SHA-256 is stored.

use crate::enums::IntegrationMode;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub user_id: Uuid,
    pub mode: IntegrationMode,
    /// Hex SHA-256 of the state sent to the remote.
    pub state_hash: String,
    /// Scheme, host and port of the integration's base URL when the flow started.
    pub origin: String,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
