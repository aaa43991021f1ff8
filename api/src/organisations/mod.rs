//! Organisations within an account, their extra-field values and their access grants to products
//! and flows (what a partner organisation may offer).

mod service;

use crate::catalog::{Flow, Product};
use crate::error::ApiResult;
use crate::extra_fields::{ExtraFieldValue, ExtraFieldValueInput, visible_values};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, search};
use crate::visibility::granted;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, enums::GrantTarget, flow, organisation, product};
use sea_orm::{ColumnTrait, QueryFilter};
use uuid::Uuid;

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Organisation {
    pub id: ID,
    pub name: String,
    #[graphql(skip)]
    pub stored_extra_fields: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
}

impl From<organisation::Model> for Organisation {
    fn from(m: organisation::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            name: m.name,
            stored_extra_fields: m.extra_fields.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            account_id: m.account_id,
        }
    }
}

#[ComplexObject]
impl Organisation {
    /// The extra-field values; hidden fields only for admins.
    async fn extra_fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExtraFieldValue>> {
        visible_values(ctx, koppel_entity::enums::ExtraFieldEntity::Organisation, &self.stored_extra_fields).await
    }

    /// The products this organisation may offer.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn granted_products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Product>> {
        ctx.principal()?.require_agent()?;
        let select = product::Entity::find_in(self.account_id)
            .filter(product::Column::Id.in_subquery(granted(self.uuid, GrantTarget::Product)));
        paginate(ctx.db(), select, Page::new(first, after)?, Product::from).await
    }

    /// The flows this organisation may use.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn granted_flows(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, Flow>> {
        ctx.principal()?.require_agent()?;
        let select = flow::Entity::find_in(self.account_id)
            .filter(flow::Column::Id.in_subquery(granted(self.uuid, GrantTarget::Flow)));
        paginate(ctx.db(), select, Page::new(first, after)?, Flow::from).await
    }
}

#[derive(InputObject)]
pub struct CreateOrganisationInput {
    pub name: String,
    #[graphql(default)]
    pub extra_fields: Vec<ExtraFieldValueInput>,
}

#[derive(InputObject)]
pub struct UpdateOrganisationInput {
    pub id: ID,
    pub name: Option<String>,
    /// Values to set; an empty value clears that field. Fields not listed keep their value.
    #[graphql(default)]
    pub extra_fields: Vec<ExtraFieldValueInput>,
}

#[derive(InputObject)]
pub struct DeleteOrganisationInput {
    pub id: ID,
}

/// Replaces the organisation's grants with exactly these products and flows.
#[derive(InputObject)]
pub struct SetOrganisationGrantsInput {
    pub organisation_id: ID,
    pub product_ids: Vec<ID>,
    pub flow_ids: Vec<ID>,
}

crate::payload!(CreateOrganisationPayload { organisation: Organisation });
crate::payload!(UpdateOrganisationPayload { organisation: Organisation });
crate::payload!(DeleteOrganisationPayload { deleted_id: ID });
crate::payload!(SetOrganisationGrantsPayload { organisation: Organisation });

#[derive(Default)]
pub struct OrganisationQuery;

#[Object]
impl OrganisationQuery {
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn organisations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> ApiResult<Connection<String, Organisation>> {
        let principal = ctx.principal()?.require_agent()?;
        let mut select = organisation::Entity::find_in(principal.account_id);
        if let Some(search) = search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            select = select.filter(search::contains(organisation::Column::Name, search));
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Organisation::from).await
    }

    async fn organisation(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Organisation> {
        let principal = ctx.principal()?.require_agent()?;
        service::find(ctx.db(), principal.account_id, ids::parse(&id, "organisation")?).await.map(Into::into)
    }
}

#[derive(Default)]
pub struct OrganisationMutation;

#[Object]
impl OrganisationMutation {
    /// Adds an organisation (admins only).
    async fn create_organisation(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganisationInput,
    ) -> ApiResult<CreateOrganisationPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::create(ctx.db(), principal.account_id, input).await.map(Into::into);
        CreateOrganisationPayload::from_result(result)
    }

    /// Renames an organisation or changes its extra-field values (admins only).
    async fn update_organisation(
        &self,
        ctx: &Context<'_>,
        input: UpdateOrganisationInput,
    ) -> ApiResult<UpdateOrganisationPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::update(ctx.db(), principal.account_id, input).await.map(Into::into);
        UpdateOrganisationPayload::from_result(result)
    }

    /// Deletes an organisation and its grants (admins only); its users stay, without organisation.
    async fn delete_organisation(
        &self,
        ctx: &Context<'_>,
        input: DeleteOrganisationInput,
    ) -> ApiResult<DeleteOrganisationPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = async {
            let id = ids::parse(&input.id, "organisation")?;
            service::delete(ctx.db(), principal.account_id, id).await.map(ids::to_id)
        }
        .await;
        if result.is_ok() {
            // Its users lost their organisation, and with it the provider surface.
            ctx.state().auth.forget_all();
        }
        DeleteOrganisationPayload::from_result(result)
    }

    /// Sets which products and flows the organisation may offer (admins only). Takes effect at once.
    async fn set_organisation_grants(
        &self,
        ctx: &Context<'_>,
        input: SetOrganisationGrantsInput,
    ) -> ApiResult<SetOrganisationGrantsPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let result = service::set_grants(ctx.db(), principal.account_id, input).await.map(Into::into);
        SetOrganisationGrantsPayload::from_result(result)
    }
}
