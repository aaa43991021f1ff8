//! Koppel's products as Exact Online items, the connector's part of the engine's product push: items
//! found by `Code` in `logistics/Items` (Exact may keep codes space-padded: they are compared trimmed),
//! made with a POST of every field and changed with a PUT of only the fields asked (Exact answers 204);
//! categories are item groups (`logistics/ItemGroups`), found by `Code` and made when missing.
//!
//! Koppel's fields in Exact's words: name → `Description`, description → `ExtraDescription`, price →
//! `StandardSalesPrice`, category → `ItemGroup` (the group's ID), product type → `IsStockItem`. Every
//! item pushed is a sales item (`IsSalesItem`), set when it is made.

use super::client::ExactClient;
use super::items::{guid, literal};
use super::values::{flag, text};
use crate::connectors::{ConnectorError, ItemField, ItemValues, OutboundItem, RemoteItem};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// The fields read of an item to compare it with a product.
const FIELDS: &str = "ID,Code,Description,ExtraDescription,StandardSalesPrice,ItemGroup,IsStockItem";

/// Codes per `$filter` (Exact's URLs stay short).
const CODES_PER_FILTER: usize = 20;

/// The items with these codes, by code as asked; codes Exact does not know are left out.
pub async fn find(client: &ExactClient, codes: &[String]) -> Result<HashMap<String, RemoteItem>, ConnectorError> {
    let mut found = HashMap::new();
    for chunk in codes.chunks(CODES_PER_FILTER) {
        let filter: Vec<String> = chunk.iter().map(|code| format!("Code eq {}", literal(code.trim()))).collect();
        let query = [("$select", FIELDS.to_owned()), ("$filter", filter.join(" or "))];
        let mut next = None;
        loop {
            let (rows, more) = client.list("logistics/Items", &query, next.as_deref()).await?;
            for row in &rows {
                let item = remote_item(row)?;
                if let Some(asked) = chunk.iter().find(|c| c.trim() == item.code) {
                    found.insert(asked.clone(), item);
                }
            }
            match more {
                Some(more) => next = Some(more),
                None => break,
            }
        }
    }
    Ok(found)
}

fn remote_item(row: &Value) -> Result<RemoteItem, ConnectorError> {
    let id = row["ID"].as_str().ok_or_else(|| ConnectorError::Protocol("an item without ID".into()))?;
    Ok(RemoteItem {
        id: id.to_owned(),
        code: text(&row["Code"]).unwrap_or_default(),
        values: ItemValues {
            name: text(&row["Description"]).unwrap_or_default(),
            description: text(&row["ExtraDescription"]),
            price: row["StandardSalesPrice"].as_f64().map(|p| format!("{p:.2}")),
            category_id: text(&row["ItemGroup"]),
            stock_item: flag(&row["IsStockItem"]).unwrap_or(false),
        },
    })
}

/// The ID of the item group with this code; made (with the code as its description) when Exact has
/// none and `create`.
pub async fn item_group(client: &ExactClient, code: &str, create: bool) -> Result<Option<String>, ConnectorError> {
    let code = code.trim();
    let query = [
        ("$select", "ID,Code".to_owned()),
        ("$filter", format!("Code eq {}", literal(code))),
        ("$top", "1".to_owned()),
    ];
    let (rows, _) = client.list("logistics/ItemGroups", &query, None).await?;
    if let Some(id) = rows.first().and_then(|r| r["ID"].as_str()) {
        return Ok(Some(id.to_owned()));
    }
    if !create {
        return Ok(None);
    }
    let made = client.post("logistics/ItemGroups", &json!({ "Code": code, "Description": code })).await?;
    let id = made["ID"]
        .as_str()
        .ok_or_else(|| ConnectorError::Protocol("logistics/ItemGroups answered no ID for the new group".into()))?;
    Ok(Some(id.to_owned()))
}

/// Makes the item with every field; returns its ID.
pub async fn create(client: &ExactClient, item: &OutboundItem) -> Result<String, ConnectorError> {
    let mut body = fields(item, &ItemField::ALL);
    body.insert("Code".into(), json!(item.code));
    body.insert("IsSalesItem".into(), json!(true));
    let made = client.post("logistics/Items", &Value::Object(body)).await?;
    made["ID"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ConnectorError::Protocol("logistics/Items answered no ID for the new item".into()))
}

/// Writes `only` of the item's fields onto Exact's item `id`.
pub async fn update(
    client: &ExactClient,
    id: &str,
    item: &OutboundItem,
    only: &[ItemField],
) -> Result<(), ConnectorError> {
    if only.is_empty() {
        return Ok(());
    }
    client.put(&format!("logistics/Items(guid'{}')", guid(id)?), &Value::Object(fields(item, only))).await
}

/// The item's fields in Exact's words; a value Koppel does not have is sent empty (`null`), so that an
/// update clears it.
fn fields(item: &OutboundItem, only: &[ItemField]) -> Map<String, Value> {
    let values = &item.values;
    let mut body = Map::new();
    for field in only {
        let (name, value) = match field {
            ItemField::Name => ("Description", json!(values.name)),
            ItemField::Description => ("ExtraDescription", json!(values.description)),
            ItemField::Price => {
                ("StandardSalesPrice", json!(values.price.as_deref().and_then(|p| p.parse::<f64>().ok())))
            }
            ItemField::Category => ("ItemGroup", json!(values.category_id)),
            ItemField::ProductType => ("IsStockItem", json!(values.stock_item)),
        };
        body.insert(name.into(), value);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_reads_padded_codes_and_numeric_flags_and_writes_only_what_is_asked() {
        let row = json!({"ID": "6a1e4c0b-6f0e-4c35-9d63-0c6f6f1d2a01", "Code": "   OVEN-1", "Description": "Oven",
                         "ExtraDescription": null, "StandardSalesPrice": 1499.0, "ItemGroup": null, "IsStockItem": 1});
        let item = remote_item(&row).unwrap();
        assert_eq!((item.code.as_str(), item.values.stock_item), ("OVEN-1", true));
        assert_eq!(item.values.price.as_deref(), Some("1499.00"));
        let outbound = OutboundItem { code: "OVEN-1".into(), values: item.values.clone() };
        let body = fields(&outbound, &[ItemField::Price, ItemField::Description]);
        assert_eq!(Value::Object(body), json!({"StandardSalesPrice": 1499.0, "ExtraDescription": null}));
        assert_eq!(fields(&outbound, &ItemField::ALL).len(), 5);
    }
}
