//! The fake's writes of items and item groups, what Koppel's product push calls:
//!
//! - `POST logistics/Items`: a new item; `Code` and `Description` are mandatory, a code is at most 30
//!   characters [I], and a code another item has (compared without the spaces Exact pads codes with) is
//!   refused; an `ItemGroup` must be a group's ID (its `ItemGroupCode` is filled in from it). 201 with
//!   the whole item under `Prefer: return=representation`, else only its `__metadata` and `ID`.
//! - `PUT logistics/Items(guid'…')`: the fields sent replace the item's (not `ID`, `Code`); 204.
//! - `GET logistics/ItemGroups` (filtered and paged like every list) and `POST logistics/ItemGroups`
//!   (`Code` and `Description` mandatory, a code once).
//!
//! A refusal is a 400 in Exact's error shape and stores nothing. Every write gives the item the next
//! Sync API `Timestamp`, as a change at Exact does.

use super::records::{admitted, created, error};
use super::{ExactOnline, State, not_found, respond};
use axum::body::Body;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, Response, StatusCode};
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The longest item code Exact takes [I].
const CODE_LENGTH: usize = 30;

impl ExactOnline {
    /// The items as Exact keeps them now.
    pub fn stored_items(&self) -> Vec<Value> {
        self.state.lock().unwrap().items.clone()
    }

    /// The item groups as Exact keeps them now.
    pub fn item_groups(&self) -> Vec<Value> {
        self.state.lock().unwrap().item_groups.clone()
    }

    /// Adds an item group (`logistics/ItemGroups`).
    pub fn put_item_group(&self, group: Value) {
        self.state.lock().unwrap().item_groups.push(group);
    }
}

fn trimmed(value: &Value) -> Option<&str> {
    value.as_str().map(str::trim).filter(|s| !s.is_empty())
}

fn exact_now() -> Value {
    json!(format!("/Date({})/", Utc::now().timestamp_millis()))
}

/// The code of the group `ItemGroup` names, or the refusal; `None` when no group is named.
#[allow(clippy::result_large_err)]
fn group_code(state: &State, group: &Value) -> Result<Option<Value>, Response<Body>> {
    if group.is_null() {
        return Ok(None);
    }
    let wanted = group.as_str().unwrap_or_default().to_lowercase();
    state
        .item_groups
        .iter()
        .find(|g| g["ID"].as_str().is_some_and(|id| id.to_lowercase() == wanted))
        .map(|g| Some(g["Code"].clone()))
        .ok_or_else(|| error(StatusCode::BAD_REQUEST, "ItemGroup: Item group not found"))
}

/// `POST logistics/Items`.
pub async fn create_item(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    body: axum::Json<Value>,
) -> Response<Body> {
    let (division, rate) = match admitted(&state, &headers, &division, "POST", "logistics/Items") {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let mut item = body.0;
    let Some(code) = trimmed(&item["Code"]).map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, "Code: Mandatory");
    };
    if trimmed(&item["Description"]).is_none() {
        return error(StatusCode::BAD_REQUEST, "Description: Mandatory");
    }
    if code.chars().count() > CODE_LENGTH {
        return error(StatusCode::BAD_REQUEST, &format!("Code: Maximum length is {CODE_LENGTH} characters"));
    }
    let mut state = state.lock().unwrap();
    if state.items.iter().any(|i| trimmed(&i["Code"]) == Some(code.as_str())) {
        return error(StatusCode::BAD_REQUEST, &format!("Code: An item with code {code} already exists"));
    }
    match group_code(&state, &item["ItemGroup"]) {
        Ok(group) => item["ItemGroupCode"] = group.unwrap_or(Value::Null),
        Err(refused) => return refused,
    }
    item["ID"] = json!(uuid::Uuid::new_v4().to_string());
    item["Created"] = exact_now();
    item["Modified"] = exact_now();
    item["Timestamp"] = json!(state.tick());
    state.items.push(item.clone());
    created(&headers, rate, item, &format!("/api/v1/{division}/logistics/Items"), "Item", "ID")
}

/// `PUT logistics/Items(guid'…')`.
pub async fn update_item(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path((division, record)): Path<(String, String)>,
    body: axum::Json<Value>,
) -> Response<Body> {
    let Some(id) = record.strip_prefix("Items(guid'").and_then(|r| r.strip_suffix("')")) else {
        return not_found().await;
    };
    let (_, rate) = match admitted(&state, &headers, &division, "PUT", &format!("logistics/{record}")) {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let Value::Object(changes) = body.0 else {
        return error(StatusCode::BAD_REQUEST, "The body is not an item");
    };
    let mut state = state.lock().unwrap();
    let group = match changes.get("ItemGroup") {
        Some(named) => match group_code(&state, named) {
            Ok(group) => Some(group.unwrap_or(Value::Null)),
            Err(refused) => return refused,
        },
        None => None,
    };
    if changes.get("Description").is_some_and(|d| trimmed(d).is_none()) {
        return error(StatusCode::BAD_REQUEST, "Description: Mandatory");
    }
    let timestamp = state.tick();
    let Some(Value::Object(item)) =
        state.items.iter_mut().find(|i| i["ID"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(id)))
    else {
        return error(StatusCode::NOT_FOUND, "Resource not found");
    };
    for (key, value) in changes {
        if key != "ID" && key != "Code" {
            item.insert(key, value);
        }
    }
    if let Some(group) = group {
        item.insert("ItemGroupCode".into(), group);
    }
    item.insert("Modified".into(), exact_now());
    item.insert("Timestamp".into(), json!(timestamp));
    respond(StatusCode::NO_CONTENT, &rate, None)
}

/// `GET logistics/ItemGroups`.
pub async fn item_groups(
    state: Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    query: Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/logistics/ItemGroups");
    super::collection(state, headers, division, query, uri, path, "ItemGroup", "ID", |s| s.item_groups.clone()).await
}

/// `POST logistics/ItemGroups`.
pub async fn create_item_group(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    body: axum::Json<Value>,
) -> Response<Body> {
    let (division, rate) = match admitted(&state, &headers, &division, "POST", "logistics/ItemGroups") {
        Ok(ok) => ok,
        Err(refused) => return refused,
    };
    let mut group = body.0;
    let Some(code) = trimmed(&group["Code"]).map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, "Code: Mandatory");
    };
    if trimmed(&group["Description"]).is_none() {
        return error(StatusCode::BAD_REQUEST, "Description: Mandatory");
    }
    let mut state = state.lock().unwrap();
    if state.item_groups.iter().any(|g| trimmed(&g["Code"]) == Some(code.as_str())) {
        return error(StatusCode::BAD_REQUEST, &format!("Code: An item group with code {code} already exists"));
    }
    group["ID"] = json!(uuid::Uuid::new_v4().to_string());
    state.item_groups.push(group.clone());
    created(&headers, rate, group, &format!("/api/v1/{division}/logistics/ItemGroups"), "ItemGroup", "ID")
}
