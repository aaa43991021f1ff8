//! Limits with safe defaults, each configurable: query depth and complexity, batch size, body size,
//! introspection and GraphiQL; health endpoints; page sizes and cursor pagination.

use crate::common::{Session, TestServer};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Asserts that a whole operation was refused before it ran: errors and no data.
fn assert_refused(response: &Value, what: &str) {
    let errors = response["errors"].as_array().unwrap_or_else(|| panic!("{what}: no errors in {response:#}"));
    assert!(!errors.is_empty(), "{what}: empty errors in {response:#}");
    assert!(response["data"].is_null(), "{what}: data was returned: {response:#}");
    assert_eq!(TestServer::error_code(response).as_deref(), Some("BAD_USER_INPUT"), "{what}: {response:#}");
}

/// `{ products { edges { node { parent { parent … { id } } } } } }`: depth `4 + parents`.
fn product_parents(parents: usize) -> String {
    format!("{{ products {{ edges {{ node {{ {} id {} }} }} }} }}", "parent { ".repeat(parents), "} ".repeat(parents))
}

/// Posts a raw body to `/graphql`; returns the status and the body as JSON (Null when not JSON).
async fn post_raw(server: &TestServer, token: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
    let mut request = server.http.post(&server.url).header("content-type", "application/json").body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("POST /graphql");
    let status = response.status();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn batch(size: usize) -> Vec<u8> {
    let operations: Vec<Value> = (0..size).map(|_| json!({ "query": "{ __typename }" })).collect();
    serde_json::to_vec(&operations).unwrap()
}

/// A single operation padded with a GraphQL comment to exactly `size` bytes.
fn padded_operation(size: usize) -> Vec<u8> {
    let empty = serde_json::to_vec(&json!({ "query": "#\n{ __typename }" })).unwrap().len();
    assert!(size > empty, "{size} bytes cannot hold an operation");
    let query = format!("#{}\n{{ __typename }}", "x".repeat(size - empty));
    let body = serde_json::to_vec(&json!({ "query": query })).unwrap();
    assert_eq!(body.len(), size);
    body
}

#[tokio::test]
async fn queries_deeper_than_the_limit_are_refused() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    // The default (12) allows the usual nesting and refuses a runaway one.
    let within = server.gql(Some(&admin.token), &product_parents(8), json!({})).await;
    assert!(within.get("errors").is_none(), "depth 12 passes the default limit: {within:#}");
    assert_eq!(within["data"]["products"]["edges"], json!([]));
    assert_refused(&server.gql(Some(&admin.token), &product_parents(9), json!({})).await, "depth 13");
    assert_refused(&server.gql(Some(&admin.token), &product_parents(40), json!({})).await, "depth 44");

    // A configured limit is exact: depth 4 passes a limit of 4, depth 5 does not.
    let server = TestServer::start_with(|c| c.max_query_depth = 4).await;
    let admin = server.admin("acme").await;
    let four = "{ statuses { edges { node { key } } } }";
    let data = server.gql_ok(Some(&admin.token), four, json!({})).await;
    assert_eq!(data["statuses"]["edges"].as_array().unwrap().len(), 5);
    let five = "{ sales { edges { node { status { key } } } } }";
    assert_refused(&server.gql(Some(&admin.token), five, json!({})).await, "depth 5 over a limit of 4");
    // Fragments do not hide depth.
    let fragment = "query { sales { ...S } } fragment S on SaleConnection { edges { node { product { sku } } } }";
    assert_refused(&server.gql(Some(&admin.token), fragment, json!({})).await, "depth 5 through a fragment");
}

#[tokio::test]
async fn queries_more_complex_than_the_limit_are_refused() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    // 100 products × 100 questions each, far over the default of 5000.
    let heavy = "{ products(first: 100) { edges { node { sku questions(first: 100) {
        edges { node { key label options { value label } } } } } } } }";
    assert_refused(&server.gql(Some(&admin.token), heavy, json!({})).await, "100 × 100 nested lists");
    // Without `first`, a list counts as its default page (50): 50 × (2 + 50 × 4) is still too much.
    let defaults = "{ products { edges { node { questions { edges { node { key label } } } } } } }";
    assert_refused(&server.gql(Some(&admin.token), defaults, json!({})).await, "default page sizes");
    let light = "{ products(first: 10) { edges { node { sku questions(first: 5) { edges { node { key } } } } } } }";
    server.gql_ok(Some(&admin.token), light, json!({})).await;

    // Lists count their page size: 12 statuses × (edges + node + id + key) = 48 fits a limit of 48,
    // 13 × 4 = 52 does not.
    let server = TestServer::start_with(|c| c.max_query_complexity = 48).await;
    let admin = server.admin("acme").await;
    let page = |first: u32| format!("{{ statuses(first: {first}) {{ edges {{ node {{ id key }} }} }} }}");
    let data = server.gql_ok(Some(&admin.token), &page(12), json!({})).await;
    assert_eq!(data["statuses"]["edges"].as_array().unwrap().len(), 5);
    assert_refused(&server.gql(Some(&admin.token), &page(13), json!({})).await, "complexity 52 over 48");
    // The page size counts through variables as well.
    let query = "query($n: Int) { statuses(first: $n) { edges { node { id key } } } }";
    assert_refused(&server.gql(Some(&admin.token), query, json!({ "n": 13 })).await, "page size in a variable");
    server.gql_ok(Some(&admin.token), query, json!({ "n": 12 })).await;
}

#[tokio::test]
async fn batches_larger_than_the_limit_get_400() {
    let server = TestServer::start().await;
    // The default allows 10 operations in one request.
    let (status, body) = post_raw(&server, None, batch(10)).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    let results = body.as_array().unwrap_or_else(|| panic!("a batch answers with an array: {body:#}"));
    assert_eq!(results.len(), 10);
    assert!(results.iter().all(|r| r["data"]["__typename"] == "Query"), "{body:#}");
    let (status, body) = post_raw(&server, None, batch(11)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body:#}");
    assert_eq!(TestServer::error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body:#}");

    let server = TestServer::start_with(|c| c.max_batch_size = 2).await;
    let admin = server.admin("acme").await;
    let (status, body) = post_raw(&server, Some(&admin.token), batch(3)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body:#}");
    assert_eq!(TestServer::error_code(&body).as_deref(), Some("BAD_USER_INPUT"), "{body:#}");
    // Within the limit, each operation gets its own result, in order.
    let operations = json!([
        { "query": "{ me { username } }" },
        { "query": "query($n: Int) { statuses(first: $n) { edges { node { key } } } }", "variables": { "n": 2 } },
    ]);
    let (status, body) = post_raw(&server, Some(&admin.token), serde_json::to_vec(&operations).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    assert_eq!(body[0]["data"]["me"]["username"], "admin", "{body:#}");
    assert_eq!(body[1]["data"]["statuses"]["edges"].as_array().map(Vec::len), Some(2), "{body:#}");
    // A single operation is not a batch: it answers with an object.
    let (status, body) =
        post_raw(&server, None, serde_json::to_vec(&json!({ "query": "{ __typename }" })).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["__typename"], "Query");
}

#[tokio::test]
async fn bodies_larger_than_the_limit_get_413() {
    let server = TestServer::start_with(|c| c.max_body_bytes = 4096).await;
    let (status, body) = post_raw(&server, None, padded_operation(4096)).await;
    assert_eq!(status, StatusCode::OK, "a body of exactly the limit is accepted: {body:#}");
    assert_eq!(body["data"]["__typename"], "Query");
    let (status, _) = post_raw(&server, None, padded_operation(4097)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = post_raw(&server, None, padded_operation(100_000)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // The server still answers afterwards.
    let (status, _) = post_raw(&server, None, padded_operation(1000)).await;
    assert_eq!(status, StatusCode::OK);

    // The default is 1 MiB.
    let server = TestServer::start().await;
    let (status, _) = post_raw(&server, None, padded_operation(1_000_000)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post_raw(&server, None, padded_operation(1_048_577)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

const SCHEMA: &str = "{ __schema { types { name } } }";
const TYPE: &str = "{ __type(name: \"Sale\") { name fields { name } } }";

#[tokio::test]
async fn introspection_can_be_switched_off() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let data = server.gql_ok(Some(&admin.token), SCHEMA, json!({})).await;
    let types = data["__schema"]["types"].as_array().expect("types");
    assert!(types.iter().any(|t| t["name"] == "Sale"), "{data:#}");
    let data = server.gql_ok(None, TYPE, json!({})).await;
    assert_eq!(data["__type"]["name"], "Sale");

    let server = TestServer::start_with(|c| c.introspection = false).await;
    let admin = server.admin("acme").await;
    for query in [SCHEMA, TYPE] {
        for token in [Some(admin.token.as_str()), None] {
            let response = server.gql(token, query, json!({})).await;
            // Nothing of the schema is given away.
            assert!(response["data"]["__schema"].is_null() && response["data"]["__type"].is_null(), "{response:#}");
            assert!(!response.to_string().contains("Sale"), "{query} revealed the schema: {response:#}");
        }
    }
    // Normal queries still work.
    let data =
        server.gql_ok(Some(&admin.token), "{ me { username } statuses { edges { node { key } } } }", json!({})).await;
    assert_eq!(data["me"]["username"], "admin");
    assert_eq!(data["statuses"]["edges"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn introspection_that_is_off_answers_with_an_error() {
    let server = TestServer::start_with(|c| c.introspection = false).await;
    let admin = server.admin("acme").await;
    for query in [SCHEMA, TYPE] {
        let response = server.gql(Some(&admin.token), query, json!({})).await;
        assert_refused(&response, query);
    }
}

#[tokio::test]
async fn graphiql_can_be_switched_off() {
    let server = TestServer::start().await;
    let response = server.http.get(&server.url).send().await.expect("GET /graphql");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(page.to_lowercase().contains("graphiql"), "{page}");

    let server = TestServer::start_with(|c| c.graphiql = false).await;
    let response = server.http.get(&server.url).send().await.expect("GET /graphql");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // GraphQL itself keeps working.
    let data = server.gql_ok(None, "{ __typename }", json!({})).await;
    assert_eq!(data["__typename"], "Query");
}

#[tokio::test]
async fn health_endpoints_answer() {
    let server = TestServer::start().await;
    for path in ["/healthz", "/readyz"] {
        let response = server.http.get(format!("http://{}{path}", server.addr)).send().await.expect("GET");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
}

async fn statuses_page(server: &TestServer, admin: &Session, first: Value, after: Value) -> Value {
    let query = "query($first: Int, $after: String) {
      statuses(first: $first, after: $after) {
        edges { cursor node { id key } }
        pageInfo { hasNextPage endCursor }
      }
    }";
    server.gql(Some(&admin.token), query, json!({ "first": first, "after": after })).await
}

#[tokio::test]
async fn page_sizes_outside_1_to_100_are_bad_user_input() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    for first in [0, 101, 1000] {
        let response = statuses_page(&server, &admin, json!(first), Value::Null).await;
        assert_eq!(
            TestServer::error_code(&response).as_deref(),
            Some("BAD_USER_INPUT"),
            "first: {first}: {response:#}"
        );
        assert!(response["data"].is_null(), "first: {first}: {response:#}");
    }
    for first in [1, 100] {
        let response = statuses_page(&server, &admin, json!(first), Value::Null).await;
        assert!(response.get("errors").is_none(), "first: {first}: {response:#}");
    }
    let response = statuses_page(&server, &admin, json!(2), json!("not-a-cursor")).await;
    assert_eq!(TestServer::error_code(&response).as_deref(), Some("BAD_USER_INPUT"), "{response:#}");
}

#[tokio::test]
async fn absurd_page_sizes_are_refused_without_harm() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let response = statuses_page(&server, &admin, json!(-1), Value::Null).await;
    assert_eq!(TestServer::error_code(&response).as_deref(), Some("BAD_USER_INPUT"), "{response:#}");
    let nested = "{ products(first: 2147483647) { edges { node { questions(first: 2147483647) { edges { node {
        product { questions(first: 2147483647) { edges { node { key } } } } } } } } } }";
    let response = server.gql(Some(&admin.token), nested, json!({})).await;
    assert_refused(&response, "nested page sizes of 2^31 - 1");
    // The server is still there.
    let data = server.gql_ok(Some(&admin.token), "{ me { username } }", json!({})).await;
    assert_eq!(data["me"]["username"], "admin");
}

#[tokio::test]
async fn cursors_walk_a_list_without_gaps_or_repeats() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let create =
        "mutation($input: CreateStatusInput!) { createStatus(input: $input) { status { id } userErrors { field } } }";
    for i in 1..=7 {
        let input = json!({ "key": format!("custom_{i}"), "name": format!("Custom {i}") });
        let data = server.gql_ok(Some(&admin.token), create, json!({ "input": input })).await;
        assert_eq!(data["createStatus"]["userErrors"], json!([]), "{data:#}");
    }
    // All 12 (5 system + 7 custom) in one page, in creation order.
    let all = statuses_page(&server, &admin, json!(100), Value::Null).await;
    let all: Vec<String> = all["data"]["statuses"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{all:#}"))
        .iter()
        .map(|e| e["node"]["key"].as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> =
        ["new", "sent", "processed", "rejected", "cancelled"].iter().map(|k| (*k).to_owned()).collect();
    expected.extend((1..=7).map(|i| format!("custom_{i}")));
    assert_eq!(all, expected);

    for first in [1_usize, 4, 5, 11, 12, 13] {
        let mut seen = Vec::new();
        let mut after = Value::Null;
        let mut pages = 0;
        loop {
            let response = statuses_page(&server, &admin, json!(first), after.clone()).await;
            let connection = &response["data"]["statuses"];
            let edges = connection["edges"].as_array().unwrap_or_else(|| panic!("{response:#}"));
            pages += 1;
            assert!(pages <= 12, "first: {first}: the walk does not end");
            let remaining = expected.len() - seen.len();
            assert_eq!(edges.len(), first.min(remaining), "first: {first}, page {pages}: {response:#}");
            seen.extend(edges.iter().map(|e| e["node"]["key"].as_str().unwrap().to_owned()));
            let has_next = connection["pageInfo"]["hasNextPage"].as_bool().unwrap();
            assert_eq!(has_next, seen.len() < expected.len(), "first: {first}, page {pages}: hasNextPage");
            let last_cursor = edges.last().map(|e| e["cursor"].clone()).unwrap_or(Value::Null);
            assert_eq!(connection["pageInfo"]["endCursor"], last_cursor, "first: {first}: endCursor");
            if !has_next {
                break;
            }
            after = last_cursor;
        }
        assert_eq!(seen, expected, "first: {first}: a walk must see every status once, in order");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), expected.len());
        assert_eq!(pages, expected.len().div_ceil(first), "first: {first}: pages");
    }
}
