//! The OAuth2 tokens of an integration for one mode (Exact Online): encrypted together as one JSON
//! document, rotated by compare-and-swap on `generation`.

use crate::enums::IntegrationMode;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    pub mode: IntegrationMode,
    /// The tokens (access token, its expiry, refresh token), encrypted under the master key.
    pub ciphertext: String,
    /// Grows by one at every stored rotation; writers compare and swap on it.
    pub generation: i64,
    /// False once the remote refused the refresh token: the admin must connect again.
    pub connected: bool,
    /// The remote's administration in use (Exact's current division).
    pub division: Option<String>,
    /// Who connected it, as the remote says.
    pub identity: Option<String>,
    /// Why it is no longer connected.
    pub problem: Option<String>,
    pub connected_at: DateTimeUtc,
    /// Until when the stored refresh token is known to be valid.
    pub refresh_valid_until: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
