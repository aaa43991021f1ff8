//! The integration-only token may use the provider surface and nothing else: every other field of the
//! schema, found by introspection, answers `FORBIDDEN`.

use super::client::Client;
use super::fixtures::{AGENT, GRANTED_SKUS, SUBMIT_SALE, local_products, provider, provider_skus, sale_input};
use super::{nodes, sorted};
use crate::common::TestServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test]
async fn the_integration_only_token_is_refused_everything_outside_the_provider_surface() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    let sale =
        token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("k1", &b.p1, &b.flow)})).await["sale"]["id"]
            .clone();

    let forbidden: &[(&str, Value)] = &[
        ("{ products { edges { cursor } } }", json!({})),
        ("query($id: ID!) { product(id: $id) { id } }", json!({"id": b.p1})),
        ("{ sales { edges { cursor } } }", json!({})),
        ("query($id: ID!) { sale(id: $id) { id } }", json!({"id": sale})),
        ("{ customers { edges { cursor } } }", json!({})),
        ("{ organisations { edges { cursor } } }", json!({})),
        ("{ statuses { edges { cursor } } }", json!({})),
        ("{ integrations { edges { cursor } } }", json!({})),
        ("{ integrationKinds { kind } }", json!({})),
        ("{ users { edges { cursor } } }", json!({})),
        ("{ apiTokens { edges { cursor } } }", json!({})),
        ("{ suppliers { edges { cursor } } }", json!({})),
        ("{ flows { edges { cursor } } }", json!({})),
        ("{ questions { edges { cursor } } }", json!({})),
        ("{ extraFields { edges { cursor } } }", json!({})),
        ("mutation { createProduct(input: {product: {sku: \"X-1\", name: \"X\"}}) { product { id } } }", json!({})),
        ("mutation { createUser(input: {username: \"intruder\", role: ADMIN}) { user { id } } }", json!({})),
        ("mutation { createOrganisation(input: {name: \"Mine\"}) { organisation { id } } }", json!({})),
        ("mutation { createStatus(input: {key: \"mine\", name: \"Mine\"}) { status { id } } }", json!({})),
        (
            "mutation { createCustomer(input: {customer: {kind: PERSON, lastName: \"X\"}}) { customer { id } } }",
            json!({}),
        ),
        ("mutation($p: ID!) { createSale(input: {productId: $p}) { sale { id } } }", json!({"p": b.p1})),
        (
            "mutation($id: ID!, $s: ID!) { changeSaleStatus(input: {id: $id, statusId: $s}) { sale { id } } }",
            json!({"id": sale, "s": b.callback}),
        ),
        (
            "mutation($o: ID!, $p: ID!) { setOrganisationGrants(input: {organisationId: $o, productIds: [$p], flowIds: []}) { organisation { id } } }",
            json!({"o": b.organisation, "p": b.p3}),
        ),
        (
            "mutation($u: ID!) { createApiToken(input: {userId: $u, name: \"more\"}) { created { secret } } }",
            json!({"u": b.agent}),
        ),
        (
            "mutation { createIntegration(input: {kind: \"peer\", name: \"x\", baseUrl: \"https://koppel.example.com\", settings: {accountName: \"x\"}}) { integration { id } } }",
            json!({}),
        ),
        ("mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { id } } }", json!({"id": b.token_id})),
    ];
    for (query, variables) in forbidden {
        assert_eq!(token.error(query, variables.clone()).await, "FORBIDDEN", "{query}");
    }

    // And every other field of the schema, found by introspection, with dummy arguments.
    let operations = schema_operations(&b.admin).await;
    let names: BTreeSet<&str> = operations.iter().map(|(name, _, _)| name.as_str()).collect();
    for expected in ["products", "users", "integration", "reconcilePlan", "createProduct", "syncNow", "updateUser"] {
        assert!(names.contains(expected), "introspection found {expected}: {names:?}");
    }
    let mut allowed = Vec::new();
    for (name, query, variables) in &operations {
        // Uploads arrive as multipart requests, with the file in place of the input's `file`.
        let body = if matches!(name.as_str(), "addProductAttachment" | "setSupplierLogo") {
            let mut variables = variables.clone();
            variables["input"]["file"] = Value::Null;
            let file = crate::common::upload::FilePart {
                variable: "variables.input.file",
                name: "logo.png",
                content_type: "image/png",
                bytes: b"\x89PNG\r\n\x1a\n",
            };
            server.upload(Some(&b.secret), query, variables, &[file]).await.1
        } else {
            token.raw(query, variables.clone()).await
        };
        if TestServer::error_code(&body).as_deref() != Some("FORBIDDEN") {
            allowed.push(format!("{name}: {query} {variables} -> {body}"));
        }
    }
    assert!(allowed.is_empty(), "not FORBIDDEN for the integration-only token:\n{}", allowed.join("\n"));

    // Nothing changed: the grants and the token are as they were, and the token still works.
    assert_eq!(provider_skus(&token, json!({})).await, GRANTED_SKUS);
    let products = local_products(&b.admin).await;
    assert_eq!(products.len(), 3);
    let users = nodes(&b.admin.data("{ users { edges { node { username } } } }", json!({})).await["users"]);
    assert_eq!(sorted(&users, "username"), ["admin", AGENT]);
}

/// What an integration-only token may use: the provider surface, and who it is.
const PROVIDER_SURFACE: [&str; 9] = [
    "me",
    "login",
    "providerProducts",
    "providerProductFields",
    "providerFlows",
    "providerQuestions",
    "providerStatuses",
    "providerSales",
    "submitSale",
];

const SCHEMA: &str = "{ __schema {
  queryType { fields { name args { name type { ...TypeRef } } type { ...TypeRef } } }
  mutationType { fields { name args { name type { ...TypeRef } } type { ...TypeRef } } }
  types { name kind enumValues { name } inputFields { name defaultValue type { ...TypeRef } } } } }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

/// Every Query and Mutation field outside [`PROVIDER_SURFACE`], as `(field, operation, variables)`:
/// required arguments are passed as variables holding syntactically valid dummies.
async fn schema_operations(admin: &Client<'_>) -> Vec<(String, String, Value)> {
    let schema = admin.data(SCHEMA, json!({})).await["__schema"].clone();
    let types: std::collections::BTreeMap<String, Value> = schema["types"]
        .as_array()
        .expect("the schema's types")
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or("").to_owned(), t.clone()))
        .collect();
    let mut operations = Vec::new();
    for (root, keyword) in [("queryType", "query"), ("mutationType", "mutation")] {
        let fields = schema[root]["fields"].as_array().unwrap_or_else(|| panic!("no {root}: {schema:#}"));
        let mut seen = BTreeSet::new();
        for field in fields {
            let name = field["name"].as_str().expect("a field name").to_owned();
            seen.insert(name.clone());
            if PROVIDER_SURFACE.contains(&name.as_str()) {
                continue;
            }
            let required: Vec<&Value> =
                field["args"].as_array().unwrap().iter().filter(|a| a["type"]["kind"] == "NON_NULL").collect();
            let mut variables = serde_json::Map::new();
            let mut declarations = Vec::new();
            let mut arguments = Vec::new();
            for arg in required {
                let arg_name = arg["name"].as_str().unwrap();
                declarations.push(format!("${arg_name}: {}", type_ref(&arg["type"])));
                arguments.push(format!("{arg_name}: ${arg_name}"));
                variables.insert(arg_name.to_owned(), dummy(&arg["type"], &types));
            }
            let wrap =
                |parts: Vec<String>| if parts.is_empty() { String::new() } else { format!("({})", parts.join(", ")) };
            let selection = match named_type(&field["type"])["kind"].as_str() {
                Some("OBJECT" | "INTERFACE" | "UNION") => " { __typename }",
                _ => "",
            };
            let query = format!("{keyword}{} {{ {name}{}{selection} }}", wrap(declarations), wrap(arguments));
            operations.push((name, query, Value::Object(variables)));
        }
        if keyword == "query" {
            for name in ["me", "providerProducts", "providerSales"] {
                assert!(seen.contains(name), "{name} is in the schema: {seen:?}");
            }
        } else {
            for name in ["login", "submitSale"] {
                assert!(seen.contains(name), "{name} is in the schema: {seen:?}");
            }
        }
    }
    operations
}

/// An introspected type reference as GraphQL writes it, e.g. `[ID!]!`.
fn type_ref(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or_else(|| panic!("a named type: {t}")).to_owned(),
    }
}

/// The named type inside the `NON_NULL` and `LIST` wrappers.
fn named_type(t: &Value) -> &Value {
    if t["ofType"].is_null() { t } else { named_type(&t["ofType"]) }
}

/// A valid value of the introspected type `t`: required input fields filled in, lists empty.
fn dummy(t: &Value, types: &std::collections::BTreeMap<String, Value>) -> Value {
    let name = t["name"].as_str().unwrap_or("");
    match t["kind"].as_str().unwrap_or("") {
        "NON_NULL" => dummy(&t["ofType"], types),
        "LIST" => json!([]),
        "ENUM" => types[name]["enumValues"][0]["name"].clone(),
        "INPUT_OBJECT" => {
            let mut object = serde_json::Map::new();
            for field in types[name]["inputFields"].as_array().unwrap_or_else(|| panic!("no fields of {name}")) {
                if field["type"]["kind"] == "NON_NULL" && field["defaultValue"].is_null() {
                    object.insert(field["name"].as_str().unwrap().to_owned(), dummy(&field["type"], types));
                }
            }
            Value::Object(object)
        }
        _ => match name {
            "ID" => json!(uuid::Uuid::now_v7().to_string()),
            "Int" => json!(1),
            "Float" => json!(1.0),
            "Boolean" => json!(false),
            "DateTime" => json!("2024-01-01T00:00:00Z"),
            _ => json!("x"),
        },
    }
}
