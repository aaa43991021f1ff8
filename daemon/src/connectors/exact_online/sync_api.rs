//! Exact Online's Sync API, what its endpoints share: the cursor, Exact's `Timestamp` (an int64 rowversion
//! kept as text: the highest a page showed; the first read asks `Timestamp gt 1`), and the deletion feed
//! `sync/Deleted`, whose rows name the deleted record (`EntityKey`) and its kind (`EntityType`: 2 for
//! accounts, 9 for items).

use super::ExactClient;
use super::values::text;
use crate::connectors::{Changes, ConnectorError, Page};
use serde_json::Value;

pub const DELETED: &str = "sync/Deleted";

/// The Sync API's first cursor: Exact's documentation starts with `Timestamp gt 1`.
const FIRST: i64 = 1;

pub(super) fn since_of(since: Option<&str>) -> Result<i64, ConnectorError> {
    match since {
        None => Ok(FIRST),
        Some(text) => text.parse().map_err(|_| {
            ConnectorError::Protocol(format!("a stored Exact Online cursor that is no Timestamp: {text}"))
        }),
    }
}

/// One page of `sync/Deleted` after `since`: the ids (`EntityKey`) of the deleted records of
/// `entity_type`, and the highest Timestamp.
pub async fn deleted(
    client: &ExactClient,
    entity_type: i64,
    since: Option<&str>,
    after: Option<String>,
) -> Result<Changes<String>, ConnectorError> {
    let since = since_of(since)?;
    let query = [
        ("$select", "Timestamp,EntityKey,EntityType,DeletedDate".to_owned()),
        ("$filter", format!("Timestamp gt {since}L")),
    ];
    let (rows, next) = client.list(DELETED, &query, after.as_deref()).await?;
    let mut highest = since;
    let mut items = Vec::new();
    for row in rows {
        highest = highest.max(timestamp(&row)?);
        if row["EntityType"].as_i64() == Some(entity_type)
            && let Some(key) = text(&row["EntityKey"])
        {
            items.push(key.to_lowercase());
        }
    }
    Ok(Changes { page: Page { items, next }, cursor: Some(highest.to_string()) })
}

/// `Timestamp`: a number, or (OData's Edm.Int64) a text.
pub(super) fn timestamp(row: &Value) -> Result<i64, ConnectorError> {
    match &row["Timestamp"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().trim_end_matches('L').parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ConnectorError::Protocol(format!("a Sync API row without a Timestamp: {}", row["ID"])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_timestamp_is_a_number_or_a_text_and_a_stored_cursor_must_be_one() {
        assert_eq!(timestamp(&json!({"Timestamp": "123"})).unwrap(), 123);
        assert_eq!(timestamp(&json!({"Timestamp": 7})).unwrap(), 7);
        assert!(timestamp(&json!({"ID": "x"})).is_err());
        assert!(since_of(Some("yesterday")).is_err());
        assert_eq!(since_of(None).unwrap(), 1);
    }
}
