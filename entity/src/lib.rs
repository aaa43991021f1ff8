//! Koppel's sea-orm entities, one module per table, plus the enums stored in them.
//!
//! Tenant data is only ever read and written through [`Scoped`]: `Entity::find_in(account_id)`,
//! `Entity::find_by_id_in(account_id, id)`, `update_many_in` and `delete_many_in` make the account filter
//! impossible to forget. Rows that belong to one integration (links, mappings, credentials) are reached
//! through [`IntegrationOwned`], which checks the account and the integration both.

pub mod access_grant;
pub mod account;
pub mod alert_webhook;
pub mod api_token;
pub mod contact_person;
pub mod customer;
pub mod customer_match;
pub mod enums;
pub mod extra_field;
pub mod field_mapping;
pub mod file;
pub mod flow;
pub mod flow_mapping;
pub mod integration;
pub mod integration_credential;
pub mod invoice;
pub mod job;
pub mod oauth_connection;
pub mod oauth_state;
pub mod organisation;
pub mod product;
pub mod product_attachment;
pub mod question;
pub mod question_mapping;
pub mod remote_link;
pub mod sale;
pub mod sale_transmission;
pub mod status;
pub mod status_mapping;
pub mod supplier;
pub mod sync_event;
pub mod sync_run;
pub mod sync_state;
pub mod user;

use sea_orm::{ColumnTrait, DeleteMany, EntityTrait, QueryFilter, Select, UpdateMany};
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

    /// An update of rows of one account; add filters and values to it.
    fn update_many_in(account_id: Uuid) -> UpdateMany<Self> {
        Self::update_many().filter(Self::account_column().eq(account_id))
    }

    /// A delete of rows of one account; add filters to it.
    fn delete_many_in(account_id: Uuid) -> DeleteMany<Self> {
        Self::delete_many().filter(Self::account_column().eq(account_id))
    }
}

/// A table whose rows belong to one integration of one account.
pub trait IntegrationOwned: Scoped {
    fn integration_column() -> Self::Column;

    /// The rows of one integration, only if the integration belongs to the account.
    fn find_owned(account_id: Uuid, integration_id: Uuid) -> Select<Self> {
        Self::find_in(account_id).filter(Self::integration_column().eq(integration_id))
    }

    /// An update of the rows of one integration of one account.
    fn update_owned(account_id: Uuid, integration_id: Uuid) -> UpdateMany<Self> {
        Self::update_many_in(account_id).filter(Self::integration_column().eq(integration_id))
    }

    /// A delete of the rows of one integration of one account.
    fn delete_owned(account_id: Uuid, integration_id: Uuid) -> DeleteMany<Self> {
        Self::delete_many_in(account_id).filter(Self::integration_column().eq(integration_id))
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
    alert_webhook,
    api_token,
    contact_person,
    customer,
    customer_match,
    extra_field,
    field_mapping,
    file,
    flow,
    flow_mapping,
    integration,
    integration_credential,
    invoice,
    oauth_connection,
    oauth_state,
    organisation,
    product,
    product_attachment,
    question,
    question_mapping,
    remote_link,
    sale,
    sale_transmission,
    status,
    status_mapping,
    supplier,
    sync_run,
    sync_state,
    user,
);

macro_rules! integration_owned {
    ($($module:ident),* $(,)?) => {$(
        impl IntegrationOwned for $module::Entity {
            fn integration_column() -> $module::Column {
                $module::Column::IntegrationId
            }
        }
    )*};
}

integration_owned!(
    customer_match,
    field_mapping,
    flow_mapping,
    integration_credential,
    oauth_connection,
    oauth_state,
    question_mapping,
    remote_link,
    status_mapping,
    sync_state,
);
