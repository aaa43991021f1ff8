//! A sales invoice pulled from a bookkeeping remote (SnelStart's verkoopfactuur), with what is still
//! open of it. Amounts are cents. Linked to its integration through `remote_links` (entity `invoice`).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    /// The Koppel customer linked to the invoice's relatie, once that link exists.
    pub customer_id: Option<Uuid>,
    /// The relatie's id at the remote, to find the customer once it is linked.
    pub remote_customer_id: Option<String>,
    pub number: String,
    pub invoice_date: Option<Date>,
    pub due_date: Option<Date>,
    pub amount_cents: i64,
    /// What is still to be paid (`openstaandSaldo`); paid is the amount minus this.
    pub open_cents: i64,
    /// When it last changed at the remote.
    pub modified_on: Option<DateTimeUtc>,
    /// When a pass found it gone at the remote (missing-record policy `deactivate`); none while the
    /// remote lists it.
    pub removed_at_remote: Option<DateTimeUtc>,
    /// Values of the account's invoice extra fields, written by the integration's `invoice` mappings.
    pub extra_fields: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
