//! How the product lists read: only what the query asks for, in as few statements as it allows.
//!
//! - The supplier is LEFT JOINed into the same statement when the query asks for `supplier`.
//! - The JSON columns (tariffs, extra fields) are read only when the query asks for them: decoding them
//!   was most of the CPU of a page that showed three columns.
//! - Rows are decoded by column name without prefixes (sea-orm's `select_also` formats a prefixed name
//!   for every column of every row).

use crate::graphql::loaders::LoadError;
use crate::graphql::pagination::{Page, encode_cursor};
use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, OutputType};
use koppel_entity::{Scoped, product, supplier};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    QueryTrait, Select,
};
use std::collections::HashMap;
use uuid::Uuid;

/// What of a product a query asks for, beyond its scalar columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Wants {
    pub tariffs: bool,
    pub extra_fields: bool,
    pub supplier: bool,
}

impl Wants {
    /// What the selection of the current field asks of its products: the field's own selection (a
    /// product), or the `nodes` and `edges { node }` of a connection.
    pub fn of(ctx: &Context<'_>, connection: bool) -> Self {
        let look = ctx.look_ahead();
        let asks = |field: &str| {
            if connection {
                look.field("nodes").field(field).exists() || look.field("edges").field("node").field(field).exists()
            } else {
                look.field(field).exists()
            }
        };
        Self { tariffs: asks("tariffs"), extra_fields: asks("extraFields"), supplier: asks("supplier") }
    }
}

/// The supplier's columns in a joined row: `supplier__<column>`.
const SUPPLIER_PREFIX: &str = "supplier__";

/// Narrows `select` to the columns `wants` needs, joining the supplier when asked.
pub fn columns(select: Select<product::Entity>, wants: Wants) -> Select<product::Entity> {
    use product::Column as P;
    let mut select = select.select_only().columns([
        P::Id,
        P::AccountId,
        P::SupplierId,
        P::ParentId,
        P::Sku,
        P::Name,
        P::Description,
        P::ProductType,
        P::Category,
        P::Incentive,
        P::Active,
        P::Authorised,
        P::CreatedAt,
        P::UpdatedAt,
    ]);
    if wants.tariffs {
        select = select.column(P::Tariffs);
    }
    if wants.extra_fields {
        select = select.column(P::ExtraFields);
    }
    if wants.supplier {
        let supplier_of = product::Entity::belongs_to(supplier::Entity)
            .from(P::SupplierId)
            .to(supplier::Column::Id)
            // Never another account's supplier, whatever a row says.
            .on_condition(|_, right| {
                Expr::col((right, supplier::Column::AccountId)).equals((product::Entity, P::AccountId)).into()
            })
            .into();
        select = select.join(JoinType::LeftJoin, supplier_of);
        use sea_orm::{IdenStatic, Iterable};
        for column in supplier::Column::iter() {
            let alias = format!("{SUPPLIER_PREFIX}{}", column.as_str());
            select = select.column_as(Expr::col((supplier::Entity, column)), alias);
        }
    }
    select
}

/// A product as read, with its supplier when it was joined (`Some(None)`: the product has none).
pub type Read = (product::Model, Option<Option<supplier::Model>>);

/// Decodes one row of [`columns`].
pub fn read(row: &QueryResult, wants: Wants) -> Result<Read, DbErr> {
    let product = product::Model {
        id: row.try_get("", "id")?,
        account_id: row.try_get("", "account_id")?,
        supplier_id: row.try_get("", "supplier_id")?,
        parent_id: row.try_get("", "parent_id")?,
        sku: row.try_get("", "sku")?,
        name: row.try_get("", "name")?,
        description: row.try_get("", "description")?,
        product_type: row.try_get("", "product_type")?,
        category: row.try_get("", "category")?,
        tariffs: if wants.tariffs { row.try_get("", "tariffs")? } else { serde_json::Value::Null },
        extra_fields: if wants.extra_fields { row.try_get("", "extra_fields")? } else { serde_json::Value::Null },
        incentive: row.try_get("", "incentive")?,
        active: row.try_get("", "active")?,
        authorised: row.try_get("", "authorised")?,
        created_at: row.try_get("", "created_at")?,
        updated_at: row.try_get("", "updated_at")?,
    };
    if !wants.supplier {
        return Ok((product, None));
    }
    // The names `columns` gave them, spelled out: formatting them for every row costs more than the row.
    let Some(id) = row.try_get::<Option<Uuid>>("", "supplier__id")? else { return Ok((product, Some(None))) };
    let supplier = supplier::Model {
        id,
        account_id: row.try_get("", "supplier__account_id")?,
        name: row.try_get("", "supplier__name")?,
        contractant: row.try_get("", "supplier__contractant")?,
        contact_name: row.try_get("", "supplier__contact_name")?,
        email: row.try_get("", "supplier__email")?,
        phone: row.try_get("", "supplier__phone")?,
        website: row.try_get("", "supplier__website")?,
        logo_url: row.try_get("", "supplier__logo_url")?,
        created_at: row.try_get("", "supplier__created_at")?,
        updated_at: row.try_get("", "supplier__updated_at")?,
    };
    Ok((product, Some(Some(supplier))))
}

/// Runs `select` (narrowed by [`columns`]) and decodes its rows.
pub async fn all(db: &impl ConnectionTrait, select: Select<product::Entity>, wants: Wants) -> Result<Vec<Read>, DbErr> {
    let statement = columns(select, wants).build(db.get_database_backend());
    db.query_all_raw(statement).await?.iter().map(|row| read(row, wants)).collect()
}

/// One page of products, as [`crate::graphql::pagination::paginate`] pages any table.
pub async fn page<T: OutputType>(
    db: &impl ConnectionTrait,
    select: Select<product::Entity>,
    page: Page,
    wants: Wants,
    convert: impl Fn(Read) -> T,
) -> crate::error::ApiResult<Connection<String, T>> {
    let mut select = select.order_by_asc(product::Column::Id).limit(page.first as u64 + 1);
    if let Some(after) = page.after {
        select = select.filter(product::Column::Id.gt(after));
    }
    let mut rows = all(db, select, wants).await?;
    let has_next = rows.len() > page.first;
    rows.truncate(page.first);
    let mut connection = Connection::new(page.after.is_some(), has_next);
    connection.edges.extend(rows.into_iter().map(|row| Edge::new(encode_cursor(row.0.id), convert(row))));
    Ok(connection)
}

/// Loads products by id, reading what the asking fields want (`Product.parent`): one statement per
/// batch and kind of selection.
pub struct ProductsById {
    pub db: sea_orm::DatabaseConnection,
    pub account_id: Uuid,
}

impl async_graphql::dataloader::Loader<(Uuid, Wants)> for ProductsById {
    type Value = Read;
    type Error = LoadError;

    async fn load(&self, keys: &[(Uuid, Wants)]) -> Result<HashMap<(Uuid, Wants), Read>, LoadError> {
        let mut by_wants: HashMap<Wants, Vec<Uuid>> = HashMap::new();
        for (id, wants) in keys {
            by_wants.entry(*wants).or_default().push(*id);
        }
        let mut found = HashMap::with_capacity(keys.len());
        for (wants, ids) in by_wants {
            let rows = all(&self.db, product::Entity::find_by_ids_in(self.account_id, ids), wants)
                .await
                .map_err(|e| LoadError(std::sync::Arc::new(e)))?;
            found.extend(rows.into_iter().map(|row| ((row.0.id, wants), row)));
        }
        Ok(found)
    }
}
