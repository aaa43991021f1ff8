//! Extra fields: account-defined fields on products, organisations and customers (e.g. a CIRE ID).

mod values;

pub use values::{DefinitionLoader, ExtraFieldValue, ExtraFieldValueInput, to_values, validate_values, visible_values};

use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids};
use crate::validate;
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use koppel_entity::{Scoped, enums, extra_field};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, ModelTrait, QueryFilter, Set};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::ExtraFieldEntity")]
pub enum ExtraFieldEntity {
    Product,
    Organisation,
    Customer,
    Invoice,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::ExtraFieldType")]
pub enum ExtraFieldType {
    Text,
    Textarea,
    Select,
}

#[derive(SimpleObject, Clone)]
pub struct ExtraField {
    pub id: ID,
    pub entity: ExtraFieldEntity,
    /// The machine key values are stored under.
    pub key: String,
    pub label: String,
    pub field_type: ExtraFieldType,
    /// The allowed values of a select field.
    pub options: Vec<String>,
    /// Hidden fields are kept but not shown to agents.
    pub hidden: bool,
}

impl From<extra_field::Model> for ExtraField {
    fn from(m: extra_field::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            entity: m.entity.into(),
            key: m.key,
            label: m.label,
            field_type: m.field_type.into(),
            options: serde_json::from_value(m.options).unwrap_or_default(),
            hidden: m.hidden,
        }
    }
}

#[derive(InputObject)]
pub struct CreateExtraFieldInput {
    pub entity: ExtraFieldEntity,
    pub key: String,
    pub label: String,
    pub field_type: ExtraFieldType,
    #[graphql(default)]
    pub options: Vec<String>,
    #[graphql(default)]
    pub hidden: bool,
}

#[derive(InputObject)]
pub struct UpdateExtraFieldInput {
    pub id: ID,
    pub label: Option<String>,
    pub options: Option<Vec<String>>,
    pub hidden: Option<bool>,
}

#[derive(InputObject)]
pub struct DeleteExtraFieldInput {
    pub id: ID,
}

crate::payload!(CreateExtraFieldPayload { extra_field: ExtraField });
crate::payload!(UpdateExtraFieldPayload { extra_field: ExtraField });
crate::payload!(DeleteExtraFieldPayload { deleted_id: ID });

#[derive(Default)]
pub struct ExtraFieldQuery;

#[Object]
impl ExtraFieldQuery {
    /// The account's extra-field definitions, optionally for one kind of record.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn extra_fields(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        entity: Option<ExtraFieldEntity>,
    ) -> ApiResult<Connection<String, ExtraField>> {
        let principal = ctx.principal()?.require_agent()?;
        let mut select = extra_field::Entity::find_in(principal.account_id);
        if let Some(entity) = entity {
            select = select.filter(extra_field::Column::Entity.eq(enums::ExtraFieldEntity::from(entity)));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, ExtraField::from).await
    }
}

fn check_options(problems: &mut Problems, field_type: enums::ExtraFieldType, options: &[String]) -> Vec<String> {
    let options: Vec<String> = options.iter().map(|o| o.trim().to_owned()).collect();
    if field_type == enums::ExtraFieldType::Select && options.is_empty() {
        problems.add("options", UserErrorCode::Required, "a select field needs at least one option");
    }
    if field_type != enums::ExtraFieldType::Select && !options.is_empty() {
        problems.add("options", UserErrorCode::Invalid, "only select fields have options");
    }
    for (i, option) in options.iter().enumerate() {
        if option.is_empty() || option.chars().count() > 200 {
            problems.add(format!("options.{i}"), UserErrorCode::Invalid, "an option must be 1–200 characters");
        }
        if options[..i].contains(option) {
            problems.add(format!("options.{i}"), UserErrorCode::Taken, format!("option {option} is listed twice"));
        }
    }
    options
}

async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<extra_field::Model> {
    extra_field::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("extra field"))
}

#[derive(Default)]
pub struct ExtraFieldMutation;

#[Object]
impl ExtraFieldMutation {
    /// Defines an extra field (admins only).
    async fn create_extra_field(
        &self,
        ctx: &Context<'_>,
        input: CreateExtraFieldInput,
    ) -> ApiResult<CreateExtraFieldPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let result = async {
            let mut problems = Problems::new();
            let key = validate::key(&mut problems, "key", &input.key);
            let label = validate::required(&mut problems, "label", &input.label, 200);
            let field_type = enums::ExtraFieldType::from(input.field_type);
            let entity = enums::ExtraFieldEntity::from(input.entity);
            let options = check_options(&mut problems, field_type, &input.options);
            let taken = extra_field::Entity::find_in(principal.account_id)
                .filter(extra_field::Column::Entity.eq(entity))
                .filter(extra_field::Column::Key.eq(&key))
                .one(db)
                .await?;
            if taken.is_some() {
                problems.add("key", UserErrorCode::Taken, format!("{key} is already defined for this entity"));
            }
            problems.into_result()?;
            let model = extra_field::ActiveModel {
                id: Set(Uuid::now_v7()),
                account_id: Set(principal.account_id),
                entity: Set(entity),
                key: Set(key),
                label: Set(label),
                field_type: Set(field_type),
                options: Set(serde_json::json!(options)),
                hidden: Set(input.hidden),
                created_at: Set(Utc::now()),
            }
            .insert(db)
            .await?;
            Ok(model.into())
        }
        .await;
        CreateExtraFieldPayload::from_result(result)
    }

    /// Changes an extra field's label, options or visibility (admins only). Its key and type stay.
    async fn update_extra_field(
        &self,
        ctx: &Context<'_>,
        input: UpdateExtraFieldInput,
    ) -> ApiResult<UpdateExtraFieldPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let existing = find(db, principal.account_id, ids::parse(&input.id, "extra field")?).await?;
        let result = async {
            let mut problems = Problems::new();
            let label = input.label.as_deref().map(|l| validate::required(&mut problems, "label", l, 200));
            let options = input.options.as_deref().map(|o| check_options(&mut problems, existing.field_type, o));
            problems.into_result()?;
            let mut active: extra_field::ActiveModel = existing.into();
            if let Some(label) = label {
                active.label = Set(label);
            }
            if let Some(options) = options {
                active.options = Set(serde_json::json!(options));
            }
            if let Some(hidden) = input.hidden {
                active.hidden = Set(hidden);
            }
            Ok(active.update(db).await?.into())
        }
        .await;
        UpdateExtraFieldPayload::from_result(result)
    }

    /// Deletes an extra-field definition (admins only); values already stored are kept but no longer shown.
    async fn delete_extra_field(
        &self,
        ctx: &Context<'_>,
        input: DeleteExtraFieldInput,
    ) -> ApiResult<DeleteExtraFieldPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let existing = find(ctx.db(), principal.account_id, ids::parse(&input.id, "extra field")?).await?;
        let id = ids::to_id(existing.id);
        existing.delete(ctx.db()).await?;
        DeleteExtraFieldPayload::from_result(Ok(id))
    }
}
