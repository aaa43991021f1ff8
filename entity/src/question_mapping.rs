//! A remote question mapped to a local question, with its answer options mapped.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "question_mappings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub integration_id: Uuid,
    /// The remote question's key.
    pub remote_question: String,
    pub local_question_id: Uuid,
    /// A JSON array of `{remote, local}` option values.
    pub option_mappings: Json,
    /// Why sales may fail at the remote although the mapping is valid: a JSON array of messages.
    pub warnings: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
