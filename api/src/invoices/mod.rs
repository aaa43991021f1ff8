//! Sales invoices pulled from a bookkeeping remote (seed 004, SnelStart's verkoopfacturen), read-only:
//! what each is for, and what is paid and still open of it. Amounts are decimal strings in euros
//! (`121.10`), like the catalogue's.

use crate::error::ApiResult;
use crate::extra_fields::{ExtraFieldValue, visible_values};
use crate::graphql::loaders::{self, LoadError};
use crate::graphql::pagination::{Page, connection, paginate};
use crate::graphql::{ContextExt, ids};
use async_graphql::connection::Connection;
use async_graphql::{ComplexObject, Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use koppel_entity::{Scoped, invoice};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait, Select};
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// What is paid of an invoice.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PaymentState {
    /// Nothing paid yet.
    Open,
    PartlyPaid,
    /// Nothing open any more.
    Paid,
}

#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct Invoice {
    pub id: ID,
    /// The Koppel customer linked to the invoice's relatie (null until the relatie is linked).
    pub customer_id: Option<ID>,
    pub number: String,
    pub invoice_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub amount: String,
    /// What is still to be paid.
    pub open_amount: String,
    /// The amount minus what is open.
    pub paid_amount: String,
    pub payment_state: PaymentState,
    /// When it last changed at the remote.
    pub modified_on: Option<DateTime<Utc>>,
    /// When Koppel found it gone at the remote (the integration's missing-record policy for invoices is
    /// `DEACTIVATE`); null while the remote lists it.
    pub removed_at_remote: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub stored_extra_fields: serde_json::Value,
}

#[ComplexObject]
impl Invoice {
    /// The extra-field values the integration's `invoice` field mappings wrote; hidden fields only for
    /// admins.
    async fn extra_fields(&self, ctx: &Context<'_>) -> ApiResult<Vec<ExtraFieldValue>> {
        visible_values(ctx, koppel_entity::enums::ExtraFieldEntity::Invoice, &self.stored_extra_fields).await
    }
}

/// Cents as a decimal string: `12110` → `121.10`.
fn euros(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)
}

impl From<invoice::Model> for Invoice {
    fn from(m: invoice::Model) -> Self {
        let payment_state = if m.open_cents == 0 {
            PaymentState::Paid
        } else if m.open_cents == m.amount_cents {
            PaymentState::Open
        } else {
            PaymentState::PartlyPaid
        };
        Self {
            id: ids::to_id(m.id),
            customer_id: m.customer_id.map(ids::to_id),
            number: m.number,
            invoice_date: m.invoice_date,
            due_date: m.due_date,
            amount: euros(m.amount_cents),
            open_amount: euros(m.open_cents),
            paid_amount: euros(m.amount_cents - m.open_cents),
            payment_state,
            modified_on: m.modified_on,
            removed_at_remote: m.removed_at_remote,
            updated_at: m.updated_at,
            stored_extra_fields: m.extra_fields,
        }
    }
}

/// The invoices of one account, of one customer when given, only those with something open (or only
/// those without) when `open` is given.
pub fn select(account_id: Uuid, customer_id: Option<Uuid>, open: Option<bool>) -> Select<invoice::Entity> {
    let mut select = invoice::Entity::find_in(account_id);
    if let Some(customer_id) = customer_id {
        select = select.filter(invoice::Column::CustomerId.eq(customer_id));
    }
    match open {
        Some(true) => select.filter(invoice::Column::OpenCents.ne(0)),
        Some(false) => select.filter(invoice::Column::OpenCents.eq(0)),
        None => select,
    }
}

/// A page of invoices.
pub async fn page(
    ctx: &Context<'_>,
    select: Select<invoice::Entity>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<Connection<String, Invoice>> {
    paginate(ctx.db(), select, Page::new(first, after)?, Invoice::from).await
}

/// The key of one customer's page of invoices (`Customer.invoices`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerPage {
    customer: Uuid,
    first: usize,
    after: Option<Uuid>,
    open: Option<bool>,
}

/// A page of each of many customers' invoices, in one statement per page size, cursor and `open`
/// filter (a window function numbers each customer's invoices; the row past the page's end tells that
/// there are more), like the products of suppliers.
pub struct InvoicesOfCustomers {
    db: sea_orm::DatabaseConnection,
    account_id: Uuid,
}

impl async_graphql::dataloader::Loader<CustomerPage> for InvoicesOfCustomers {
    /// Up to `first + 1` rows: the one past the page tells that there are more.
    type Value = Vec<invoice::Model>;
    type Error = LoadError;

    async fn load(&self, keys: &[CustomerPage]) -> Result<HashMap<CustomerPage, Self::Value>, Self::Error> {
        let mut pages: HashMap<(usize, Option<Uuid>, Option<bool>), Vec<Uuid>> = HashMap::new();
        for key in keys {
            pages.entry((key.first, key.after, key.open)).or_default().push(key.customer);
        }
        let mut found = HashMap::with_capacity(keys.len());
        for ((first, after, open), customers) in pages {
            let mut inner = select(self.account_id, None, open)
                .filter(invoice::Column::CustomerId.is_in(customers.iter().copied()));
            if let Some(after) = after {
                inner = inner.filter(invoice::Column::Id.gt(after));
            }
            let inner = inner
                .column_as(Expr::cust("ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY id)"), "page_row")
                .into_query();
            let ranked = Alias::new("ranked");
            let outer = Query::select()
                .column(Asterisk)
                .from_subquery(inner, ranked.clone())
                .and_where(Expr::col((ranked.clone(), Alias::new("page_row"))).lte(first as u64 + 1))
                .order_by((ranked.clone(), invoice::Column::CustomerId), sea_orm::Order::Asc)
                .order_by((ranked, invoice::Column::Id), sea_orm::Order::Asc)
                .to_owned();
            let statement = self.db.get_database_backend().build(&outer);
            let rows =
                invoice::Model::find_by_statement(statement).all(&self.db).await.map_err(|e| LoadError(Arc::new(e)))?;
            let mut by_customer: HashMap<Uuid, Vec<invoice::Model>> = HashMap::new();
            for row in rows {
                by_customer.entry(row.customer_id.expect("filtered by customer")).or_default().push(row);
            }
            for customer in customers {
                let rows = by_customer.remove(&customer).unwrap_or_default();
                found.insert(CustomerPage { customer, first, after, open }, rows);
            }
        }
        Ok(found)
    }
}

/// One page of a customer's invoices (`Customer.invoices`), read with the other customers' of the
/// same request in one statement.
pub async fn of_customer(
    ctx: &Context<'_>,
    customer: Uuid,
    page: Page,
    open: Option<bool>,
) -> ApiResult<Connection<String, Invoice>> {
    let batcher = loaders::of(ctx)?
        .batcher(|request| InvoicesOfCustomers { db: request.db.clone(), account_id: request.account_id });
    let key = CustomerPage { customer, first: page.first, after: page.after, open };
    let rows = batcher.load_one(key).await?.unwrap_or_default();
    Ok(connection(rows, page, |row| row.id, Invoice::from))
}

#[derive(Default)]
pub struct InvoiceQuery;

#[Object]
impl InvoiceQuery {
    /// Sales invoices synchronised from a bookkeeping remote; `customerId` narrows them to one customer,
    /// `open` to those with (true) or without (false) something still to be paid.
    #[graphql(complexity = "crate::graphql::pagination::page_complexity(first, child_complexity)")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        customer_id: Option<ID>,
        open: Option<bool>,
    ) -> ApiResult<Connection<String, Invoice>> {
        let principal = ctx.principal()?.require_agent()?;
        let customer_id = customer_id.map(|id| ids::parse(&id, "customer")).transpose()?;
        page(ctx, select(principal.account_id, customer_id, open), first, after).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cents_read_as_euros() {
        assert_eq!(super::euros(12110), "121.10");
        assert_eq!(super::euros(5), "0.05");
        assert_eq!(super::euros(-250), "-2.50");
    }
}
