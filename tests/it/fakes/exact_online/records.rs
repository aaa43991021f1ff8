//! What every list of the fake shares (`$filter`, `$select`, an `__next` that keeps the query), and the
//! writes of the order push: accounts (`POST crm/Accounts`, `PUT crm/Accounts(guid'…')`), contacts (`POST crm/Contacts`) and sales orders
//! (`POST salesorder/SalesOrders` with their lines). A POST answers 201 with the whole record under
//! `Prefer: return=representation`, else only its `__metadata` and key; a PUT answers 204. A record
//! that breaks Exact's rules (no name, an unknown customer or item) is a 400 in Exact's error shape,
//! and nothing is stored.

use super::odata::Filter;
use super::{State, admit, answer, not_found, respond};
use axum::body::Body;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, Response, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Exact's answer to a sync or bulk call without `$select`.
pub const SELECT_REQUIRED: &str = "Please add a $select or a $top=1 statement to the query string.";

pub fn error(status: StatusCode, message: &str) -> Response<Body> {
    respond(status, &[], Some(json!({"error": {"code": "", "message": {"lang": "", "value": message}}})))
}

/// Keeps only the `$select`ed fields of a record (and its `__metadata`).
pub fn select(record: Value, query: &HashMap<String, String>) -> Value {
    let Some(fields) = query.get("$select") else { return record };
    let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
    match record {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(k, _)| k == "__metadata" || fields.contains(&k.as_str())).collect())
        }
        other => other,
    }
}

/// The records a `$filter` keeps (all without one); a filter the fake cannot read is a 400.
#[allow(clippy::result_large_err)]
pub fn filtered(records: Vec<Value>, query: &HashMap<String, String>) -> Result<Vec<Value>, Response<Body>> {
    let Some(filter) = query.get("$filter") else { return Ok(records) };
    let filter = Filter::parse(filter).map_err(|e| error(StatusCode::BAD_REQUEST, &e))?;
    Ok(records.into_iter().filter(|r| filter.matches(r)).collect())
}

/// The same request for the page after `skiptoken`: Exact's `__next` keeps the query.
pub fn next_link(
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    query: &HashMap<String, String>,
    skiptoken: &str,
) -> String {
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let mut next = url::Url::parse(&format!("http://{host}{}", uri.path())).unwrap();
    let mut pairs: Vec<(&String, &String)> = query.iter().filter(|(k, _)| k.as_str() != "$skiptoken").collect();
    pairs.sort();
    next.query_pairs_mut().extend_pairs(pairs).append_pair("$skiptoken", skiptoken);
    next.to_string()
}

pub fn with_metadata(mut record: Value, path: &str, type_name: &str, key: &str) -> Value {
    let id = record[key].as_str().unwrap_or_default().to_owned();
    record["__metadata"] = json!({
        "uri": format!("https://start.exactonline.nl{path}(guid'{id}')"),
        "type": format!("Exact.Web.Api.Models.{type_name}"),
    });
    record
}

/// 201 with the record, or only its metadata and key without `Prefer: return=representation`.
pub(super) fn created(
    headers: &HeaderMap,
    rate: Vec<(&'static str, String)>,
    record: Value,
    path: &str,
    type_name: &str,
    key: &str,
) -> Response<Body> {
    let record = with_metadata(record, path, type_name, key);
    let full = headers.get("prefer").and_then(|v| v.to_str().ok()).is_some_and(|p| p.contains("return=representation"));
    let body = if full { record } else { json!({"__metadata": record["__metadata"], key: record[key]}) };
    respond(StatusCode::CREATED, &rate, Some(json!({"d": body})))
}

/// The rate-limit headers to answer with, or the refusal.
pub(super) type Admitted = Result<(i64, Vec<(&'static str, String)>), Response<Body>>;

#[allow(clippy::result_large_err)]
pub(super) fn admitted(
    state: &Mutex<State>,
    headers: &HeaderMap,
    division: &str,
    method: &str,
    path: &str,
) -> Admitted {
    let Ok(division) = division.parse::<i64>() else {
        return Err(error(StatusCode::NOT_FOUND, "Resource not found"));
    };
    let rate = admit(state, headers, Some(division), format!("{method} /api/v1/{division}/{path}"))?;
    Ok((division, rate))
}

fn guid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `POST crm/Accounts`: a new account; `Name` is required. Its `Code` is 18 characters, right-aligned.
pub async fn create_account(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    body: axum::Json<Value>,
) -> Response<Body> {
    let (division, rate) = match admitted(&state, &headers, &division, "POST", "crm/Accounts") {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let mut account = body.0;
    if account["Name"].as_str().is_none_or(|n| n.trim().is_empty()) {
        return error(StatusCode::BAD_REQUEST, "Name: Mandatory");
    }
    let mut state = state.lock().unwrap();
    let code = format!("{:>18}", state.accounts.len() + 1);
    account["ID"] = json!(guid());
    account["Code"] = json!(code);
    account["Timestamp"] = json!(state.tick());
    state.accounts.push(account.clone());
    created(&headers, rate, account, &format!("/api/v1/{division}/crm/Accounts"), "Account", "ID")
}

/// `PUT crm/Accounts(guid'…')`: the fields sent replace the account's; 204.
pub async fn update_record(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path((division, record)): Path<(String, String)>,
    body: axum::Json<Value>,
) -> Response<Body> {
    let Some(id) = record.strip_prefix("Accounts(guid'").and_then(|r| r.strip_suffix("')")) else {
        return not_found().await;
    };
    let (_, rate) = match admitted(&state, &headers, &division, "PUT", &format!("crm/{record}")) {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let mut state = state.lock().unwrap();
    let timestamp = state.tick();
    let Some(account) =
        state.accounts.iter_mut().find(|a| a["ID"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(id)))
    else {
        return error(StatusCode::NOT_FOUND, "Resource not found");
    };
    if let (Value::Object(account), Value::Object(changes)) = (account, body.0) {
        for (key, value) in changes {
            if key != "ID" && key != "Code" {
                account.insert(key, value);
            }
        }
        account.insert("Timestamp".into(), json!(timestamp));
    }
    respond(StatusCode::NO_CONTENT, &rate, None)
}

/// `GET crm/Contacts` (filtered like every list).
pub async fn contacts(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/crm/Contacts");
    let (_, rate) = match admitted(&state, &headers, &division, "GET", "crm/Contacts") {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let contacts = state.lock().unwrap().contacts.clone();
    let contacts = match filtered(contacts, &query) {
        Ok(contacts) => contacts,
        Err(refused) => return refused,
    };
    let top = query.get("$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(60).min(60);
    let results: Vec<Value> =
        contacts.into_iter().take(top).map(|c| select(with_metadata(c, &path, "Contact", "ID"), &query)).collect();
    answer(&headers, rate, json!({"d": {"results": results}}))
}

/// `POST crm/Contacts`: a contact person of an existing account.
pub async fn create_contact(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    body: axum::Json<Value>,
) -> Response<Body> {
    let (division, rate) = match admitted(&state, &headers, &division, "POST", "crm/Contacts") {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let mut contact = body.0;
    let mut state = state.lock().unwrap();
    let account = contact["Account"].as_str().unwrap_or_default().to_lowercase();
    if !state.accounts.iter().any(|a| a["ID"].as_str().is_some_and(|id| id.to_lowercase() == account)) {
        return error(StatusCode::BAD_REQUEST, "Account: Account not found");
    }
    if contact["LastName"].as_str().is_none_or(|n| n.trim().is_empty()) {
        return error(StatusCode::BAD_REQUEST, "LastName: Mandatory");
    }
    contact["ID"] = json!(guid());
    state.contacts.push(contact.clone());
    created(&headers, rate, contact, &format!("/api/v1/{division}/crm/Contacts"), "Contact", "ID")
}

/// `POST salesorder/SalesOrders`: an order of an existing customer with its lines, each of an existing
/// item; the order gets its `OrderID`, an `OrderNumber` and status 12 (open).
pub async fn create_sales_order(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    body: axum::Json<Value>,
) -> Response<Body> {
    let (division, rate) = match admitted(&state, &headers, &division, "POST", "salesorder/SalesOrders") {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let mut order = body.0;
    let mut state = state.lock().unwrap();
    let has = |records: &[Value], id: &Value| {
        let id = id.as_str().unwrap_or_default().to_lowercase();
        records.iter().any(|r| r["ID"].as_str().is_some_and(|r| r.to_lowercase() == id))
    };
    if !has(&state.accounts, &order["OrderedBy"]) {
        return error(StatusCode::BAD_REQUEST, "OrderedBy: Customer not found");
    }
    let lines = order["SalesOrderLines"].as_array().cloned().unwrap_or_default();
    if lines.is_empty() {
        return error(StatusCode::BAD_REQUEST, "SalesOrderLines: Mandatory");
    }
    for line in &lines {
        if !has(&state.items, &line["Item"]) {
            return error(StatusCode::BAD_REQUEST, "Item: Item not found");
        }
    }
    order["OrderID"] = json!(guid());
    order["OrderNumber"] = json!(state.sales_orders.len() + 1);
    order["Status"] = json!(12);
    order["SalesOrderLines"] = json!({"results": lines});
    state.sales_orders.push(order.clone());
    if std::mem::take(&mut state.lose_next_order_answer) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "An error occurred. Please try again later.");
    }
    created(&headers, rate, order, &format!("/api/v1/{division}/salesorder/SalesOrders"), "SalesOrder", "OrderID")
}
