//! Sales orders at Exact Online, the four steps of the engine's order push
//! (the outbox's `orders::push`) in Exact's terms: an order is found by `YourRef`, items by `Code`, the
//! customer (an account, `crm/Accounts`) by the integration's matching key, and the order is a
//! `salesorder/SalesOrders` with its lines in one POST.
//!
//! A customer with a company name becomes a company debtor with its contact person (`crm/Contacts`); one
//! without becomes a person debtor (an account named after the person, no separate contact).

use super::client::ExactClient;
use super::items::{guid, literal};
use super::values::text;
use crate::connectors::{AcceptedSale, ConnectorError, OutboundCustomer, OutboundOrder};
use serde_json::{Map, Value, json};

/// The order Exact has under `reference` (its `YourRef`), when there is one.
pub async fn find(client: &ExactClient, reference: &str) -> Result<Option<AcceptedSale>, ConnectorError> {
    let query = [
        ("$select", "OrderID,OrderNumber,Status".to_owned()),
        ("$filter", format!("YourRef eq {}", literal(reference))),
        ("$top", "1".to_owned()),
    ];
    let (rows, _) = client.list("salesorder/SalesOrders", &query, None).await?;
    Ok(rows.first().and_then(accepted))
}

/// Creates the order; Exact answers it with its `OrderID`.
pub async fn create(client: &ExactClient, order: &OutboundOrder) -> Result<AcceptedSale, ConnectorError> {
    let lines: Vec<Value> = order
        .lines
        .iter()
        .map(|line| {
            let mut body = json!({ "Item": line.item_id, "Quantity": line.quantity });
            if let Some(price) = line.unit_price.as_deref().and_then(|p| p.parse::<f64>().ok()) {
                body["UnitPrice"] = json!(price);
            }
            body
        })
        .collect();
    let mut body = json!({ "OrderedBy": order.customer_id, "YourRef": order.reference, "SalesOrderLines": lines });
    if let Some(description) = &order.description {
        body["Description"] = json!(description);
    }
    let made = client.post("salesorder/SalesOrders", &body).await?;
    accepted(&made).ok_or_else(|| ConnectorError::Protocol("salesorder/SalesOrders answered no OrderID".into()))
}

fn accepted(row: &Value) -> Option<AcceptedSale> {
    let id = row["OrderID"].as_str()?;
    let status = match &row["Status"] {
        Value::Number(n) => Some(n.to_string()),
        other => text(other),
    };
    Some(AcceptedSale { id: id.to_owned(), status })
}

/// Creates the customer's account, or updates the one the matching key finds; returns its id.
pub async fn upsert_customer(
    client: &ExactClient,
    matching_key: &str,
    customer: &OutboundCustomer,
) -> Result<String, ConnectorError> {
    let account = account_body(customer)?;
    let existing = match match_filter(matching_key, customer) {
        Some(filter) => {
            let query = [("$select", "ID".to_owned()), ("$filter", filter), ("$top", "1".to_owned())];
            let (rows, _) = client.list("crm/Accounts", &query, None).await?;
            rows.first().and_then(|r| r["ID"].as_str()).map(str::to_owned)
        }
        None => None,
    };
    let id = match existing {
        Some(id) => {
            client.put(&format!("crm/Accounts(guid'{}')", guid(&id)?), &Value::Object(account)).await?;
            id
        }
        None => {
            let made = client.post("crm/Accounts", &Value::Object(account)).await?;
            made["ID"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| ConnectorError::Protocol("crm/Accounts answered no ID for the new account".into()))?
        }
    };
    if is_company(customer) {
        ensure_contact(client, &id, customer).await?;
    }
    Ok(id)
}

fn is_company(customer: &OutboundCustomer) -> bool {
    customer.company_name.as_deref().is_some_and(|n| !n.trim().is_empty())
}

fn person_name(customer: &OutboundCustomer) -> Option<String> {
    let name = [customer.first_name.as_deref(), customer.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// The `$filter` that finds the customer's account by the matching key; none when the customer has no
/// value for it (then a new account is made).
fn match_filter(matching_key: &str, customer: &OutboundCustomer) -> Option<String> {
    let nonempty = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    match matching_key {
        "kvk_number" => nonempty(&customer.kvk_number).map(|k| format!("ChamberOfCommerce eq {}", literal(&k))),
        "name" => customer
            .company_name
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .or_else(|| person_name(customer))
            .map(|n| format!("Name eq {}", literal(&n))),
        _ => nonempty(&customer.email).map(|e| format!("Email eq {}", literal(&e))),
    }
}

/// The account's fields: the company (or the person) with its first address.
fn account_body(customer: &OutboundCustomer) -> Result<Map<String, Value>, ConnectorError> {
    let name = if is_company(customer) {
        customer.company_name.clone().map(|n| n.trim().to_owned())
    } else {
        person_name(customer)
    }
    .ok_or_else(|| ConnectorError::Refused("the customer has neither a company name nor a name".into()))?;
    let mut account = Map::new();
    account.insert("Name".into(), json!(name));
    account.insert("Status".into(), json!("C"));
    account.insert("IsSales".into(), json!(true));
    let mut set = |key: &str, value: Option<&str>| {
        if let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) {
            account.insert(key.into(), json!(value));
        }
    };
    set("Email", customer.email.as_deref());
    set("Phone", customer.phone.as_deref());
    if is_company(customer) {
        set("ChamberOfCommerce", customer.kvk_number.as_deref());
    }
    if let Some(address) = customer.addresses.as_array().and_then(|a| a.first()) {
        let street = [address["street"].as_str(), address["houseNumber"].as_str()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        set("AddressLine1", Some(&street));
        set("Postcode", address["postcode"].as_str());
        set("City", address["city"].as_str());
        set("Country", address["country"].as_str());
    }
    Ok(account)
}

/// A company debtor's contact person: the customer's own name and e-mail, made once (found again by
/// e-mail, else by name).
async fn ensure_contact(
    client: &ExactClient,
    account: &str,
    customer: &OutboundCustomer,
) -> Result<(), ConnectorError> {
    if person_name(customer).is_none() {
        return Ok(());
    }
    let (first, last) = (customer.first_name.clone(), customer.last_name.clone());
    let mut filter = format!("Account eq guid'{}'", guid(account)?);
    match customer.email.as_deref().filter(|e| !e.trim().is_empty()) {
        Some(email) => filter.push_str(&format!(" and Email eq {}", literal(email.trim()))),
        None => filter.push_str(&format!(" and LastName eq {}", literal(last.as_deref().unwrap_or("").trim()))),
    }
    let query = [("$select", "ID".to_owned()), ("$filter", filter), ("$top", "1".to_owned())];
    let (rows, _) = client.list("crm/Contacts", &query, None).await?;
    if !rows.is_empty() {
        return Ok(());
    }
    let mut contact = json!({ "Account": account, "IsMainContact": true });
    for (key, value) in [("FirstName", first), ("LastName", last), ("Email", customer.email.clone())] {
        if let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) {
            contact[key] = json!(value);
        }
    }
    client.post("crm/Contacts", &contact).await?;
    Ok(())
}
