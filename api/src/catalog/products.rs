//! Products with tariffs, extra-field values and an incentive. Only active, authorised products can be sold.

use super::{Question, Supplier};
use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use crate::extra_fields::{ExtraFieldValue, ExtraFieldValueInput, validate_values, visible_values};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, loaders, search};
use crate::validate;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::enums::ExtraFieldEntity;
use koppel_entity::{Scoped, product, question, supplier};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::ProductType")]
pub enum ProductType {
    Simple,
    Virtual,
    Configurable,
    Variant,
}

/// A price component, e.g. the delivery tariff per kWh.
#[derive(SimpleObject, InputObject, Serialize, Deserialize, Clone, Debug)]
#[graphql(input_name = "TariffInput")]
#[serde(rename_all = "camelCase")]
pub struct Tariff {
    pub code: String,
    pub label: String,
    /// A decimal number as a string, e.g. `0.23451`, so that no precision is lost.
    pub amount: String,
    /// e.g. `EUR/kWh`, `EUR/month`.
    pub unit: String,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Product {
    pub id: ID,
    pub sku: String,
    pub name: String,
    pub description: Option<String>,
    pub product_type: ProductType,
    pub category: Option<String>,
    pub tariffs: Vec<Tariff>,
    #[graphql(skip)]
    pub stored_extra_fields: serde_json::Value,
    /// A reward that travels with each sale of this product.
    pub incentive: Option<String>,
    pub active: bool,
    /// Products must be authorised before they can be sold.
    pub authorised: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
    #[graphql(skip)]
    pub supplier_id: Option<Uuid>,
    #[graphql(skip)]
    pub parent_id: Option<Uuid>,
}

impl From<product::Model> for Product {
    fn from(m: product::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            sku: m.sku,
            name: m.name,
            description: m.description,
            product_type: m.product_type.into(),
            category: m.category,
            tariffs: serde_json::from_value(m.tariffs).unwrap_or_default(),
            stored_extra_fields: m.extra_fields.clone(),
            incentive: m.incentive,
            active: m.active,
            authorised: m.authorised,
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            account_id: m.account_id,
            supplier_id: m.supplier_id,
            parent_id: m.parent_id,
        }
    }
}

#[ComplexObject]
impl Product {
    /// The extra-field values; hidden fields only for admins.
    async fn extra_fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExtraFieldValue>> {
        visible_values(ctx, koppel_entity::enums::ExtraFieldEntity::Product, &self.stored_extra_fields).await
    }

    async fn supplier(&self, ctx: &Context<'_>) -> ApiResult<Option<Supplier>> {
        let Some(id) = self.supplier_id else { return Ok(None) };
        Ok(loaders::load::<supplier::Entity>(ctx, id).await?.map(Into::into))
    }

    /// The configurable product a variant belongs to (not shown through the provider surface, where it
    /// may not have been granted).
    async fn parent(&self, ctx: &Context<'_>) -> ApiResult<Option<Product>> {
        let Some(id) = self.parent_id else { return Ok(None) };
        if ctx.principal()?.limited_to_grants() {
            return Ok(None);
        }
        Ok(loaders::load::<product::Entity>(ctx, id).await?.map(Into::into))
    }

    /// The questions asked when this product is sold (besides those of the flow).
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn questions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Question>> {
        let select = question::Entity::find_in(self.account_id).filter(question::Column::ProductId.eq(self.uuid));
        paginate(ctx.db(), select, Page::new(first, after)?, Question::from).await
    }
}

#[derive(InputObject, Default)]
pub struct ProductFilter {
    pub active: Option<bool>,
    pub authorised: Option<bool>,
    pub supplier_id: Option<ID>,
    /// Matches part of the name or the SKU.
    pub search: Option<String>,
}

/// The fields of a product; on update, fields left out keep their value.
#[derive(InputObject, Default)]
pub struct ProductFields {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub product_type: Option<ProductType>,
    pub category: Option<String>,
    pub supplier_id: Option<ID>,
    pub parent_id: Option<ID>,
    pub tariffs: Option<Vec<Tariff>>,
    /// Values to set; an empty value clears that field.
    pub extra_fields: Option<Vec<ExtraFieldValueInput>>,
    pub incentive: Option<String>,
    pub active: Option<bool>,
}

#[derive(InputObject)]
pub struct CreateProductInput {
    pub product: ProductFields,
}

#[derive(InputObject)]
pub struct UpdateProductInput {
    pub id: ID,
    pub product: ProductFields,
}

#[derive(InputObject)]
pub struct SetProductAuthorisedInput {
    pub id: ID,
    pub authorised: bool,
}

crate::payload!(CreateProductPayload { product: Product });
crate::payload!(UpdateProductPayload { product: Product });
crate::payload!(SetProductAuthorisedPayload { product: Product });

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<product::Model> {
    product::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("product"))
}

fn check_tariffs(problems: &mut Problems, tariffs: &[Tariff]) -> Vec<Tariff> {
    let mut clean = Vec::with_capacity(tariffs.len());
    for (i, tariff) in tariffs.iter().enumerate() {
        let field = format!("product.tariffs.{i}");
        let code = validate::required(problems, &format!("{field}.code"), &tariff.code, 64);
        let label = validate::required(problems, &format!("{field}.label"), &tariff.label, 200);
        let amount = tariff.amount.trim().to_owned();
        if !validate::is_decimal(&amount) {
            problems.add(
                format!("{field}.amount"),
                UserErrorCode::Invalid,
                "amount must be a decimal number such as 0.23451",
            );
        }
        let unit = validate::required(problems, &format!("{field}.unit"), &tariff.unit, 32);
        if clean.iter().any(|t: &Tariff| t.code == code) {
            problems.add(format!("{field}.code"), UserErrorCode::Taken, format!("tariff {code} is listed twice"));
        }
        clean.push(Tariff { code, label, amount, unit });
    }
    clean
}

/// Checks `fields` and applies them to `active`; every problem is reported at once.
async fn apply(
    db: &impl ConnectionTrait,
    account_id: Uuid,
    fields: &ProductFields,
    active: &mut product::ActiveModel,
    existing: Option<&product::Model>,
) -> ApiResult<()> {
    let creating = existing.is_none();
    let mut problems = Problems::new();
    if creating || fields.sku.is_some() {
        let sku = validate::required(&mut problems, "product.sku", fields.sku.as_deref().unwrap_or(""), 100);
        let mut taken = product::Entity::find_in(account_id).filter(product::Column::Sku.eq(&sku));
        if let Some(existing) = existing {
            taken = taken.filter(product::Column::Id.ne(existing.id));
        }
        if !sku.is_empty() && taken.one(db).await?.is_some() {
            problems.add("product.sku", UserErrorCode::Taken, format!("SKU {sku} is already used"));
        }
        active.sku = Set(sku);
    }
    if creating || fields.name.is_some() {
        active.name = Set(validate::required(&mut problems, "product.name", fields.name.as_deref().unwrap_or(""), 200));
    }
    if fields.description.is_some() {
        active.description =
            Set(validate::optional(&mut problems, "product.description", fields.description.as_deref(), 10_000));
    }
    if let Some(product_type) = fields.product_type {
        active.product_type = Set(product_type.into());
    }
    if fields.category.is_some() {
        active.category = Set(validate::optional(&mut problems, "product.category", fields.category.as_deref(), 100));
    }
    if fields.incentive.is_some() {
        active.incentive =
            Set(validate::optional(&mut problems, "product.incentive", fields.incentive.as_deref(), 200));
    }
    if let Some(flag) = fields.active {
        active.active = Set(flag);
    }
    if let Some(id) = &fields.supplier_id {
        let supplier = match ids::parse_field(id, "product.supplierId", &mut problems) {
            Some(uuid) => supplier::Entity::find_by_id_in(account_id, uuid).one(db).await?,
            None => None,
        };
        match supplier {
            Some(supplier) => active.supplier_id = Set(Some(supplier.id)),
            None if Uuid::parse_str(id.as_str()).is_ok() => problems.add(
                "product.supplierId",
                UserErrorCode::NotFound,
                format!("supplier {} does not exist", id.as_str()),
            ),
            None => {}
        }
    }
    if let Some(id) = &fields.parent_id {
        let parent = match ids::parse_field(id, "product.parentId", &mut problems) {
            Some(uuid) => product::Entity::find_by_id_in(account_id, uuid).one(db).await?,
            None => None,
        };
        match parent {
            Some(parent) if existing.is_some_and(|e| e.id == parent.id) => {
                problems.add("product.parentId", UserErrorCode::Invalid, "a product cannot be its own parent")
            }
            Some(parent) => active.parent_id = Set(Some(parent.id)),
            None if Uuid::parse_str(id.as_str()).is_ok() => problems.add(
                "product.parentId",
                UserErrorCode::NotFound,
                format!("product {} does not exist", id.as_str()),
            ),
            None => {}
        }
    }
    if let Some(tariffs) = &fields.tariffs {
        active.tariffs = Set(serde_json::to_value(check_tariffs(&mut problems, tariffs)).expect("tariffs serialise"));
    }
    if let Some(values) = &fields.extra_fields {
        let current = existing.map_or_else(|| serde_json::json!({}), |e| e.extra_fields.clone());
        let merged = validate_values(
            db,
            account_id,
            ExtraFieldEntity::Product,
            values,
            &current,
            "product.extraFields",
            &mut problems,
        )
        .await?;
        active.extra_fields = Set(merged);
    }
    Ok(problems.into_result()?)
}

#[derive(Default)]
pub struct ProductQuery;

#[Object]
impl ProductQuery {
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ProductFilter>,
    ) -> ApiResult<Connection<String, Product>> {
        let principal = ctx.principal()?.require_agent()?;
        let filter = filter.unwrap_or_default();
        let mut select = product::Entity::find_in(principal.account_id);
        if let Some(flag) = filter.active {
            select = select.filter(product::Column::Active.eq(flag));
        }
        if let Some(flag) = filter.authorised {
            select = select.filter(product::Column::Authorised.eq(flag));
        }
        if let Some(supplier_id) = &filter.supplier_id {
            select = select.filter(product::Column::SupplierId.eq(ids::parse(supplier_id, "supplier")?));
        }
        if let Some(search) = filter.search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            select = select.filter(
                Condition::any()
                    .add(search::contains(product::Column::Name, search))
                    .add(search::contains(product::Column::Sku, search)),
            );
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Product::from).await
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Product> {
        let principal = ctx.principal()?.require_agent()?;
        find(ctx.db(), principal.account_id, ids::parse(&id, "product")?).await.map(Into::into)
    }
}

#[derive(Default)]
pub struct ProductMutation;

#[Object]
impl ProductMutation {
    /// Adds a product (admins only). New products are active and not yet authorised.
    async fn create_product(&self, ctx: &Context<'_>, input: CreateProductInput) -> ApiResult<CreateProductPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let now = Utc::now();
        let mut active = product::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(principal.account_id),
            supplier_id: Set(None),
            parent_id: Set(None),
            description: Set(None),
            product_type: Set(koppel_entity::enums::ProductType::Simple),
            category: Set(None),
            tariffs: Set(serde_json::json!([])),
            extra_fields: Set(serde_json::json!({})),
            incentive: Set(None),
            active: Set(true),
            authorised: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let result = match apply(db, principal.account_id, &input.product, &mut active, None).await {
            Ok(()) => active.insert(db).await.map(Into::into).map_err(Into::into),
            Err(error) => Err(error),
        };
        CreateProductPayload::from_result(result)
    }

    /// Changes a product (admins only).
    async fn update_product(&self, ctx: &Context<'_>, input: UpdateProductInput) -> ApiResult<UpdateProductPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let db = ctx.db();
        let existing = find(db, principal.account_id, ids::parse(&input.id, "product")?).await?;
        let mut active: product::ActiveModel = existing.clone().into();
        active.updated_at = Set(Utc::now());
        let result = match apply(db, principal.account_id, &input.product, &mut active, Some(&existing)).await {
            Ok(()) => active.update(db).await.map(Into::into).map_err(Into::into),
            Err(error) => Err(error),
        };
        UpdateProductPayload::from_result(result)
    }

    /// Authorises a product for sale, or withdraws that (admins only).
    async fn set_product_authorised(
        &self,
        ctx: &Context<'_>,
        input: SetProductAuthorisedInput,
    ) -> ApiResult<SetProductAuthorisedPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let existing = find(ctx.db(), principal.account_id, ids::parse(&input.id, "product")?).await?;
        let mut active: product::ActiveModel = existing.into();
        active.authorised = Set(input.authorised);
        active.updated_at = Set(Utc::now());
        SetProductAuthorisedPayload::from_result(Ok(active.update(ctx.db()).await?.into()))
    }
}
