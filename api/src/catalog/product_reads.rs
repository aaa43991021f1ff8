//! How the product lists read: only what the query asks for, in as few statements as it allows.
//!
//! - The supplier is LEFT JOINed into the same statement when the query asks for `supplier`, and the
//!   parent product and its supplier when it asks for `parent`.
//! - Only the columns the query's fields show are read (and the keys, always): a list that shows three
//!   names reads twelve columns, not forty. Decoding the rest was most of Koppel's CPU for such a page, and
//!   sending it most of PostgreSQL's. Which columns a field shows is written once, in [`PRODUCT_FIELDS`]
//!   and [`SUPPLIER_FIELDS`]; a test reads every field of both types through the list and through a single
//!   read of the whole row, so a field added later without its column here fails it.
//! - Rows are decoded by position (a name lookup compares with every column name of the row).

use crate::graphql::loaders::LoadError;
use crate::graphql::pagination::{Page, connection};
use async_graphql::connection::Connection;
use async_graphql::{Context, OutputType, SelectionField};
use koppel_entity::enums::ProductType;
use koppel_entity::{Scoped, product, supplier};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, SelectStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait,
    Select,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The product columns every read takes: the keys the other fields and the loaders need.
const PRODUCT_KEYS: [product::Column; 4] =
    [product::Column::Id, product::Column::AccountId, product::Column::SupplierId, product::Column::ParentId];

/// The product columns a read may leave out, each with the GraphQL field of `Product` that shows it, in
/// the order a row holds them. Every other field of `Product` needs only the keys.
pub const PRODUCT_FIELDS: [(&str, product::Column); 12] = {
    use product::Column as P;
    [
        ("sku", P::Sku),
        ("name", P::Name),
        ("description", P::Description),
        ("productType", P::ProductType),
        ("category", P::Category),
        ("incentive", P::Incentive),
        ("active", P::Active),
        ("authorised", P::Authorised),
        ("createdAt", P::CreatedAt),
        ("updatedAt", P::UpdatedAt),
        ("tariffs", P::Tariffs),
        ("extraFields", P::ExtraFields),
    ]
};

/// The supplier columns every joined read takes.
const SUPPLIER_KEYS: [supplier::Column; 2] = [supplier::Column::Id, supplier::Column::AccountId];

/// The supplier columns a read may leave out, with the field of `Supplier` that shows each (`logo` reads
/// the logo's file). Every other field of `Supplier` needs only the keys.
pub const SUPPLIER_FIELDS: [(&str, supplier::Column); 10] = {
    use supplier::Column as S;
    [
        ("name", S::Name),
        ("contractant", S::Contractant),
        ("contactName", S::ContactName),
        ("email", S::Email),
        ("phone", S::Phone),
        ("website", S::Website),
        ("logoUrl", S::LogoUrl),
        ("logo", S::LogoFileId),
        ("createdAt", S::CreatedAt),
        ("updatedAt", S::UpdatedAt),
    ]
};

/// Which of the optional columns of a table a read takes: bit `i` is entry `i` of that table's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Columns(u16);

impl Columns {
    pub fn has(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }

    /// How many optional columns the read takes.
    fn count(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Adds the column that the field `field` shows, if `table` names one.
    fn add_shown<T>(&mut self, table: &[(&str, T)], field: &str) {
        if let Some(i) = table.iter().position(|(name, _)| *name == field) {
            self.0 |= 1 << i;
        }
    }
}

/// What of a product a query asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Wants {
    /// The optional product columns ([`PRODUCT_FIELDS`]).
    pub columns: Columns,
    /// The supplier, joined, with its optional columns ([`SUPPLIER_FIELDS`]).
    pub supplier: Option<Columns>,
    /// The parent product, joined, with what of it.
    pub parent: Option<ParentWants>,
}

/// What of the parent product a query asks for (its own parent is read by its `parent` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ParentWants {
    pub columns: Columns,
    pub supplier: Option<Columns>,
}

impl Wants {
    /// What the selection of the current field asks of its products: the field's own selection (a
    /// product), or the `nodes` and `edges { node }` of a connection. Fragments count as written out; a
    /// field under `@skip` or a type condition counts as asked for (a read too many, never too few). The
    /// parent is joined only for callers that may see it (not through the provider surface).
    pub fn of(ctx: &Context<'_>, connection: bool, with_parent: bool) -> Self {
        let mut wants = Self::default();
        let field = ctx.field();
        if connection {
            for part in field.selection_set() {
                match part.name() {
                    "nodes" => wants.add(part, with_parent),
                    "edges" => part
                        .selection_set()
                        .filter(|f| f.name() == "node")
                        .for_each(|node| wants.add(node, with_parent)),
                    _ => {}
                }
            }
        } else {
            wants.add(field, with_parent);
        }
        wants
    }

    /// Adds what the selection of `product` (a field of type `Product`) asks for.
    fn add(&mut self, product: SelectionField<'_>, with_parent: bool) {
        for field in product.selection_set() {
            match field.name() {
                "supplier" => add_supplier(&mut self.supplier, field),
                "parent" if with_parent => {
                    let parent = self.parent.get_or_insert_with(ParentWants::default);
                    for field in field.selection_set() {
                        match field.name() {
                            "supplier" => add_supplier(&mut parent.supplier, field),
                            name => parent.columns.add_shown(&PRODUCT_FIELDS, name),
                        }
                    }
                }
                name => self.columns.add_shown(&PRODUCT_FIELDS, name),
            }
        }
    }
}

fn add_supplier(wants: &mut Option<Columns>, supplier: SelectionField<'_>) {
    let columns = wants.get_or_insert_with(Columns::default);
    for field in supplier.selection_set() {
        columns.add_shown(&SUPPLIER_FIELDS, field.name());
    }
}

/// Selects `alias.column` for each key and each optional column in `columns`.
fn select_columns<C: ColumnTrait + Copy>(
    statement: &mut SelectStatement,
    alias: &Alias,
    keys: &[C],
    fields: &[(&str, C)],
    columns: Columns,
) {
    let optional = fields.iter().enumerate().filter(|(i, _)| columns.has(*i)).map(|(_, (_, column))| column);
    for column in keys.iter().chain(optional) {
        statement.expr(Expr::col((alias.clone(), *column)));
    }
}

/// `LEFT JOIN suppliers AS alias ON alias.id = owner.supplier_id AND alias.account_id = owner.account_id`:
/// never another account's supplier, whatever a row says.
fn join_supplier(statement: &mut SelectStatement, owner: &Alias, alias: Alias, columns: Columns) {
    use product::Column as P;
    let on = Expr::col((alias.clone(), supplier::Column::Id))
        .equals((owner.clone(), P::SupplierId))
        .and(Expr::col((alias.clone(), supplier::Column::AccountId)).equals((owner.clone(), P::AccountId)));
    statement.join_as(JoinType::LeftJoin, supplier::Entity, alias.clone(), on);
    select_columns(statement, &alias, &SUPPLIER_KEYS, &SUPPLIER_FIELDS, columns);
}

/// Narrows `select` to the columns `wants` needs, joining the supplier, the parent and the parent's
/// supplier when asked.
pub fn columns(mut select: Select<product::Entity>, wants: Wants) -> Select<product::Entity> {
    use product::Column as P;
    let products = Alias::new("products");
    let statement = QuerySelect::query(&mut select);
    statement.clear_selects();
    select_columns(statement, &products, &PRODUCT_KEYS, &PRODUCT_FIELDS, wants.columns);
    if let Some(columns) = wants.supplier {
        join_supplier(statement, &products, Alias::new("supplier"), columns);
    }
    if let Some(parent_wants) = wants.parent {
        let parent = Alias::new("parent");
        let on = Expr::col((parent.clone(), P::Id))
            .equals((products.clone(), P::ParentId))
            .and(Expr::col((parent.clone(), P::AccountId)).equals((products, P::AccountId)));
        statement.join_as(JoinType::LeftJoin, product::Entity, parent.clone(), on);
        select_columns(statement, &parent, &PRODUCT_KEYS, &PRODUCT_FIELDS, parent_wants.columns);
        if let Some(columns) = parent_wants.supplier {
            join_supplier(statement, &parent, Alias::new("parent_supplier"), columns);
        }
    }
    select
}

/// A product as read: with its supplier when that was joined (`Some(None)`: the product has none), and
/// its parent (read the same way) when that was. The columns the read left out hold placeholders (empty
/// text, `false`, the epoch; `Null` for the JSON columns, which their fields read again when they find it).
#[derive(Clone)]
pub struct Read {
    pub product: product::Model,
    pub supplier: Option<Option<supplier::Model>>,
    pub parent: Option<Option<Box<Read>>>,
}

/// Reads a row's columns in the order [`columns`] selected them.
struct Row<'a> {
    row: &'a QueryResult,
    at: usize,
}

impl Row<'_> {
    fn next<T: sea_orm::TryGetable>(&mut self) -> Result<T, DbErr> {
        self.at += 1;
        self.row.try_get_by_index(self.at - 1)
    }

    /// The next column if the read took it (`i` of `columns`), else `T`'s placeholder.
    fn next_if<T: sea_orm::TryGetable + Default>(&mut self, columns: Columns, i: usize) -> Result<T, DbErr> {
        if columns.has(i) { self.next() } else { Ok(T::default()) }
    }

    fn skip(&mut self, columns: usize) {
        self.at += columns;
    }

    /// Whether the next column (a joined row's id) is NULL: the join found nothing.
    fn next_is_null(&self) -> Result<bool, DbErr> {
        Ok(self.row.try_get_by_index::<Option<Uuid>>(self.at)?.is_none())
    }
}

/// The placeholder of a timestamp the read left out.
fn no_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::UNIX_EPOCH
}

fn product_at(row: &mut Row<'_>, columns: Columns) -> Result<product::Model, DbErr> {
    let c = columns;
    Ok(product::Model {
        id: row.next()?,
        account_id: row.next()?,
        supplier_id: row.next()?,
        parent_id: row.next()?,
        sku: row.next_if(c, 0)?,
        name: row.next_if(c, 1)?,
        description: row.next_if(c, 2)?,
        product_type: if c.has(3) { row.next()? } else { ProductType::Simple },
        category: row.next_if(c, 4)?,
        incentive: row.next_if(c, 5)?,
        active: row.next_if(c, 6)?,
        authorised: row.next_if(c, 7)?,
        created_at: if c.has(8) { row.next()? } else { no_time() },
        updated_at: if c.has(9) { row.next()? } else { no_time() },
        tariffs: row.next_if(c, 10)?,
        extra_fields: row.next_if(c, 11)?,
    })
}

/// A joined supplier, `None` when the join found none (every column NULL).
fn supplier_at(row: &mut Row<'_>, columns: Columns) -> Result<Option<supplier::Model>, DbErr> {
    let c = columns;
    if row.next_is_null()? {
        row.skip(SUPPLIER_KEYS.len() + c.count());
        return Ok(None);
    }
    Ok(Some(supplier::Model {
        id: row.next()?,
        account_id: row.next()?,
        name: row.next_if(c, 0)?,
        contractant: row.next_if(c, 1)?,
        contact_name: row.next_if(c, 2)?,
        email: row.next_if(c, 3)?,
        phone: row.next_if(c, 4)?,
        website: row.next_if(c, 5)?,
        logo_url: row.next_if(c, 6)?,
        logo_file_id: row.next_if(c, 7)?,
        created_at: if c.has(8) { row.next()? } else { no_time() },
        updated_at: if c.has(9) { row.next()? } else { no_time() },
    }))
}

/// Decodes one row of [`columns`].
pub fn read(row: &QueryResult, wants: Wants) -> Result<Read, DbErr> {
    let mut row = Row { row, at: 0 };
    let product = product_at(&mut row, wants.columns)?;
    let supplier = match wants.supplier {
        Some(columns) => Some(supplier_at(&mut row, columns)?),
        None => None,
    };
    let parent = match wants.parent {
        None => None,
        // No parent, or a parent id whose row did not join (another account's): no parent.
        Some(_) if row.next_is_null()? => Some(None),
        Some(parent_wants) => {
            let product = product_at(&mut row, parent_wants.columns)?;
            let supplier = match parent_wants.supplier {
                Some(columns) => Some(supplier_at(&mut row, columns)?),
                None => None,
            };
            Some(Some(Box::new(Read { product, supplier, parent: None })))
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
