//! Customers (person or company debtor) with their addresses and contact persons.

pub mod matches;
mod service;

pub use service::create;

use crate::error::ApiResult;
use crate::extra_fields::{ExtraFieldValue, ExtraFieldValueInput, visible_values};
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids, search};
use crate::invoices::Invoice;
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_entity::{Scoped, contact_person, customer};
use sea_orm::{ColumnTrait, Condition, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "koppel_entity::enums::CustomerKind")]
pub enum CustomerKind {
    Person,
    /// A company debtor, with a company name and usually a KvK number.
    Company,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    Visit,
    Invoice,
    Delivery,
}

#[derive(SimpleObject, InputObject, Serialize, Deserialize, Clone, Debug)]
#[graphql(input_name = "AddressInput")]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub kind: AddressKind,
    pub street: String,
    pub house_number: String,
    pub postcode: String,
    pub city: String,
    /// ISO 3166-1 alpha-2, e.g. `NL`.
    pub country: String,
}

/// What a contact person is contacted about.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactFlag {
    Primary,
    Invoice,
    /// The person to send inquiries (e.g. to a partner portal) to.
    Inquiry,
}

#[derive(SimpleObject, Clone)]
pub struct ContactPerson {
    pub id: ID,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub flags: Vec<ContactFlag>,
}

impl From<contact_person::Model> for ContactPerson {
    fn from(m: contact_person::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            name: m.name,
            email: m.email,
            phone: m.phone,
            flags: serde_json::from_value(m.flags).unwrap_or_default(),
        }
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Customer {
    pub id: ID,
    pub kind: CustomerKind,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    /// The Chamber of Commerce (KvK) number: 8 digits.
    pub kvk_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub addresses: Vec<Address>,
    /// False when it left a remote it is synchronised from and the integration deactivates such
    /// customers.
    pub active: bool,
    #[graphql(skip)]
    pub stored_extra_fields: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub uuid: Uuid,
    #[graphql(skip)]
    pub account_id: Uuid,
}

impl From<customer::Model> for Customer {
    fn from(m: customer::Model) -> Self {
        Self {
            id: ids::to_id(m.id),
            kind: m.kind.into(),
            first_name: m.first_name,
            last_name: m.last_name,
            company_name: m.company_name,
            kvk_number: m.kvk_number,
            email: m.email,
            phone: m.phone,
            addresses: serde_json::from_value(m.addresses).unwrap_or_default(),
            active: m.active,
            stored_extra_fields: m.extra_fields.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            uuid: m.id,
            account_id: m.account_id,
        }
    }
}

#[ComplexObject]
impl Customer {
    /// The extra-field values; hidden fields only for admins.
    async fn extra_fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExtraFieldValue>> {
        visible_values(ctx, koppel_entity::enums::ExtraFieldEntity::Customer, &self.stored_extra_fields).await
    }

    /// The name to show: the company name, or first and last name.
    async fn display_name(&self) -> String {
        match (&self.company_name, self.kind) {
            (Some(company), CustomerKind::Company) => company.clone(),
            _ => [self.first_name.as_deref(), self.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn contact_persons(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Connection<String, ContactPerson>> {
        let select =
            contact_person::Entity::find_in(self.account_id).filter(contact_person::Column::CustomerId.eq(self.uuid));
        paginate(ctx.db(), select, Page::new(first, after)?, ContactPerson::from).await
    }

    /// Its sales invoices synchronised from a bookkeeping remote; `open` as on `Query.invoices`. The
    /// invoices of a page of customers are read in one statement.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        open: Option<bool>,
    ) -> ApiResult<Connection<String, Invoice>> {
        crate::invoices::of_customer(ctx, self.uuid, Page::new(first, after)?, open).await
    }
}

#[derive(InputObject, Clone)]
pub struct ContactPersonInput {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[graphql(default)]
    pub flags: Vec<ContactFlag>,
}

/// The fields of a customer; on update, fields left out keep their value and an empty string clears one.
#[derive(InputObject, Default)]
pub struct CustomerFields {
    pub kind: Option<CustomerKind>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub kvk_number: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Replaces all addresses.
    pub addresses: Option<Vec<Address>>,
    pub extra_fields: Option<Vec<ExtraFieldValueInput>>,
}

#[derive(InputObject)]
pub struct CreateCustomerInput {
    pub customer: CustomerFields,
    #[graphql(default)]
    pub contact_persons: Vec<ContactPersonInput>,
}

#[derive(InputObject)]
pub struct UpdateCustomerInput {
    pub id: ID,
    pub customer: CustomerFields,
}

#[derive(InputObject)]
pub struct AddContactPersonInput {
    pub customer_id: ID,
    pub contact_person: ContactPersonInput,
}

#[derive(InputObject)]
pub struct RemoveContactPersonInput {
    pub id: ID,
}

crate::payload!(CreateCustomerPayload { customer: Customer });
crate::payload!(UpdateCustomerPayload { customer: Customer });
crate::payload!(AddContactPersonPayload { contact_person: ContactPerson });
crate::payload!(RemoveContactPersonPayload { deleted_id: ID });

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// Customers; `search` matches part of a name, the company name, the e-mail address or the KvK number.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        search: Option<String>,
    ) -> ApiResult<Connection<String, Customer>> {
        let principal = ctx.principal()?.require_agent()?;
        let mut select = customer::Entity::find_in(principal.account_id);
        if let Some(search) = search.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            select = select.filter(
                Condition::any()
                    .add(search::contains(customer::Column::FirstName, search))
                    .add(search::contains(customer::Column::LastName, search))
                    .add(search::contains(customer::Column::CompanyName, search))
                    .add(search::contains(customer::Column::Email, search))
                    .add(customer::Column::KvkNumber.eq(search)),
            );
        }
        paginate(ctx.db(), select, Page::new(first, after)?, Customer::from).await
    }

    async fn customer(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Customer> {
        let principal = ctx.principal()?.require_agent()?;
        service::find(ctx.db(), principal.account_id, ids::parse(&id, "customer")?).await.map(Into::into)
    }
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    /// Adds a customer with its contact persons (agents and admins).
    async fn create_customer(&self, ctx: &Context<'_>, input: CreateCustomerInput) -> ApiResult<CreateCustomerPayload> {
        let principal = ctx.principal()?.require_agent()?;
        let result = service::create(ctx.db(), principal.account_id, input).await.map(Into::into);
        CreateCustomerPayload::from_result(result)
    }

    /// Changes a customer (agents and admins).
    async fn update_customer(&self, ctx: &Context<'_>, input: UpdateCustomerInput) -> ApiResult<UpdateCustomerPayload> {
        let principal = ctx.principal()?.require_agent()?;
        let result = service::update(ctx.db(), principal.account_id, input).await.map(Into::into);
        UpdateCustomerPayload::from_result(result)
    }

    async fn add_contact_person(
        &self,
        ctx: &Context<'_>,
        input: AddContactPersonInput,
    ) -> ApiResult<AddContactPersonPayload> {
        let principal = ctx.principal()?.require_agent()?;
        let result = service::add_contact_person(ctx.db(), principal.account_id, input).await.map(Into::into);
        AddContactPersonPayload::from_result(result)
    }

    async fn remove_contact_person(
        &self,
        ctx: &Context<'_>,
        input: RemoveContactPersonInput,
    ) -> ApiResult<RemoveContactPersonPayload> {
        let principal = ctx.principal()?.require_agent()?;
        let result = async {
            let id = ids::parse(&input.id, "contact person")?;
            service::remove_contact_person(ctx.db(), principal.account_id, id).await.map(ids::to_id)
        }
        .await;
        RemoveContactPersonPayload::from_result(result)
    }
}
