//! Exact Online's accounts as Koppel's remote customers, read incrementally through the Sync API
//! (`sync/CRM/Accounts`, `Timestamp gt N`, pages of 1000, `$select` required), and the deletion feed
//! (`sync/Deleted`, EntityType 2 for accounts). The cursor of both is Exact's `Timestamp`, an int64
//! rowversion kept as text: the highest a page showed.

use super::ExactClient;
use super::values::{date, flag, text};
use crate::connectors::{Changes, ConnectorError, Page, RemoteCustomer};
use serde_json::{Value, json};

pub const ACCOUNTS: &str = "sync/CRM/Accounts";
pub const DELETED: &str = "sync/Deleted";
/// The fields of an account Koppel reads (the Sync API refuses a request without `$select`).
pub const ACCOUNT_FIELDS: &str = "Timestamp,ID,Code,Name,IsSales,Status,Email,Phone,AddressLine1,Postcode,City,\
                                  Country,VATNumber,ChamberOfCommerce,Blocked,Modified";
/// The fields of an account that field mappings may read (`customer` mappings), by Exact's names.
pub const MAPPABLE_FIELDS: &[(&str, &str)] = &[
    ("Code", "Code"),
    ("Name", "Name"),
    ("Email", "E-mail"),
    ("Phone", "Phone"),
    ("AddressLine1", "Address line 1"),
    ("Postcode", "Postcode"),
    ("City", "City"),
    ("Country", "Country"),
    ("VATNumber", "VAT number"),
    ("ChamberOfCommerce", "Chamber of Commerce (KvK) number"),
    ("Status", "Status (C customer, A/S/P)"),
];
/// `sync/Deleted`'s EntityType of accounts.
pub const ACCOUNT_ENTITY_TYPE: i64 = 2;

/// The Sync API's first cursor: Exact's documentation starts with `Timestamp gt 1`.
const FIRST: i64 = 1;

fn since_of(since: Option<&str>) -> Result<i64, ConnectorError> {
    match since {
        None => Ok(FIRST),
        Some(text) => text.parse().map_err(|_| {
            ConnectorError::Protocol(format!("a stored Exact Online cursor that is no Timestamp: {text}"))
        }),
    }
}

/// One page of accounts changed after `since`: the customers among them, and the highest Timestamp.
pub async fn account_changes(
    client: &ExactClient,
    since: Option<&str>,
    after: Option<String>,
) -> Result<Changes<RemoteCustomer>, ConnectorError> {
    let since = since_of(since)?;
    let query = [("$select", ACCOUNT_FIELDS.to_owned()), ("$filter", format!("Timestamp gt {since}L"))];
    let (rows, next) = client.list(ACCOUNTS, &query, after.as_deref()).await?;
    let mut highest = since;
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        highest = highest.max(timestamp(&row)?);
        if let Some(customer) = customer_of(&row)? {
            items.push(customer);
        }
    }
    Ok(Changes { page: Page { items, next }, cursor: Some(highest.to_string()) })
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
fn timestamp(row: &Value) -> Result<i64, ConnectorError> {
    match &row["Timestamp"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().trim_end_matches('L').parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ConnectorError::Protocol(format!("a Sync API row without a Timestamp: {}", row["ID"])))
}

/// The customer an account is: an account is one when it is a sales relation (`IsSales`) or its status
/// is C (customer); it counts as inactive when blocked or its status is no longer C. Other accounts
/// (suppliers, prospects only) are not customers.
pub fn customer_of(row: &Value) -> Result<Option<RemoteCustomer>, ConnectorError> {
    let status = text(&row["Status"]).unwrap_or_default();
    if !flag(&row["IsSales"]).unwrap_or(false) && status != "C" {
        return Ok(None);
    }
    let id =
        text(&row["ID"]).ok_or_else(|| ConnectorError::Protocol("an account without an ID".into()))?.to_lowercase();
    let address = text(&row["AddressLine1"]).map(|line| {
        let (street, house_number) = match line.rsplit_once(' ') {
            Some((street, number)) if number.starts_with(|c: char| c.is_ascii_digit()) => {
                (street.trim().to_owned(), number.to_owned())
            }
            _ => (line.clone(), String::new()),
        };
        json!({
            "kind": "visit",
            "street": street,
            "houseNumber": house_number,
            "postcode": text(&row["Postcode"]).unwrap_or_default(),
            "city": text(&row["City"]).unwrap_or_default(),
            "country": text(&row["Country"]).unwrap_or_else(|| "NL".into()),
        })
    });
    Ok(Some(RemoteCustomer {
        id,
        code: text(&row["Code"]),
        name: text(&row["Name"]).unwrap_or_default(),
        email: text(&row["Email"]),
        phone: text(&row["Phone"]),
        kvk_number: text(&row["ChamberOfCommerce"]),
        vat_number: text(&row["VATNumber"]),
        address,
        inactive: flag(&row["Blocked"]).unwrap_or(false) || status != "C",
        modified_at: row["Modified"].as_str().and_then(date),
        fields: MAPPABLE_FIELDS.iter().filter_map(|(key, _)| Some(((*key).to_owned(), text(&row[*key])?))).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_becomes_a_customer_with_its_code_trimmed_and_its_flags_read() {
        let row = json!({"Timestamp": 7, "ID": "A1B2", "Code": "              1001", "Name": "Bakkerij Jansen",
            "IsSales": 1, "Status": "C", "Email": "jan@bakkerij.nl", "ChamberOfCommerce": "12345678",
            "AddressLine1": "Dorpsstraat 12a", "Postcode": "1234 AB", "City": "Utrecht", "Country": "NL ",
            "Blocked": 0, "Modified": "/Date(1641034800000)/"});
        let customer = customer_of(&row).unwrap().unwrap();
        assert_eq!(customer.id, "a1b2");
        assert_eq!(customer.code.as_deref(), Some("1001"));
        assert_eq!(customer.kvk_number.as_deref(), Some("12345678"));
        assert!(!customer.inactive);
        assert_eq!(customer.address.unwrap()["houseNumber"], "12a");
        // 2022-01-01 11:00 in Amsterdam is 10:00 UTC.
        assert_eq!(customer.modified_at.unwrap().to_rfc3339(), "2022-01-01T10:00:00+00:00");
        let blocked = json!({"Timestamp": 8, "ID": "b", "Name": "X", "IsSales": true, "Status": "C", "Blocked": true});
        assert!(customer_of(&blocked).unwrap().unwrap().inactive);
        let supplier = json!({"Timestamp": 9, "ID": "c", "Name": "Leverancier", "IsSales": false, "Status": "A"});
        assert!(customer_of(&supplier).unwrap().is_none());
        assert_eq!(timestamp(&json!({"Timestamp": "123"})).unwrap(), 123);
        assert!(since_of(Some("yesterday")).is_err());
    }
}
