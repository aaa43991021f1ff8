//! Suppliers: created by hand or automatically on product import, then completed by hand.

use super::Product;
use crate::error::{ApiError, ApiResult, Problems};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, search};
use crate::validate;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, supplier};
use sea_orm::{ActiveModelTrait, ConnectionTrait, QueryFilter, Set};
use uuid::Uuid;

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Supplier {
    pub id: ID,
    pub name: String,
    /// Whether the supplier is the contracting party.
    pub contractant: bool,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub logo_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub logo_file_id: Option<Uuid>,
}

#[ComplexObject]
impl Supplier {
    /// The uploaded logo (`setSupplierLogo`), with a download link.
    async fn logo(&self, ctx: &Context<'_>) -> ApiResult<Option<super::Attachment>> {
        super::attachments::logo(ctx, self.logo_file_id).await
    }

    /// The supplier's products, oldest first. Through the provider surface: only those granted to the
    /// caller's organisation that are active and authorised. The products of a page of suppliers are read
    /// in one statement.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Product>> {
        let page = Page::new(first, after)?;
        super::products::of_supplier(ctx, self.uuid, page).await
    }
}

impl From<supplier::Model> for Supplier {
    fn from(m: supplier::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            name: m.name,
            contractant: m.contractant,
            contact_name: m.contact_name,
            email: m.email,
            phone: m.phone,
            website: m.website,
            logo_url: m.logo_url,
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            logo_file_id: m.logo_file_id,
        }
    }
}

/// The fields of a supplier; on update, fields left out keep their value and an empty string clears one.
#[derive(InputObject)]
pub struct SupplierFields {
    pub name: Option<String>,
    pub contractant: Option<bool>,
    pub contact_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub logo_url: Option<String>,
}

#[derive(InputObject)]
pub struct CreateSupplierInput {
    pub supplier: SupplierFields,
}

#[derive(InputObject)]
pub struct UpdateSupplierInput {
    pub id: ID,
    pub supplier: SupplierFields,
}

crate::payload!(CreateSupplierPayload { supplier: Supplier });
crate::payload!(UpdateSupplierPayload { supplier: Supplier });

fn check_url(problems: &mut Problems, field: &str, value: Option<&str>) -> Option<String> {
    let value = validate::optional(problems, field, value, 500)?;
    if !(value.starts_with("https://") || value.starts_with("http://")) {
        problems.add(field, crate::error::UserErrorCode::Invalid, format!("{field} must be an http(s) URL"));
    }
    Some(value)
}

/// Applies `fields` to `active`, checking each one; `creating` makes the name required.
fn apply(fields: &SupplierFields, active: &mut supplier::ActiveModel, creating: bool) -> ApiResult<()> {
    let mut problems = Problems::new();
    let prefix = "supplier";
    if creating || fields.name.is_some() {
        let name = validate::required(&mut problems, "supplier.name", fields.name.as_deref().unwrap_or(""), 200);
        active.name = Set(name);
    }
    if let Some(flag) = fields.contractant {
        active.contractant = Set(flag);
    }
    if fields.contact_name.is_some() {
        active.contact_name = Set(validate::optional(
            &mut problems,
            &format!("{prefix}.contactName"),
            fields.contact_name.as_deref(),
            200,
        ));
    }
    if fields.email.is_some() {
        active.email = Set(validate::email(&mut problems, &format!("{prefix}.email"), fields.email.as_deref()));
    }
    if fields.phone.is_some() {
        active.phone = Set(validate::optional(&mut problems, &format!("{prefix}.phone"), fields.phone.as_deref(), 50));
    }
    if fields.website.is_some() {
        active.website = Set(check_url(&mut problems, &format!("{prefix}.website"), fields.website.as_deref()));
    }
    if fields.logo_url.is_some() {
        active.logo_url = Set(check_url(&mut problems, &format!("{prefix}.logoUrl"), fields.logo_url.as_deref()));
    }
    Ok(problems.into_result()?)
}

pub async fn find(db: &impl ConnectionTrait, account_id: Uuid, id: Uuid) -> ApiResult<supplier::Model> {
    supplier::Entity::find_by_id_in(account_id, id).one(db).await?.ok_or(ApiError::NotFound("supplier"))
}

#[derive(Default)]
pub struct SupplierQuery;

#[Object]
impl SupplierQuery {
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn suppliers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> ApiResult<Connection<String, Supplier>> {
        let principal = ctx.principal()?.require_agent()?;
        let mut select = supplier::Entity::find_in(principal.account_id);
        if let Some(search) = search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            select = select.filter(search::contains(supplier::Column::Name, search));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Supplier::from).await
    }

    async fn supplier(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Supplier> {
        let principal = ctx.principal()?.require_agent()?;
        find(ctx.db(), principal.account_id, ids::parse(&id, "supplier")?).await.map(Into::into)
    }
}

#[derive(Default)]
pub struct SupplierMutation;

#[Object]
impl SupplierMutation {
    /// Adds a supplier (admins only).
    async fn create_supplier(&self, ctx: &Context<'_>, input: CreateSupplierInput) -> ApiResult<CreateSupplierPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let now = Utc::now();
        let mut active = supplier::ActiveModel {
            id: Set(Uuid::now_v7()),
            account_id: Set(principal.account_id),
            contractant: Set(false),
            contact_name: Set(None),
            email: Set(None),
            phone: Set(None),
            website: Set(None),
            logo_url: Set(None),
            logo_file_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let result = match apply(&input.supplier, &mut active, true) {
            Ok(()) => active.insert(ctx.db()).await.map(Into::into).map_err(Into::into),
            Err(error) => Err(error),
        };
        CreateSupplierPayload::from_result(result)
    }

    /// Completes or changes a supplier: contractant, contact details, logo (admins only).
    async fn update_supplier(&self, ctx: &Context<'_>, input: UpdateSupplierInput) -> ApiResult<UpdateSupplierPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let existing = find(ctx.db(), principal.account_id, ids::parse(&input.id, "supplier")?).await?;
        let mut active: supplier::ActiveModel = existing.into();
        active.updated_at = Set(Utc::now());
        let result = match apply(&input.supplier, &mut active, false) {
            Ok(()) => active.update(ctx.db()).await.map(Into::into).map_err(Into::into),
            Err(error) => Err(error),
        };
        UpdateSupplierPayload::from_result(result)
    }
}
