//! How the product lists read: only what the query asks for, in as few statements as it allows.
//!
//! - The supplier is LEFT JOINed into the same statement when the query asks for `supplier`.
//! - The JSON columns (tariffs, extra fields) are read only when the query asks for them: decoding them
//!   was most of the CPU of a page that showed three columns.
//! - Rows are decoded by column name without prefixes (sea-orm's `select_also` formats a prefixed name
//!   for every column of every row).

use crate::graphql::loaders::LoadError;
use crate::graphql::pagination::{Page, connection};
use async_graphql::connection::Connection;
use async_graphql::{Context, OutputType};
use koppel_entity::{Scoped, product, supplier};
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait,
    Select,
};
use std::collections::HashMap;
use uuid::Uuid;

/// What of a product a query asks for, beyond its scalar columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Wants {
    pub tariffs: bool,
    pub extra_fields: bool,
    pub supplier: bool,
    /// The parent product (its scalar columns), and whether its supplier too.
    pub parent: Option<ParentWants>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParentWants {
    pub supplier: bool,
}

impl Wants {
    /// What the selection of the current field asks of its products: the field's own selection (a
    /// product), or the `nodes` and `edges { node }` of a connection. The parent is joined only for
    /// callers that may see it (not through the provider surface).
    pub fn of(ctx: &Context<'_>, connection: bool, with_parent: bool) -> Self {
        let look = ctx.look_ahead();
        let asks = |path: &[&str]| {
            if connection {
                at(&look, &[&["nodes"], path].concat()).exists()
                    || at(&look, &[&["edges", "node"], path].concat()).exists()
            } else {
                at(&look, path).exists()
            }
        };
        Self {
            tariffs: asks(&["tariffs"]),
            extra_fields: asks(&["extraFields"]),
            supplier: asks(&["supplier"]),
            parent: (with_parent && asks(&["parent"])).then(|| ParentWants { supplier: asks(&["parent", "supplier"]) }),
        }
    }
}

/// The selection at `path` under `look` (`path` is not empty).
fn at<'a>(look: &async_graphql::Lookahead<'a>, path: &[&str]) -> async_graphql::Lookahead<'a> {
    path[1..].iter().fold(look.field(path[0]), |found, field| found.field(field))
}

/// The names a joined row gives the columns of the parent and the suppliers (the SQL reads better; the
/// rows are read by position).
macro_rules! product_names {
    ($prefix:literal) => {
        [
            concat!($prefix, "id"),
            concat!($prefix, "account_id"),
            concat!($prefix, "supplier_id"),
            concat!($prefix, "parent_id"),
            concat!($prefix, "sku"),
            concat!($prefix, "name"),
            concat!($prefix, "description"),
            concat!($prefix, "product_type"),
            concat!($prefix, "category"),
            concat!($prefix, "incentive"),
            concat!($prefix, "active"),
            concat!($prefix, "authorised"),
            concat!($prefix, "created_at"),
            concat!($prefix, "updated_at"),
            concat!($prefix, "tariffs"),
            concat!($prefix, "extra_fields"),
        ]
    };
}
macro_rules! supplier_names {
    ($prefix:literal) => {
        [
            concat!($prefix, "id"),
            concat!($prefix, "account_id"),
            concat!($prefix, "name"),
            concat!($prefix, "contractant"),
            concat!($prefix, "contact_name"),
            concat!($prefix, "email"),
            concat!($prefix, "phone"),
            concat!($prefix, "website"),
            concat!($prefix, "logo_url"),
            concat!($prefix, "logo_file_id"),
            concat!($prefix, "created_at"),
            concat!($prefix, "updated_at"),
        ]
    };
}
type ProductNames = [&'static str; 16];
type SupplierNames = [&'static str; 12];
const SUPPLIER: SupplierNames = supplier_names!("supplier__");
const PARENT: ProductNames = product_names!("parent__");
const PARENT_SUPPLIER: SupplierNames = supplier_names!("parent_supplier__");

/// The product columns, in the order [`product_names`] names them.
const PRODUCT_COLUMNS: [product::Column; 16] = {
    use product::Column as P;
    [
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
        P::Tariffs,
        P::ExtraFields,
    ]
};
/// The scalar columns: all but the two JSON ones, read only when asked for.
const SCALARS: usize = 14;

/// The supplier columns in [`SUPPLIER`]'s order.
const SUPPLIER_COLUMNS: [supplier::Column; 12] = {
    use supplier::Column as S;
    [
        S::Id,
        S::AccountId,
        S::Name,
        S::Contractant,
        S::ContactName,
        S::Email,
        S::Phone,
        S::Website,
        S::LogoUrl,
        S::LogoFileId,
        S::CreatedAt,
        S::UpdatedAt,
    ]
};

/// `LEFT JOIN suppliers AS alias ON alias.id = owner.supplier_id AND alias.account_id = owner.account_id`:
/// never another account's supplier, whatever a row says.
fn join_supplier(select: &mut sea_orm::sea_query::SelectStatement, owner: Alias, alias: Alias, names: &SupplierNames) {
    use product::Column as P;
    let on = Expr::col((alias.clone(), supplier::Column::Id))
        .equals((owner.clone(), P::SupplierId))
        .and(Expr::col((alias.clone(), supplier::Column::AccountId)).equals((owner, P::AccountId)));
    select.join_as(JoinType::LeftJoin, supplier::Entity, alias.clone(), on);
    for (column, name) in SUPPLIER_COLUMNS.iter().zip(names) {
        select.expr_as(Expr::col((alias.clone(), *column)), Alias::new(*name));
    }
}

/// Narrows `select` to the columns `wants` needs, joining the supplier, the parent and the parent's
/// supplier when asked.
pub fn columns(select: Select<product::Entity>, wants: Wants) -> Select<product::Entity> {
    use product::Column as P;
    let mut select = select.select_only().columns(PRODUCT_COLUMNS[..SCALARS].iter().copied());
    if wants.tariffs {
        select = select.column(P::Tariffs);
    }
    if wants.extra_fields {
        select = select.column(P::ExtraFields);
    }
    let products = Alias::new("products");
    let statement = QuerySelect::query(&mut select);
    if wants.supplier {
        join_supplier(statement, products.clone(), Alias::new("supplier"), &SUPPLIER);
    }
    if let Some(parent_wants) = wants.parent {
        let parent = Alias::new("parent");
        let on = Expr::col((parent.clone(), P::Id))
            .equals((products.clone(), P::ParentId))
            .and(Expr::col((parent.clone(), P::AccountId)).equals((products, P::AccountId)));
        statement.join_as(JoinType::LeftJoin, product::Entity, parent.clone(), on);
        for (column, name) in PRODUCT_COLUMNS[..SCALARS].iter().zip(&PARENT) {
            statement.expr_as(Expr::col((parent.clone(), *column)), Alias::new(*name));
        }
        if parent_wants.supplier {
            join_supplier(statement, parent, Alias::new("parent_supplier"), &PARENT_SUPPLIER);
        }
    }
    select
}

/// A product as read: with its supplier when that was joined (`Some(None)`: the product has none), and
/// its parent (read the same way) when that was.
#[derive(Clone)]
pub struct Read {
    pub product: product::Model,
    pub supplier: Option<Option<supplier::Model>>,
    pub parent: Option<Option<Box<Read>>>,
}

/// Reads a row's columns in the order [`columns`] selected them: by position, since looking a column up
/// by name compares it with every name of the row (a three-level row has about forty).
struct Columns<'a> {
    row: &'a QueryResult,
    at: usize,
}

impl Columns<'_> {
    fn next<T: sea_orm::TryGetable>(&mut self) -> Result<T, DbErr> {
        self.at += 1;
        self.row.try_get_by_index(self.at - 1)
    }

    fn skip(&mut self, columns: usize) {
        self.at += columns;
    }
}

fn product_at(columns: &mut Columns<'_>, json: (bool, bool)) -> Result<product::Model, DbErr> {
    Ok(product::Model {
        id: columns.next()?,
        account_id: columns.next()?,
        supplier_id: columns.next()?,
        parent_id: columns.next()?,
        sku: columns.next()?,
        name: columns.next()?,
        description: columns.next()?,
        product_type: columns.next()?,
        category: columns.next()?,
        incentive: columns.next()?,
        active: columns.next()?,
        authorised: columns.next()?,
        created_at: columns.next()?,
        updated_at: columns.next()?,
        // Null: not read (the fields that show them read the row again).
        tariffs: if json.0 { columns.next()? } else { serde_json::Value::Null },
        extra_fields: if json.1 { columns.next()? } else { serde_json::Value::Null },
    })
}

/// A joined supplier, `None` when the join found none (every column NULL).
fn supplier_at(columns: &mut Columns<'_>) -> Result<Option<supplier::Model>, DbErr> {
    let Some(id) = columns.next::<Option<Uuid>>()? else {
        columns.skip(SUPPLIER_COLUMNS.len() - 1);
        return Ok(None);
    };
    Ok(Some(supplier::Model {
        id,
        account_id: columns.next()?,
        name: columns.next()?,
        contractant: columns.next()?,
        contact_name: columns.next()?,
        email: columns.next()?,
        phone: columns.next()?,
        website: columns.next()?,
        logo_url: columns.next()?,
        logo_file_id: columns.next()?,
        created_at: columns.next()?,
        updated_at: columns.next()?,
    }))
}

/// Decodes one row of [`columns`].
pub fn read(row: &QueryResult, wants: Wants) -> Result<Read, DbErr> {
    let mut columns = Columns { row, at: 0 };
    let product = product_at(&mut columns, (wants.tariffs, wants.extra_fields))?;
    let supplier = if wants.supplier { Some(supplier_at(&mut columns)?) } else { None };
    let parent = match wants.parent {
        None => None,
        Some(parent_wants) => {
            // No parent, or a parent id whose row did not join (another account's): no parent.
            if columns.row.try_get_by_index::<Option<Uuid>>(columns.at)?.is_none() {
                Some(None)
            } else {
                let product = product_at(&mut columns, (false, false))?;
                let supplier = if parent_wants.supplier { Some(supplier_at(&mut columns)?) } else { None };
                Some(Some(Box::new(Read { product, supplier, parent: None })))
            }
        }
    };
    Ok(Read { product, supplier, parent })
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
    Ok(connection(all(db, select, wants).await?, page, |row| row.product.id, convert))
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
            found.extend(rows.into_iter().map(|row| ((row.product.id, wants), row)));
        }
        Ok(found)
    }
}
