//! A question asked in a flow or for a product, answered on every sale it applies to.

use crate::enums::QuestionType;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "questions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub flow_id: Option<Uuid>,
    pub product_id: Option<Uuid>,
    pub key: String,
    pub label: String,
    pub question_type: QuestionType,
    pub required: bool,
    /// `{minLength, maxLength, min, max, pattern}`, each optional.
    pub validations: Json,
    /// A JSON array of `{questionKey, equals}`: the question applies only when all hold.
    pub conditions: Json,
    /// A JSON array of `{value, label}` for select questions.
    pub options: Json,
    pub position: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
