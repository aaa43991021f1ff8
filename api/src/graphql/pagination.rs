//! Relay connections over any tenant table, keyed by the time-ordered UUIDv7 id.

use crate::error::{ApiError, ApiResult};
use async_graphql::OutputType;
use async_graphql::connection::{Connection, Edge};
use base64::Engine;
use koppel_entity::{HasId, Scoped};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect, Select};
use uuid::Uuid;

pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 100;

/// The complexity of a list field: its children count once per row of the page it may return, so a
/// large page of a nested list costs what it loads. Every paged field uses it:
/// `#[graphql(complexity = "page_complexity(first, child_complexity)")]`. Out-of-range sizes count as
/// the nearest allowed one (the resolver refuses them anyway), and the product saturates.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    (first.map_or(DEFAULT_PAGE as i64, i64::from).clamp(1, MAX_PAGE as i64) as usize).saturating_mul(child_complexity)
}

/// `first` of a list: 1 to 100, 50 when not given.
pub fn page_size(first: Option<i32>) -> ApiResult<usize> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE as i32).contains(&n) => Ok(n as usize),
        Some(n) => Err(ApiError::BadUserInput(format!("first must be between 1 and {MAX_PAGE}, not {n}"))),
    }
}

/// Which page of a list to return.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub first: usize,
    pub after: Option<Uuid>,
}

impl Page {
    /// Checks `first` (1 to 100) and decodes `after`.
    pub fn new(first: Option<i32>, after: Option<String>) -> ApiResult<Self> {
        let after = after.map(|cursor| decode_cursor(&cursor)).transpose()?;
        Ok(Self { first: page_size(first)?, after })
    }
}

pub fn encode_cursor(id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id.as_bytes())
}

fn decode_cursor(cursor: &str) -> ApiResult<Uuid> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::BadUserInput("after is not a cursor of this list".into()))
}

/// One page of `select`, converted to GraphQL nodes.
pub async fn paginate<E, T>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    page: Page,
    convert: impl Fn(E::Model) -> T,
) -> ApiResult<Connection<String, T>>
where
    E: Scoped,
    E::Model: HasId,
    T: OutputType,
{
    let mut select = select.order_by_asc(E::id_column()).limit(page.first as u64 + 1);
    if let Some(after) = page.after {
        select = select.filter(E::id_column().gt(after));
    }
    Ok(connection(select.all(db).await?, page, |row| row.id(), convert))
}

/// The connection of `page` from the rows read for it: up to `first + 1` rows in id order, the one past
/// the page telling that there is a next page.
pub fn connection<R, T: OutputType>(
    mut rows: Vec<R>,
    page: Page,
    id_of: impl Fn(&R) -> Uuid,
    convert: impl Fn(R) -> T,
) -> Connection<String, T> {
    let has_next = rows.len() > page.first;
    rows.truncate(page.first);
    let mut connection = Connection::new(page.after.is_some(), has_next);
    connection.edges.extend(rows.into_iter().map(|row| Edge::new(encode_cursor(id_of(&row)), convert(row))));
    connection
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_complexity_counts_the_page_and_never_overflows() {
        assert_eq!(page_complexity(None, 3), 150);
        assert_eq!(page_complexity(Some(20), 3), 60);
        assert_eq!(page_complexity(Some(i32::MAX), 3), 300);
        assert_eq!(page_complexity(Some(-5), 3), 3);
        assert_eq!(page_complexity(Some(100), usize::MAX), usize::MAX);
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let id = Uuid::now_v7();
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("not a cursor").is_err());
        assert!(Page::new(Some(0), None).is_err());
        assert!(Page::new(Some(101), None).is_err());
        assert_eq!(Page::new(None, None).unwrap().first, DEFAULT_PAGE);
    }
}
