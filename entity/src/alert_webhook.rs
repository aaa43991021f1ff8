//! An account's alert webhook: where alerts are POSTed, signed with a secret stored encrypted.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Unique: one webhook per account.
    pub account_id: Uuid,
    pub url: String,
    /// Base64 of nonce and AES-256-GCM ciphertext of the `whsec_…` signing secret, bound to the account.
    pub secret_ciphertext: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub last_delivered_at: Option<DateTimeUtc>,
    /// Why the last delivery failed; cleared by the next successful one.
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
