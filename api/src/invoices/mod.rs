//! Sales invoices pulled from a bookkeeping remote (seed 004, SnelStart's verkoopfacturen), read-only:
//! what each is for, and what is paid and still open of it. Amounts are decimal strings in euros
//! (`121.10`), like the catalogue's.

use crate::error::ApiResult;
use crate::graphql::pagination::{Page, paginate};
use crate::graphql::{ContextExt, ids};
use async_graphql::connection::Connection;
use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use koppel_entity::{Scoped, invoice};
use sea_orm::{ColumnTrait, QueryFilter, Select};
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
    pub updated_at: DateTime<Utc>,
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
            updated_at: m.updated_at,
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
