//! Koppel's sea-orm entities, one module per table, plus the enums stored in them.
//!
//! Tenant data is only ever read through [`Scoped`]: `Entity::find_in(account_id)` and
//! `Entity::find_by_id_in(account_id, id)` make the account filter impossible to forget.

pub mod access_grant;
pub mod account;
pub mod api_token;
pub mod contact_person;
pub mod customer;
pub mod enums;
pub mod extra_field;
pub mod field_mapping;
pub mod flow;
pub mod flow_mapping;
pub mod integration;
pub mod integration_credential;
pub mod organisation;
pub mod product;
pub mod question;
pub mod question_mapping;
pub mod remote_link;
pub mod sale;
pub mod status;
pub mod status_mapping;
pub mod supplier;
pub mod user;

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select};
use uuid::Uuid;

/// A tenant-owned table: every row belongs to one account.
pub trait Scoped: EntityTrait {
    fn account_column() -> Self::Column;
    fn id_column() -> Self::Column;

    /// All rows of one account.
    fn find_in(account_id: Uuid) -> Select<Self> {
        Self::find().filter(Self::account_column().eq(account_id))
    }

    /// One row by id, only if it belongs to the account.
    fn find_by_id_in(account_id: Uuid, id: Uuid) -> Select<Self> {
        Self::find_in(account_id).filter(Self::id_column().eq(id))
    }

    /// Rows by ids, only those that belong to the account.
    fn find_by_ids_in(account_id: Uuid, ids: impl IntoIterator<Item = Uuid>) -> Select<Self> {
        Self::find_in(account_id).filter(Self::id_column().is_in(ids))
    }
}

/// A row with a UUID primary key.
pub trait HasId {
    fn id(&self) -> Uuid;
}

impl HasId for account::Model {
    fn id(&self) -> Uuid {
        self.id
    }
}

macro_rules! scoped {
    ($($module:ident),* $(,)?) => {$(
        impl HasId for $module::Model {
            fn id(&self) -> Uuid {
                self.id
            }
        }

        impl Scoped for $module::Entity {
            fn account_column() -> $module::Column {
                $module::Column::AccountId
            }
            fn id_column() -> $module::Column {
                $module::Column::Id
            }
        }
    )*};
}

scoped!(
    access_grant,
    api_token,
    contact_person,
    customer,
    extra_field,
    field_mapping,
    flow,
    flow_mapping,
    integration,
    integration_credential,
    organisation,
    product,
    question,
    question_mapping,
    remote_link,
    sale,
    status,
    status_mapping,
    supplier,
    user,
);
