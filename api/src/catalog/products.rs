//! Products with tariffs, extra-field values and an incentive. Only active, authorised products can be sold.

use super::{Question, Supplier, product_reads};
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
    /// The stored tariffs, read into [`Tariff`]s only when a query asks for them.
    #[graphql(skip)]
    pub stored_tariffs: serde_json::Value,
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
    /// The supplier, when it was read with the product (the query asked for it): `Some(None)` is a
    /// product without one.
    #[graphql(skip)]
    pub read_supplier: Option<Option<supplier::Model>>,
    /// The parent, when it was read with the product.
    #[graphql(skip)]
    pub read_parent: Option<Option<Box<Product>>>,
}

impl Product {
    /// A product as the list reads it ([`product_reads`]), with its supplier and parent when those were
    /// joined.
    pub(super) fn from_read(read: product_reads::Read) -> Self {
        let parent = read.parent.map(|parent| parent.map(|parent| Box::new(Self::from_read(*parent))));
        Self { read_supplier: read.supplier, read_parent: parent, ..read.product.into() }
    }
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
            stored_tariffs: m.tariffs,
            stored_extra_fields: m.extra_fields,
            incentive: m.incentive,
            active: m.active,
            authorised: m.authorised,
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            account_id: m.account_id,
            supplier_id: m.supplier_id,
            parent_id: m.parent_id,
            read_supplier: None,
            read_parent: None,
        }
    }
}

impl Product {
    /// The whole stored row, for a field whose column the list did not read.
    async fn reread(&self, ctx: &Context<'_>) -> ApiResult<product::Model> {
        loaders::load::<product::Entity>(ctx, self.uuid).await?.ok_or(ApiError::NotFound("product"))
    }
}

#[ComplexObject]
impl Product {
    async fn tariffs(&self, ctx: &Context<'_>) -> ApiResult<Vec<Tariff>> {
        let stored = match &self.stored_tariffs {
            // Not read with the list (the look-ahead did not see the field): read it now.
            serde_json::Value::Null => self.reread(ctx).await?.tariffs,
            stored => stored.clone(),
        };
        Ok(serde_json::from_value(stored).unwrap_or_default())
    }

    /// The extra-field values; hidden fields only for admins.
    async fn extra_fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExtraFieldValue>> {
        let reread;
        let stored = match &self.stored_extra_fields {
            serde_json::Value::Null => {
                reread = self.reread(ctx).await?.extra_fields;
                &reread
            }
            stored => stored,
        };
        visible_values(ctx, koppel_entity::enums::ExtraFieldEntity::Product, stored).await
    }

    async fn supplier(&self, ctx: &Context<'_>) -> ApiResult<Option<Supplier>> {
        if let Some(read) = &self.read_supplier {
            return Ok(read.clone().map(Into::into));
        }
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
        if let Some(read) = &self.read_parent {
            return Ok(read.as_deref().cloned());
        }
        let batcher = loaders::of(ctx)?
            .batcher(|request| product_reads::ProductsById { db: request.db.clone(), account_id: request.account_id });
        Ok(batcher.load_one((id, product_reads::Wants::of(ctx, false, true))).await?.map(Product::from_read))
    }

    /// The product's files (conditions, brochures, tariff sheets) in order, at most 50, each with a
    /// short-lived download link.
    async fn attachments(&self, ctx: &Context<'_>) -> ApiResult<Vec<super::Attachment>> {
        super::attachments::of_product(ctx, self.uuid).await
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

/// The key of one supplier's page of products.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SupplierPage {
    supplier: Uuid,
    first: usize,
    after: Option<Uuid>,
    wants: product_reads::Wants,
}

/// A page of each of many suppliers' products, in one statement per page size, cursor and selection: a
/// window function numbers each supplier's products (the row past a page's end tells that there are
/// more), and the page's rows are read as the product list reads them ([`product_reads`]: the columns the
/// query shows, the supplier and the parent joined).
pub struct ProductsOfSuppliers {
    db: sea_orm::DatabaseConnection,
    account_id: Uuid,
    /// Only what this organisation was granted (the provider surface), when set.
    granted_to: Option<Uuid>,
}

impl async_graphql::dataloader::Loader<SupplierPage> for ProductsOfSuppliers {
    /// Up to `first + 1` rows: the one past the page tells that there are more.
    type Value = Vec<product_reads::Read>;
    type Error = loaders::LoadError;

    async fn load(
        &self,
        keys: &[SupplierPage],
    ) -> Result<std::collections::HashMap<SupplierPage, Self::Value>, Self::Error> {
        use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
        use sea_orm::{QueryOrder, QuerySelect, QueryTrait};
        type Pages = (usize, Option<Uuid>, product_reads::Wants);
        let mut pages: std::collections::HashMap<Pages, Vec<Uuid>> = Default::default();
        for key in keys {
            pages.entry((key.first, key.after, key.wants)).or_default().push(key.supplier);
        }
        let mut found = std::collections::HashMap::with_capacity(keys.len());
        for ((first, after, wants), suppliers) in pages {
            let mut ranked = match self.granted_to {
                Some(organisation) => crate::visibility::visible_products(self.account_id, organisation),
                None => product::Entity::find_in(self.account_id),
            }
            .filter(product::Column::SupplierId.is_in(suppliers.iter().copied()));
            if let Some(after) = after {
                ranked = ranked.filter(product::Column::Id.gt(after));
            }
            let ranked = ranked
                .select_only()
                .column(product::Column::Id)
                .column_as(Expr::cust("ROW_NUMBER() OVER (PARTITION BY supplier_id ORDER BY id)"), "page_row")
                .into_query();
            let on_pages = Query::select()
                .column(Alias::new("id"))
                .from_subquery(ranked, Alias::new("ranked"))
                .and_where(Expr::col(Alias::new("page_row")).lte(first as u64 + 1))
                .to_owned();
            let select = product::Entity::find_in(self.account_id)
                .filter(product::Column::Id.in_subquery(on_pages))
                .order_by_asc(product::Column::SupplierId)
                .order_by_asc(product::Column::Id);
            let rows = product_reads::all(&self.db, select, wants)
                .await
                .map_err(|e| loaders::LoadError(std::sync::Arc::new(e)))?;
            let mut by_supplier: std::collections::HashMap<Uuid, Vec<product_reads::Read>> = Default::default();
            for row in rows {
                by_supplier.entry(row.product.supplier_id.expect("filtered by supplier")).or_default().push(row);
            }
            for supplier in suppliers {
                let rows = by_supplier.remove(&supplier).unwrap_or_default();
                found.insert(SupplierPage { supplier, first, after, wants }, rows);
            }
        }
        Ok(found)
    }
}

/// One page of a supplier's products (`Supplier.products`).
pub async fn of_supplier(ctx: &Context<'_>, supplier: Uuid, page: Page) -> ApiResult<Connection<String, Product>> {
    let principal = ctx.principal()?;
    let granted_to = match principal.limited_to_grants() {
        true => Some(principal.require_provider()?),
        false => None,
    };
    let batcher = loaders::of(ctx)?.batcher(|request| ProductsOfSuppliers {
        db: request.db.clone(),
        account_id: request.account_id,
        granted_to,
    });
    // The parent is joined only for callers that may see it.
    let wants = product_reads::Wants::of(ctx, true, granted_to.is_none());
    let key = SupplierPage { supplier, first: page.first, after: page.after, wants };
    let rows = batcher.load_one(key).await?.unwrap_or_default();
    Ok(crate::graphql::pagination::connection(rows, page, |row| row.product.id, Product::from_read))
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
        let wants = product_reads::Wants::of(ctx, true, true);
        product_reads::page(ctx.db(), select, Page::new(first, after)?, wants, Product::from_read).await
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
