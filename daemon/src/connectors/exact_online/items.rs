//! Exact Online's items as Koppel's products: read through the Sync API (`sync/Logistics/Items`, pages of
//! 1000, `$select` required; from the start, or the items changed after a `Timestamp`, deletions in
//! `sync/Deleted` as EntityType 9), one by one through `logistics/Items` by id, and by code for orders.
//! Codes and VAT codes may be space-padded and booleans 0/1: both are read as Exact sends them.

use super::client::ExactClient;
use super::sync_api::{since_of, timestamp};
use super::values as wire;
use crate::connectors::{
    ChangedRecord, Changes, ConnectorError, ListRequest, Page, RemoteField, RemoteProduct, RemoteTariff,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The fields read of an item (the Sync API wants them named).
const ITEM_FIELDS: &str = "ID,Code,Description,ExtraDescription,IsSalesItem,IsStockItem,StandardSalesPrice,\
                           SalesVatCode,Unit,ItemGroupCode,Barcode,Modified,Timestamp";

/// The item's fields a product carries besides the built-in ones (for field mappings): key, Exact's
/// name, label.
const FIELDS: [(&str, &str, &str); 3] =
    [("unit", "Unit", "Unit"), ("vatCode", "SalesVatCode", "Sales VAT code"), ("barcode", "Barcode", "Barcode")];

/// [`FIELDS`], as the mappings offer them.
pub fn fields() -> Vec<RemoteField> {
    FIELDS
        .iter()
        .map(|(key, _, label)| RemoteField {
            key: (*key).into(),
            label: (*label).into(),
            field_type: "text".into(),
            options: Vec::new(),
        })
        .collect()
}

/// `sync/Deleted`'s EntityType of items.
pub const ITEM_ENTITY_TYPE: i64 = 9;

/// How many ids or codes one `$filter` names (Exact's URLs stay short).
const FILTER_CHUNK: usize = 20;

/// One page of the sales items, from the start (`Timestamp gt 1`) or from a `__next` link.
pub async fn page(client: &ExactClient, request: &ListRequest) -> Result<Page<RemoteProduct>, ConnectorError> {
    let query = [("$select", ITEM_FIELDS.to_owned()), ("$filter", "Timestamp gt 1".to_owned())];
    let (rows, next) = client.list("sync/Logistics/Items", &query, request.after.as_deref()).await?;
    let items = rows.iter().filter_map(|row| product(row).transpose()).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, next })
}

/// One page of the items changed after the Timestamp `since` (from the start when none): the sales items as
/// they are now, the others (purchase-only now) gone for Koppel; and the highest Timestamp.
pub async fn changes(
    client: &ExactClient,
    since: Option<&str>,
    after: Option<String>,
) -> Result<Changes<ChangedRecord<RemoteProduct>>, ConnectorError> {
    let since = since_of(since)?;
    let query = [("$select", ITEM_FIELDS.to_owned()), ("$filter", format!("Timestamp gt {since}L"))];
    let (rows, next) = client.list("sync/Logistics/Items", &query, after.as_deref()).await?;
    let mut highest = since;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        highest = highest.max(timestamp(&row)?);
        items.push(match product(&row)? {
            Some(product) => ChangedRecord::Present(product),
            None => ChangedRecord::Gone(id_of(&row)?),
        });
    }
    Ok(Changes { page: Page { items, next }, cursor: Some(highest.to_string()) })
}

/// The items with these ids; ids Exact does not show are left out.
pub async fn by_ids(client: &ExactClient, ids: &[String]) -> Result<Vec<RemoteProduct>, ConnectorError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(FILTER_CHUNK) {
        let filter =
            chunk.iter().map(|id| guid(id).map(|id| format!("ID eq guid'{id}'"))).collect::<Result<Vec<_>, _>>()?;
        let query = [("$select", ITEM_FIELDS.replace(",Timestamp", "")), ("$filter", filter.join(" or "))];
        let mut next = None;
        loop {
            let (rows, more) = client.list("logistics/Items", &query, next.as_deref()).await?;
            for row in &rows {
                found.extend(product(row)?);
            }
            match more {
                Some(more) => next = Some(more),
                None => break,
            }
        }
    }
    Ok(found)
}

/// The ids of the items with these codes, by code; codes Exact does not know are left out.
pub async fn ids_by_code(client: &ExactClient, codes: &[String]) -> Result<HashMap<String, String>, ConnectorError> {
    let mut found = HashMap::new();
    for chunk in codes.chunks(FILTER_CHUNK) {
        let filter: Vec<String> = chunk.iter().map(|code| format!("Code eq {}", literal(code))).collect();
        let query = [("$select", "ID,Code".to_owned()), ("$filter", filter.join(" or "))];
        let (rows, _) = client.list("logistics/Items", &query, None).await?;
        for row in rows {
            if let (Some(id), Some(code)) = (row["ID"].as_str(), row["Code"].as_str()) {
                found.insert(code.trim().to_owned(), id.to_owned());
            }
        }
    }
    Ok(found)
}

/// An OData string literal: single quotes doubled.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A guid as Exact writes it; anything else is refused before it reaches a filter.
pub fn guid(value: &str) -> Result<String, ConnectorError> {
    uuid::Uuid::parse_str(value)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| ConnectorError::Protocol(format!("{value} is not an Exact Online id")))
}

/// An item's id, as `sync/Deleted` names it too (lower case).
fn id_of(row: &Value) -> Result<String, ConnectorError> {
    wire::text(&row["ID"])
        .map(|id| id.to_lowercase())
        .ok_or_else(|| ConnectorError::Protocol("an item without ID".into()))
}

/// A sales item as a product; `None` for items that are not sold (purchase-only).
fn product(row: &Value) -> Result<Option<RemoteProduct>, ConnectorError> {
    if !wire::flag(&row["IsSalesItem"]).unwrap_or(true) {
        return Ok(None);
    }
    let id = id_of(row)?;
    let code = wire::text(&row["Code"]).unwrap_or_default();
    let mut fields = BTreeMap::new();
    for (key, name, _) in FIELDS {
        if let Some(value) = wire::text(&row[name]) {
            fields.insert(key.to_owned(), value);
        }
    }
    let tariffs = match row["StandardSalesPrice"].as_f64() {
        Some(price) => vec![RemoteTariff {
            code: "standard".into(),
            label: "Standard sales price".into(),
            amount: format!("{price:.2}"),
            unit: wire::text(&row["Unit"]).map_or_else(|| "EUR".to_owned(), |unit| format!("EUR/{unit}")),
        }],
        None => Vec::new(),
    };
    Ok(Some(RemoteProduct {
        id,
        name: wire::text(&row["Description"]).unwrap_or_else(|| code.clone()),
        sku: code,
        description: wire::text(&row["ExtraDescription"]),
        product_type: if wire::flag(&row["IsStockItem"]).unwrap_or(false) { "simple" } else { "virtual" }.into(),
        category: wire::text(&row["ItemGroupCode"]),
        tariffs,
        fields,
        incentive: None,
        supplier: None,
        updated_at: row["Modified"].as_str().and_then(wire::date),
        attachments: Vec::new(),
    }))
}
