//! Questions: asked in a flow or for a product, with a type, validations, conditions and answer options.
//! Sales are validated against them (see `sales::answers`).

use super::{Flow, Product};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, loaders};
use crate::validate;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use koppel_entity::{Scoped, enums, flow, product, question};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, ModelTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::QuestionType")]
pub enum QuestionType {
    Text,
    Number,
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    Email,
    /// One of the options.
    Select,
    /// A list of options.
    Multiselect,
}

/// Limits an answer must respect; each is optional.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[graphql(input_name = "QuestionValidationsInput")]
#[serde(rename_all = "camelCase")]
pub struct QuestionValidations {
    pub min_length: Option<i32>,
    pub max_length: Option<i32>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The question applies only when the answer to `questionKey` equals `equals`.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[graphql(input_name = "QuestionConditionInput")]
#[serde(rename_all = "camelCase")]
pub struct QuestionCondition {
    pub question_key: String,
    pub equals: String,
}

#[derive(SimpleObject, InputObject, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[graphql(input_name = "AnswerOptionInput")]
pub struct AnswerOption {
    pub value: String,
    pub label: String,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Question {
    pub id: ID,
    pub key: String,
    pub label: String,
    pub question_type: QuestionType,
    pub required: bool,
    pub validations: QuestionValidations,
    pub conditions: Vec<QuestionCondition>,
    pub options: Vec<AnswerOption>,
    pub position: i32,
    #[graphql(skip)]
    pub flow_id: Option<Uuid>,
    #[graphql(skip)]
    pub product_id: Option<Uuid>,
}

impl From<question::Model> for Question {
    fn from(m: question::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            key: m.key,
            label: m.label,
            question_type: m.question_type.into(),
            required: m.required,
            validations: serde_json::from_value(m.validations).unwrap_or_default(),
            conditions: serde_json::from_value(m.conditions).unwrap_or_default(),
            options: serde_json::from_value(m.options).unwrap_or_default(),
            position: m.position,
            flow_id: m.flow_id,
            product_id: m.product_id,
        }
    }
}

#[ComplexObject]
impl Question {
    /// The flow that asks it; through the provider surface only when that flow was granted.
    async fn flow(&self, ctx: &Context<'_>) -> ApiResult<Option<Flow>> {
        let Some(id) = self.flow_id else { return Ok(None) };
        let principal = ctx.principal()?;
        if principal.limited_to_grants()
            && !crate::visibility::visible(ctx, crate::visibility::CatalogueItem::Flow(id)).await?
        {
            return Ok(None);
        }
        Ok(loaders::load::<flow::Entity>(ctx, id).await?.map(Into::into))
    }

    /// The product that asks it; through the provider surface only when that product was granted.
    async fn product(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        let Some(id) = self.product_id else { return Ok(None) };
        let principal = ctx.principal()?;
        if principal.limited_to_grants()
            && !crate::visibility::visible(ctx, crate::visibility::CatalogueItem::Product(id)).await?
        {
            return Ok(None);
        }
        Ok(loaders::load::<product::Entity>(ctx, id).await?.map(Into::into))
    }
}

#[derive(InputObject)]
pub struct CreateQuestionInput {
    /// The flow that asks it; give a flow, a product or both.
    pub flow_id: Option<ID>,
    /// The product that asks it.
    pub product_id: Option<ID>,
    pub key: String,
    pub label: String,
    pub question_type: QuestionType,
    #[graphql(default)]
    pub required: bool,
    pub validations: Option<QuestionValidations>,
    #[graphql(default)]
    pub conditions: Vec<QuestionCondition>,
    #[graphql(default)]
    pub options: Vec<AnswerOption>,
    #[graphql(default)]
    pub position: i32,
}

#[derive(InputObject)]
pub struct UpdateQuestionInput {
    pub id: ID,
    pub label: Option<String>,
    pub required: Option<bool>,
    pub validations: Option<QuestionValidations>,
    pub conditions: Option<Vec<QuestionCondition>>,
    pub options: Option<Vec<AnswerOption>>,
    pub position: Option<i32>,
}

#[derive(InputObject)]
pub struct DeleteQuestionInput {
    pub id: ID,
}

crate::payload!(CreateQuestionPayload { question: Question });
crate::payload!(UpdateQuestionPayload { question: Question });
crate::payload!(DeleteQuestionPayload { deleted_id: ID });

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<question::Model> {
    question::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("question"))
}

fn check_validations(problems: &mut Problems, v: &QuestionValidations) {
    if v.min_length.is_some_and(|n| n < 0) || v.max_length.is_some_and(|n| n < 0) {
        problems.add("validations", UserErrorCode::Invalid, "lengths cannot be negative");
    }
    if let (Some(min), Some(max)) = (v.min_length, v.max_length)
        && min > max
    {
        problems.add("validations.minLength", UserErrorCode::Invalid, "minLength is larger than maxLength");
    }
    if let (Some(min), Some(max)) = (v.min, v.max)
        && min > max
    {
        problems.add("validations.min", UserErrorCode::Invalid, "min is larger than max");
    }
}

fn check_options(problems: &mut Problems, question_type: enums::QuestionType, options: &[AnswerOption]) {
    let selectable = matches!(question_type, enums::QuestionType::Select | enums::QuestionType::Multiselect);
    if selectable && options.is_empty() {
        problems.add("options", UserErrorCode::Required, "a select question needs at least one option");
    }
    if !selectable && !options.is_empty() {
        problems.add("options", UserErrorCode::Invalid, "only select questions have options");
    }
    for (i, option) in options.iter().enumerate() {
        if option.value.trim().is_empty() || option.value.chars().count() > 200 {
            problems.add(
                format!("options.{i}.value"),
                UserErrorCode::Invalid,
                "an option value must be 1–200 characters",
            );
        }
        if options[..i].iter().any(|o| o.value == option.value) {
            problems.add(
                format!("options.{i}.value"),
                UserErrorCode::Taken,
                format!("option {} is listed twice", option.value),
            );
        }
    }
}

async fn check_conditions(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    own_key: &str,
    conditions: &[QuestionCondition],
    problems: &mut Problems,
) -> ApiResult<()> {
    for (i, condition) in conditions.iter().enumerate() {
        let exists = condition.question_key != own_key
            && question::Entity::find_in(account_id)
                .filter(question::Column::Key.eq(&condition.question_key))
                .one(db)
                .await?
                .is_some();
        if !exists {
            problems.add(
                format!("conditions.{i}.questionKey"),
                UserErrorCode::NotFound,
                format!("there is no other question {}", condition.question_key),
            );
        }
    }
    Ok(())
}

#[derive(Default)]
pub struct QuestionQuery;

#[Object]
impl QuestionQuery {
    /// Questions, optionally of one flow or one product.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn questions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        flow_id: Option<ID>,
        product_id: Option<ID>,
    ) -> ApiResult<Connection<String, Question>> {
        let principal = ctx.principal()?.require_agent()?;
        let mut select = question::Entity::find_in(principal.account_id);
        if let Some(id) = &flow_id {
            select = select.filter(question::Column::FlowId.eq(ids::parse(id, "flow")?));
        }
        if let Some(id) = &product_id {
            select = select.filter(question::Column::ProductId.eq(ids::parse(id, "product")?));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Question::from).await
    }

    async fn question(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Question> {
        let principal = ctx.principal()?.require_agent()?;
        find(ctx.db(), principal.account_id, ids::parse(&id, "question")?).await.map(Into::into)
    }
}

#[derive(Default)]
pub struct QuestionMutation;

#[Object]
impl QuestionMutation {
    /// Adds a question to a flow or a product (admins only).
    async fn create_question(&self, ctx: &Context<'_>, input: CreateQuestionInput) -> ApiResult<CreateQuestionPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let account_id = principal.account_id;
        let result = async {
            let mut problems = Problems::new();
            let key = validate::key(&mut problems, "key", &input.key);
            let label = validate::required(&mut problems, "label", &input.label, 500);
            let question_type = enums::QuestionType::from(input.question_type);
            let validations = input.validations.clone().unwrap_or_default();
            check_validations(&mut problems, &validations);
            check_options(&mut problems, question_type, &input.options);
            check_conditions(db, account_id, &key, &input.conditions, &mut problems).await?;
            if input.flow_id.is_none() && input.product_id.is_none() {
                problems.add("flowId", UserErrorCode::Required, "give the flow or the product that asks this question");
            }
            let mut flow_id = None;
            if let Some(id) = &input.flow_id
                && let Some(uuid) = ids::parse_field(id, "flowId", &mut problems)
            {
                match flow::Entity::find_by_id_in(account_id, uuid).one(db).await? {
                    Some(flow) => flow_id = Some(flow.id),
                    None => problems.add("flowId", UserErrorCode::NotFound, format!("flow {uuid} does not exist")),
                }
            }
            let mut product_id = None;
            if let Some(id) = &input.product_id
                && let Some(uuid) = ids::parse_field(id, "productId", &mut problems)
            {
                match product::Entity::find_by_id_in(account_id, uuid).one(db).await? {
                    Some(product) => product_id = Some(product.id),
                    None => {
                        problems.add("productId", UserErrorCode::NotFound, format!("product {uuid} does not exist"))
                    }
                }
            }
            if question::Entity::find_in(account_id).filter(question::Column::Key.eq(&key)).one(db).await?.is_some() {
                problems.add("key", UserErrorCode::Taken, format!("a question with key {key} already exists"));
            }
            problems.into_result()?;
            let now = Utc::now();
            let model = question::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(account_id),
                flow_id: Set(flow_id),
                product_id: Set(product_id),
                key: Set(key),
                label: Set(label),
                question_type: Set(question_type),
                required: Set(input.required),
                validations: Set(serde_json::to_value(&validations).expect("serialises")),
                conditions: Set(serde_json::to_value(&input.conditions).expect("serialises")),
                options: Set(serde_json::to_value(&input.options).expect("serialises")),
                position: Set(input.position),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(db)
            .await?;
            Ok(model.into())
        }
        .await;
        CreateQuestionPayload::from_result(result)
    }

    /// Changes a question (admins only). Its key, type, flow and product stay.
    async fn update_question(&self, ctx: &Context<'_>, input: UpdateQuestionInput) -> ApiResult<UpdateQuestionPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let existing = find(db, principal.account_id, ids::parse(&input.id, "question")?).await?;
        let result = async {
            let mut problems = Problems::new();
            let mut active: question::ActiveModel = existing.clone().into();
            if let Some(label) = &input.label {
                active.label = Set(validate::required(&mut problems, "label", label, 500));
            }
            if let Some(required) = input.required {
                active.required = Set(required);
            }
            if let Some(validations) = &input.validations {
                check_validations(&mut problems, validations);
                active.validations = Set(serde_json::to_value(validations).expect("serialises"));
            }
            if let Some(options) = &input.options {
                check_options(&mut problems, existing.question_type, options);
                active.options = Set(serde_json::to_value(options).expect("serialises"));
            }
            if let Some(conditions) = &input.conditions {
                check_conditions(db, principal.account_id, &existing.key, conditions, &mut problems).await?;
                active.conditions = Set(serde_json::to_value(conditions).expect("serialises"));
            }
            if let Some(position) = input.position {
                active.position = Set(position);
            }
            problems.into_result()?;
            active.updated_at = Set(Utc::now());
            Ok(active.update(db).await?.into())
        }
        .await;
        UpdateQuestionPayload::from_result(result)
    }

    /// Deletes a question (admins only). Answers already given stay on their sales.
    async fn delete_question(&self, ctx: &Context<'_>, input: DeleteQuestionInput) -> ApiResult<DeleteQuestionPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let existing = find(ctx.db(), principal.account_id, ids::parse(&input.id, "question")?).await?;
        let id = ids::to_id(existing.id);
        existing.delete(ctx.db()).await?;
        DeleteQuestionPayload::from_result(Ok(id))
    }
}
