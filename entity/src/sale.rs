//! A sale: a product sold to a customer by an agent, with the answers to its questions.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "sales")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub agent_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub product_id: Uuid,
    pub flow_id: Option<Uuid>,
    pub status_id: Uuid,
    /// Answers by question key.
    pub answers: Json,
    pub opt_in: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub status_changed_at: DateTimeUtc,
    /// The key a provider-surface client sent, so that a retried submission returns the same sale.
    pub idempotency_key: Option<String>,
    /// SHA-256 (hex) of the canonical form of what was submitted with `idempotency_key`, so that the key
    /// sent again with a different sale is refused. `None` for sales made without a key, and for those
    /// submitted before the hash was kept.
    pub idempotency_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
