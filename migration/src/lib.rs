//! Koppel's database schema: the one source of truth, for SQLite and PostgreSQL alike.
//!
//! Every tenant-owned table carries `account_id`; ids are UUIDv7 (time-ordered, so they double as
//! stable pagination keys); timestamps are UTC.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_accounts;
mod m20261122_000002_catalog;
mod m20261122_000003_sales;
mod m20261122_000004_integrations;
mod m20261202_000005_engine;
mod m20261202_000006_alert_webhooks;
mod m20261202_000007_sync_states;
mod m20261202_000008_event_notify;
mod m20261202_000009_create_only;
mod m20261202_000010_transmissions;
mod m20261202_000011_sale_request_hash;
mod m20261202_000012_sale_notify;
mod m20261202_000013_auth_notify;
mod m20261202_000014_list_indexes;
mod m20261203_000015_customer_sync;
mod m20261203_000016_files;
mod m20261203_000017_invoices;
mod m20261203_000018_oauth;
mod m20261203_000020_invoice_removal;
mod m20261203_000023_invoice_extra_fields;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_accounts::Migration),
            Box::new(m20261122_000002_catalog::Migration),
            Box::new(m20261122_000003_sales::Migration),
            Box::new(m20261122_000004_integrations::Migration),
            Box::new(m20261202_000005_engine::Migration),
            Box::new(m20261202_000006_alert_webhooks::Migration),
            Box::new(m20261202_000007_sync_states::Migration),
            Box::new(m20261202_000008_event_notify::Migration),
            Box::new(m20261202_000009_create_only::Migration),
            Box::new(m20261202_000010_transmissions::Migration),
            Box::new(m20261202_000011_sale_request_hash::Migration),
            Box::new(m20261202_000012_sale_notify::Migration),
            Box::new(m20261202_000013_auth_notify::Migration),
            Box::new(m20261202_000014_list_indexes::Migration),
            Box::new(m20261203_000015_customer_sync::Migration),
            Box::new(m20261203_000016_files::Migration),
            Box::new(m20261203_000017_invoices::Migration),
            Box::new(m20261203_000018_oauth::Migration),
            Box::new(m20261203_000020_invoice_removal::Migration),
            Box::new(m20261203_000023_invoice_extra_fields::Migration),
        ]
    }
}

/// A foreign key from `table.column` to `target.id`.
pub(crate) fn fk(
    table: &'static str,
    column: &'static str,
    target: &'static str,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from(table, column)
        .to(target, "id")
        .on_delete(on_delete)
        .to_owned()
}

/// An index over `columns` of `table`, unique or not.
pub(crate) fn index(table: &'static str, columns: &[&'static str], unique: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(format!("ix_{table}_{}", columns.join("_"))).table(table);
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    index.to_owned()
}
