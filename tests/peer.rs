//! Seed 001 end to end: one Koppel environment sells another's products. The provider account B
//! grants an organisation products and flows and hands an integration-only token of an agent in it to
//! the consumer account A; A connects a `peer` integration with that token, tests the connection,
//! browses and imports B's catalogue and maps fields, statuses, flows and questions. Everything runs
//! over real HTTP between real servers; secrets must never come back in a response or a log line.

mod common;

use common::{Session, TEST_PASSWORD, TestServer};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------------
// Clients and small helpers
// ---------------------------------------------------------------------------------------------------

/// A caller with a bearer token that keeps the raw text of every response, so that a test can check
/// afterwards that a secret never came back.
struct Client<'a> {
    server: &'a TestServer,
    token: String,
    seen: Mutex<Vec<String>>,
}

impl<'a> Client<'a> {
    fn new(server: &'a TestServer, token: &str) -> Self {
        Self { server, token: token.to_owned(), seen: Mutex::new(Vec::new()) }
    }

    /// The whole response, errors and all.
    async fn raw(&self, query: &str, variables: Value) -> Value {
        let response = self
            .server
            .http
            .post(&self.server.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status();
        let text = response.text().await.expect("the response body");
        self.seen.lock().unwrap().push(text.clone());
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST /graphql answered {status}, not JSON ({e}): {text}"))
    }

    /// `data`, panicking on top-level errors.
    async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.raw(query, variables).await;
        if body.get("errors").is_some_and(|e| !e.is_null()) {
            panic!("GraphQL errors: {body:#}\nquery: {query}");
        }
        body["data"].clone()
    }

    /// The payload `data[field]` of a mutation that must succeed without user errors.
    async fn mutate(&self, field: &str, query: &str, variables: Value) -> Value {
        let payload = self.data(query, variables).await[field].clone();
        let errors = payload["userErrors"].as_array().cloned().unwrap_or_default();
        assert!(errors.is_empty(), "{field} failed: {payload:#}");
        payload
    }

    /// The payload `data[field]` of a mutation expected to report user errors, and those errors.
    async fn refused(&self, field: &str, query: &str, variables: Value) -> (Value, Vec<(String, String)>) {
        let payload = self.data(query, variables).await[field].clone();
        let errors = user_errors(&payload);
        assert!(!errors.is_empty(), "{field} should have been refused: {payload:#}");
        (payload, errors)
    }

    /// The `extensions.code` of a request that must fail with a top-level error.
    async fn error(&self, query: &str, variables: Value) -> String {
        let body = self.raw(query, variables).await;
        TestServer::error_code(&body).unwrap_or_else(|| panic!("expected an error: {body:#}\nquery: {query}"))
    }

    /// Every response so far is free of `secret`.
    fn assert_never_saw(&self, secret: &str) {
        let seen = self.seen.lock().unwrap();
        assert!(!seen.is_empty(), "no responses were recorded");
        for text in seen.iter() {
            assert!(!text.contains(secret), "a response contains the secret: {text}");
        }
    }
}

/// `(field, code)` of each user error of a payload.
fn user_errors(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn has_error(errors: &[(String, String)], field: &str, code: &str) -> bool {
    errors.iter().any(|(f, c)| f == field && c == code)
}

fn id_of(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected an id, got {value}")).to_owned()
}

/// The nodes of a connection.
fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection:#}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// One string field of every item, sorted.
fn sorted(items: &[Value], field: &str) -> Vec<String> {
    let mut values: Vec<String> = items.iter().map(|i| i[field].as_str().unwrap_or("").to_owned()).collect();
    values.sort();
    values
}

/// A port on 127.0.0.1 that nobody listens on: port 1 (tcpmux), never served here. Binding a free
/// port and releasing it would race with servers that tests start in parallel.
fn closed_port() -> u16 {
    1
}

/// A server that may reach integrations on loopback addresses over plain http.
async fn peer_server() -> TestServer {
    TestServer::start_with(|c| c.allow_private_remotes = true).await
}

// ---------------------------------------------------------------------------------------------------
// The provider B
// ---------------------------------------------------------------------------------------------------

const P1_SKU: &str = "STROOM-GROEN-1J";
const P2_SKU: &str = "STROOM-GRIJS-1J";
const P3_SKU: &str = "STROOM-GROEN-3J";
/// The SKUs of P1 and P2, sorted.
const GRANTED_SKUS: [&str; 2] = [P2_SKU, P1_SKU];
const SUPPLIER: &str = "Energie Direct BV";
const AGENT: &str = "koppeling_partner_a";
/// The flow's third question: optional text with validations, asked only for payment by giro.
const GIRO_REFERENCE: &str = "giro_reference";
/// The keys of the questions of the granted flow "Energie", sorted.
const FLOW_QUESTIONS: [&str; 3] = [GIRO_REFERENCE, "payment_method", "rehousing"];

/// The validations and conditions of [`GIRO_REFERENCE`] as GraphQL returns them.
fn giro_reference_rules() -> (Value, Value) {
    (
        json!({"minLength": 2, "maxLength": 5, "min": null, "max": null}),
        json!([{"questionKey": "payment_method", "equals": "giro"}]),
    )
}

/// Everything B set up for its partner.
struct Provider<'a> {
    admin: Client<'a>,
    account: String,
    supplier: String,
    p1: String,
    p2: String,
    p3: String,
    flow: String,
    other_flow: String,
    callback: String,
    organisation: String,
    agent: String,
    token_id: String,
    secret: String,
}

fn tariffs(delivery: &str, standing: &str) -> Value {
    json!([
        {"code": "delivery", "label": "Leveringstarief", "amount": delivery, "unit": "EUR/kWh"},
        {"code": "standing", "label": "Vaste leveringskosten", "amount": standing, "unit": "EUR/month"},
    ])
}

/// A product of `supplier` with an `origin`, authorised for sale; returns its id.
async fn provider_product(admin: &Client<'_>, sku: &str, name: &str, origin: &str, supplier: &str) -> String {
    let product = json!({
        "sku": sku, "name": name, "supplierId": supplier, "category": "energie",
        "description": format!("{name}, vast tarief"),
        "tariffs": tariffs("0.23451", "6.99"),
        "extraFields": [{"key": "origin", "value": origin}],
    });
    let created = admin
        .mutate(
            "createProduct",
            "mutation($p: ProductFields!) { createProduct(input: {product: $p}) { product { id } userErrors { field message code } } }",
            json!({"p": product}),
        )
        .await;
    let id = id_of(&created["product"]["id"]);
    admin
        .mutate(
            "setProductAuthorised",
            "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: true}) { product { id } userErrors { field message code } } }",
            json!({"id": id}),
        )
        .await;
    id
}

async fn set_grants(admin: &Client<'_>, organisation: &str, products: &[&str], flows: &[&str]) {
    admin
        .mutate(
            "setOrganisationGrants",
            "mutation($o: ID!, $p: [ID!]!, $f: [ID!]!) { setOrganisationGrants(input: {organisationId: $o, productIds: $p, flowIds: $f}) { organisation { id } userErrors { field message code } } }",
            json!({"o": organisation, "p": products, "f": flows}),
        )
        .await;
}

async fn create_flow(admin: &Client<'_>, name: &str) -> String {
    id_of(
        &admin
            .mutate(
                "createFlow",
                "mutation($n: String!) { createFlow(input: {name: $n}) { flow { id } userErrors { field message code } } }",
                json!({"n": name}),
            )
            .await["flow"]["id"],
    )
}

async fn create_question(admin: &Client<'_>, input: Value) -> String {
    id_of(
        &admin
            .mutate(
                "createQuestion",
                "mutation($i: CreateQuestionInput!) { createQuestion(input: $i) { question { id } userErrors { field message code } } }",
                json!({"i": input}),
            )
            .await["question"]["id"],
    )
}

async fn create_status(admin: &Client<'_>, key: &str, name: &str) -> String {
    id_of(
        &admin
            .mutate(
                "createStatus",
                "mutation($k: String!, $n: String!) { createStatus(input: {key: $k, name: $n}) { status { id } userErrors { field message code } } }",
                json!({"k": key, "n": name}),
            )
            .await["status"]["id"],
    )
}

async fn create_select_field(admin: &Client<'_>, key: &str, options: &[&str]) {
    admin
        .mutate(
            "createExtraField",
            "mutation($k: String!, $o: [String!]!) { createExtraField(input: {entity: PRODUCT, key: $k, label: $k, fieldType: SELECT, options: $o}) { extraField { id } userErrors { field message code } } }",
            json!({"k": key, "o": options}),
        )
        .await;
}

/// Account `account` on `server`, set up as the seed describes: extra field `origin`, a supplier,
/// P1 (green) and P2 (grey) granted, P3 not; flow "Energie" with its questions granted, flow
/// "Internet" not; a custom status `callback`; organisation "Partner A" with its agent and an
/// integration-only token.
async fn provider<'a>(server: &'a TestServer, account: &str) -> Provider<'a> {
    let session = server.admin(account).await;
    let admin = Client::new(server, &session.token);
    create_select_field(&admin, "origin", &["grey", "green"]).await;
    let supplier = id_of(
        &admin
            .mutate(
                "createSupplier",
                "mutation($s: SupplierFields!) { createSupplier(input: {supplier: $s}) { supplier { id } userErrors { field message code } } }",
                json!({"s": {"name": SUPPLIER, "contactName": "Inge de Vries", "email": "partners@energiedirect.example", "website": "https://energiedirect.example"}}),
            )
            .await["supplier"]["id"],
    );
    let p1 = provider_product(&admin, P1_SKU, "Groene stroom 1 jaar", "green", &supplier).await;
    let p2 = provider_product(&admin, P2_SKU, "Grijze stroom 1 jaar", "grey", &supplier).await;
    let p3 = provider_product(&admin, P3_SKU, "Groene stroom 3 jaar", "green", &supplier).await;

    let flow = create_flow(&admin, "Energie").await;
    create_question(
        &admin,
        json!({
            "flowId": flow, "key": "payment_method", "label": "Betaalwijze", "questionType": "SELECT", "required": true,
            "options": [{"value": "direct_debit", "label": "Automatische incasso"}, {"value": "giro", "label": "Acceptgiro"}],
        }),
    )
    .await;
    create_question(
        &admin,
        json!({"flowId": flow, "key": "rehousing", "label": "Verhuizing", "questionType": "BOOLEAN", "position": 1}),
    )
    .await;
    // Optional, so that sales without it still validate; it applies only to payment by giro.
    create_question(
        &admin,
        json!({
            "flowId": flow, "key": GIRO_REFERENCE, "label": "Referentie acceptgiro", "questionType": "TEXT", "position": 2,
            "validations": {"minLength": 2, "maxLength": 5}, "conditions": [{"questionKey": "payment_method", "equals": "giro"}],
        }),
    )
    .await;
    let other_flow = create_flow(&admin, "Internet").await;
    create_question(
        &admin,
        json!({"flowId": other_flow, "key": "router_type", "label": "Router", "questionType": "TEXT"}),
    )
    .await;
    let callback = create_status(&admin, "callback", "Terugbellen").await;

    let organisation = id_of(
        &admin
            .mutate(
                "createOrganisation",
                "mutation { createOrganisation(input: {name: \"Partner A\"}) { organisation { id } userErrors { field message code } } }",
                json!({}),
            )
            .await["organisation"]["id"],
    );
    let agent = id_of(
        &admin
            .mutate(
                "createUser",
                "mutation($u: String!, $o: ID) { createUser(input: {username: $u, role: AGENT, organisationId: $o}) { user { id } userErrors { field message code } } }",
                json!({"u": AGENT, "o": organisation}),
            )
            .await["user"]["id"],
    );
    let created = admin
        .mutate(
            "createApiToken",
            "mutation($u: ID!) { createApiToken(input: {userId: $u, name: \"Koppeling Partner A\", integrationOnly: true}) { created { secret apiToken { id integrationOnly } } userErrors { field message code } } }",
            json!({"u": agent}),
        )
        .await;
    assert_eq!(created["created"]["apiToken"]["integrationOnly"], true);
    let secret = created["created"]["secret"].as_str().expect("the secret, shown once").to_owned();
    let token_id = id_of(&created["created"]["apiToken"]["id"]);
    set_grants(&admin, &organisation, &[&p1, &p2], &[&flow]).await;
    Provider {
        admin,
        account: account.to_owned(),
        supplier,
        p1,
        p2,
        p3,
        flow,
        other_flow,
        callback,
        organisation,
        agent,
        token_id,
        secret,
    }
}

async fn revoke(admin: &Client<'_>, token_id: &str) {
    admin
        .mutate(
            "revokeApiToken",
            "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { field message code } } }",
            json!({"id": token_id}),
        )
        .await;
}

// ---------------------------------------------------------------------------------------------------
// The consumer A
// ---------------------------------------------------------------------------------------------------

const INTEGRATION: &str = "id kind name enabled mode baseUrl settings lastSyncedAt createdAt updatedAt
  missingRecordPolicies { entity policy } credentialsSet { mode field lastFour }";

const CREATE_INTEGRATION: &str = "mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) {
  integration { id kind name enabled mode baseUrl settings missingRecordPolicies { entity policy } credentialsSet { mode field lastFour } }
  userErrors { field message code } } }";

const UPDATE_INTEGRATION: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id name baseUrl settings missingRecordPolicies { entity policy } }
  userErrors { field message code } } }";

const SET_CREDENTIALS: &str = "mutation($i: SetIntegrationCredentialsInput!) { setIntegrationCredentials(input: $i) {
  integration { id credentialsSet { mode field lastFour } } userErrors { field message code } } }";

const TEST_CONNECTION: &str = "mutation($i: TestIntegrationConnectionInput!) { testIntegrationConnection(input: $i) {
  test { ok code message identity latencyMs mode } userErrors { field message code } } }";

const REMOTE_PRODUCTS: &str = "query($id: ID!) { remoteProducts(integrationId: $id) {
  nodes { remoteId sku name category imported localProductId fields { key value } supplier { remoteId name }
          tariffs { code label amount unit } }
  pageInfo { hasNextPage endCursor } } }";

const IMPORT: &str = "mutation($id: ID!, $r: [String!]!) { importProducts(input: {integrationId: $id, remoteIds: $r}) {
  products { id sku name authorised active extraFields { key value } tariffs { code label amount unit } supplier { id name } }
  userErrors { field message code } } }";

const FIELD_MAPPINGS: &str = "mutation($i: SetFieldMappingsInput!) { setFieldMappings(input: $i) {
  fieldMappings { entity remoteField targetKind target transforms { kind argument } values { remote local } }
  userErrors { field message code } } }";

const STATUS_MAPPINGS: &str = "mutation($i: SetStatusMappingsInput!) { setStatusMappings(input: $i) {
  statusMappings { remoteStatus automatic localStatus { id key } } userErrors { field message code } } }";

const FLOW_MAPPINGS: &str = "mutation($i: SetFlowMappingsInput!) { setFlowMappings(input: $i) {
  flowMappings { remoteFlowId localFlow { id name } } userErrors { field message code } } }";

const QUESTION_MAPPINGS: &str = "mutation($i: SetQuestionMappingsInput!) { setQuestionMappings(input: $i) {
  questionMappings { remoteQuestionKey localQuestion { id key } options { remote local } }
  warnings { field message } userErrors { field message code } } }";

/// A's side of the connection.
struct Consumer<'a> {
    admin: Client<'a>,
    session: Session,
    integration: String,
}

fn base_url(remote: &TestServer) -> String {
    format!("http://{}", remote.addr)
}

async fn integration(admin: &Client<'_>, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ integration(id: $id) {{ {INTEGRATION} }} }}");
    admin.data(&query, json!({"id": id})).await["integration"].clone()
}

async fn integration_count(admin: &Client<'_>) -> usize {
    nodes(&admin.data("{ integrations { edges { node { id } } } }", json!({})).await["integrations"]).len()
}

/// Creates a peer integration to `remote` for `remote_account`; returns its id.
async fn create_integration(admin: &Client<'_>, name: &str, base_url: &str, remote_account: &str) -> String {
    let input = json!({"kind": "peer", "name": name, "baseUrl": base_url, "settings": {"accountName": remote_account}});
    id_of(&admin.mutate("createIntegration", CREATE_INTEGRATION, json!({"i": input})).await["integration"]["id"])
}

async fn set_token(admin: &Client<'_>, integration: &str, mode: &str, secret: &str) -> Value {
    let input = json!({"id": integration, "mode": mode, "values": [{"field": "apiToken", "value": secret}]});
    admin.mutate("setIntegrationCredentials", SET_CREDENTIALS, json!({"i": input})).await
}

async fn test_connection(admin: &Client<'_>, integration: &str, mode: Option<&str>) -> Value {
    let input = match mode {
        Some(mode) => json!({"id": integration, "mode": mode}),
        None => json!({"id": integration}),
    };
    admin.mutate("testIntegrationConnection", TEST_CONNECTION, json!({"i": input})).await["test"].clone()
}

/// Account `account` on `server` with a peer integration to `provider_account` on `remote`, whose
/// TEST credentials are `secret`.
async fn consumer<'a>(
    server: &'a TestServer,
    account: &str,
    remote: &TestServer,
    provider_account: &str,
    secret: &str,
) -> Consumer<'a> {
    let session = server.admin(account).await;
    let admin = Client::new(server, &session.token);
    let integration = create_integration(&admin, "Provider B", &base_url(remote), provider_account).await;
    set_token(&admin, &integration, "TEST", secret).await;
    Consumer { admin, session, integration }
}

async fn remote_products(admin: &Client<'_>, integration: &str) -> Vec<Value> {
    admin.data(REMOTE_PRODUCTS, json!({"id": integration})).await["remoteProducts"]["nodes"]
        .as_array()
        .cloned()
        .expect("remote products")
}

async fn local_products(admin: &Client<'_>) -> Vec<Value> {
    nodes(
        &admin.data("{ products { edges { node { id sku authorised supplier { id name } } } } }", json!({})).await["products"],
    )
}

async fn local_suppliers(admin: &Client<'_>) -> Vec<Value> {
    nodes(&admin.data("{ suppliers { edges { node { id name } } } }", json!({})).await["suppliers"])
}

/// B and A on one server, connected.
async fn connected(server: &TestServer) -> (Provider<'_>, Consumer<'_>) {
    let b = provider(server, "provider").await;
    let a = consumer(server, "consumer", server, &b.account, &b.secret).await;
    (b, a)
}

// ---------------------------------------------------------------------------------------------------
// 1. Provider set-up
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn provider_grants_an_organisation_products_and_a_flow_and_hands_out_an_integration_only_token() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    assert!(b.secret.starts_with("kpl_"), "{}", b.secret);

    let organisation = b
        .admin
        .data(
            "query($id: ID!) { organisation(id: $id) { name
               grantedProducts { edges { node { id sku } } } grantedFlows { edges { node { id name } } } } }",
            json!({"id": b.organisation}),
        )
        .await["organisation"]
        .clone();
    assert_eq!(organisation["name"], "Partner A");
    assert_eq!(sorted(&nodes(&organisation["grantedProducts"]), "sku"), GRANTED_SKUS);
    assert_eq!(sorted(&nodes(&organisation["grantedFlows"]), "name"), ["Energie"]);

    let users = b
        .admin
        .data(
            "query($o: ID) { users(organisationId: $o) { edges { node { id username role organisation { name } } } } }",
            json!({"o": b.organisation}),
        )
        .await;
    let users = nodes(&users["users"]);
    assert_eq!(users.len(), 1, "{users:#?}");
    assert_eq!(users[0]["id"], b.agent.as_str());
    assert_eq!(users[0]["username"], AGENT);
    assert_eq!(users[0]["role"], "AGENT");
    assert_eq!(users[0]["organisation"]["name"], "Partner A");

    let tokens = b
        .admin
        .data(
            "query($u: ID) { apiTokens(userId: $u) { edges { node { id name prefix integrationOnly revokedAt } } } }",
            json!({"u": b.agent}),
        )
        .await;
    let tokens = nodes(&tokens["apiTokens"]);
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["id"], b.token_id.as_str());
    assert_eq!(tokens[0]["integrationOnly"], true);
    assert!(tokens[0]["revokedAt"].is_null());
    assert!(b.secret.starts_with(tokens[0]["prefix"].as_str().unwrap()), "the prefix recognises the secret");
    b.admin.assert_never_saw_after_creation(&b.secret);

    let questions = b
        .admin
        .data(
            "query($f: ID) { questions(flowId: $f) { edges { node { key questionType required options { value label } } } } }",
            json!({"f": b.flow}),
        )
        .await;
    let questions = nodes(&questions["questions"]);
    assert_eq!(sorted(&questions, "key"), FLOW_QUESTIONS);
    let payment = questions.iter().find(|q| q["key"] == "payment_method").unwrap();
    assert_eq!(payment["questionType"], "SELECT");
    assert_eq!(payment["required"], true);
    assert_eq!(payment["options"][0]["value"], "direct_debit");
    let rehousing = questions.iter().find(|q| q["key"] == "rehousing").unwrap();
    assert_eq!(rehousing["questionType"], "BOOLEAN");

    let statuses =
        nodes(&b.admin.data("{ statuses { edges { node { id key system } } } }", json!({})).await["statuses"]);
    let callback = statuses.iter().find(|s| s["key"] == "callback").expect("the custom status");
    assert_eq!(callback["id"], b.callback.as_str());
    assert_eq!(callback["system"], false);
    assert_eq!(statuses.iter().filter(|s| s["system"] == true).count(), 5);
    assert!(!b.p3.is_empty() && !b.supplier.is_empty() && !b.other_flow.is_empty());
}

impl Client<'_> {
    /// The secret may be in the one `createApiToken` response, and in no other.
    fn assert_never_saw_after_creation(&self, secret: &str) {
        let seen = self.seen.lock().unwrap();
        let with_secret: Vec<&String> = seen.iter().filter(|t| t.contains(secret)).collect();
        assert_eq!(with_secret.len(), 1, "the secret is shown exactly once: {with_secret:#?}");
        assert!(with_secret[0].contains("createApiToken"));
    }
}

// ---------------------------------------------------------------------------------------------------
// 2. The integration-only token
// ---------------------------------------------------------------------------------------------------

const PROVIDER_PRODUCTS: &str = "query($ids: [ID!], $since: DateTime) {
  providerProducts(ids: $ids, changedSince: $since) { edges { node {
    id sku name authorised extraFields { key value } tariffs { code amount unit } supplier { id name } } } } }";

const SUBMIT_SALE: &str = "mutation($i: SubmitSaleInput!) { submitSale(input: $i) {
  sale { id idempotencyKey status { key } product { id } } userErrors { field message code } } }";

fn sale_input(key: &str, product: &str, flow: &str) -> Value {
    json!({
        "idempotencyKey": key, "productId": product, "flowId": flow,
        "customer": {"kind": "PERSON", "firstName": "Jan", "lastName": "Jansen", "email": "jan@example.com"},
        "contactPersons": [{"name": "Jan Jansen", "phone": "0612345678"}],
        "answers": [{"questionKey": "payment_method", "value": "direct_debit"}, {"questionKey": "rehousing", "value": false}],
        "optIn": {"consent": true, "channel": "phone"},
    })
}

async fn provider_skus(token: &Client<'_>, variables: Value) -> Vec<String> {
    sorted(&nodes(&token.data(PROVIDER_PRODUCTS, variables).await["providerProducts"]), "sku")
}

#[tokio::test]
async fn the_integration_only_token_reads_the_granted_catalogue_and_submits_sales() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);

    let me = token.data("{ me { username role account { name } organisation { name } } }", json!({})).await;
    assert_eq!(me["me"]["username"], AGENT);
    assert_eq!(me["me"]["role"], "AGENT");
    assert_eq!(me["me"]["account"]["name"], "provider");
    assert_eq!(me["me"]["organisation"]["name"], "Partner A");

    // Only the granted products, with their extra fields, tariffs and supplier.
    let products = nodes(&token.data(PROVIDER_PRODUCTS, json!({})).await["providerProducts"]);
    assert_eq!(sorted(&products, "sku"), GRANTED_SKUS);
    let p1 = products.iter().find(|p| p["id"] == b.p1.as_str()).unwrap();
    assert_eq!(p1["extraFields"], json!([{"key": "origin", "value": "green"}]));
    assert_eq!(p1["tariffs"][0], json!({"code": "delivery", "amount": "0.23451", "unit": "EUR/kWh"}));
    assert_eq!(p1["supplier"]["name"], SUPPLIER);
    assert_eq!(p1["authorised"], true);

    // `ids` filters, and does not reveal what is not granted.
    assert_eq!(provider_skus(&token, json!({"ids": [b.p1]})).await, [P1_SKU]);
    assert_eq!(provider_skus(&token, json!({"ids": [b.p3]})).await, Vec::<String>::new());
    assert_eq!(provider_skus(&token, json!({"ids": [b.p2, b.p3]})).await, [P2_SKU]);

    // `changedSince` returns what changed after that moment.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let since = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(50)).await;
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!) { updateProduct(input: {id: $id, product: {tariffs: [{code: \"delivery\", label: \"Leveringstarief\", amount: \"0.21000\", unit: \"EUR/kWh\"}]}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p2}),
        )
        .await;
    assert_eq!(provider_skus(&token, json!({"since": since.to_rfc3339()})).await, [P2_SKU]);
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(provider_skus(&token, json!({"since": later})).await, Vec::<String>::new());

    let fields = nodes(
        &token.data("{ providerProductFields { edges { node { key fieldType options } } } }", json!({})).await["providerProductFields"],
    );
    assert_eq!(fields, [json!({"key": "origin", "fieldType": "SELECT", "options": ["grey", "green"]})]);

    let flows =
        nodes(&token.data("{ providerFlows { edges { node { id name } } } }", json!({})).await["providerFlows"]);
    assert_eq!(flows, [json!({"id": b.flow, "name": "Energie"})], "only the granted flow");

    let questions = nodes(
        &token
            .data(
                "{ providerQuestions { edges { node { key questionType required options { value label } flow { id }
                   validations { minLength maxLength min max } conditions { questionKey equals } } } } }",
                json!({}),
            )
            .await["providerQuestions"],
    );
    assert_eq!(sorted(&questions, "key"), FLOW_QUESTIONS, "not the questions of Internet");
    let payment = questions.iter().find(|q| q["key"] == "payment_method").unwrap();
    assert_eq!(payment["questionType"], "SELECT");
    assert_eq!(payment["required"], true);
    assert_eq!(payment["flow"]["id"], b.flow.as_str());
    assert_eq!(
        payment["options"],
        json!([{"value": "direct_debit", "label": "Automatische incasso"}, {"value": "giro", "label": "Acceptgiro"}])
    );
    assert_eq!(payment["validations"], json!({"minLength": null, "maxLength": null, "min": null, "max": null}));
    assert_eq!(payment["conditions"], json!([]));
    let giro = questions.iter().find(|q| q["key"] == GIRO_REFERENCE).unwrap();
    let (validations, conditions) = giro_reference_rules();
    assert_eq!(giro["questionType"], "TEXT");
    assert_eq!(giro["required"], false);
    assert_eq!(giro["validations"], validations, "{giro:#}");
    assert_eq!(giro["conditions"], conditions, "{giro:#}");

    let statuses = nodes(
        &token.data("{ providerStatuses { edges { node { key name system } } } }", json!({})).await["providerStatuses"],
    );
    assert_eq!(sorted(&statuses, "key"), ["callback", "cancelled", "new", "processed", "rejected", "sent"]);
    assert_eq!(statuses.iter().find(|s| s["key"] == "callback").unwrap()["system"], false);

    // Submitting twice with the same key gives one sale.
    let first = token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("a-sale-1", &b.p1, &b.flow)})).await;
    let again = token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("a-sale-1", &b.p1, &b.flow)})).await;
    let sale = id_of(&first["sale"]["id"]);
    assert_eq!(again["sale"]["id"], sale.as_str(), "the retry returns the first sale");
    assert_eq!(first["sale"]["idempotencyKey"], "a-sale-1");
    assert_eq!(first["sale"]["status"]["key"], "new");
    let sales = nodes(
        &b.admin.data("{ sales { edges { node { id idempotencyKey agent { username } } } } }", json!({})).await["sales"],
    );
    assert_eq!(sales.len(), 1, "exactly one sale at B: {sales:#?}");
    assert_eq!(sales[0]["id"], sale.as_str());
    assert_eq!(sales[0]["agent"]["username"], AGENT);

    // The submitted sale's status, before and after B changes it.
    let provider_sales = "query($ids: [ID!]) { providerSales(ids: $ids) { edges { node { id status { key } } } } }";
    let seen = nodes(&token.data(provider_sales, json!({"ids": [sale]})).await["providerSales"]);
    assert_eq!(seen, [json!({"id": sale, "status": {"key": "new"}})]);
    b.admin
        .mutate(
            "changeSaleStatus",
            "mutation($id: ID!, $s: ID!) { changeSaleStatus(input: {id: $id, statusId: $s}) { sale { id } userErrors { field message code } } }",
            json!({"id": sale, "s": b.callback}),
        )
        .await;
    let seen = nodes(&token.data(provider_sales, json!({"ids": null})).await["providerSales"]);
    assert_eq!(seen, [json!({"id": sale, "status": {"key": "callback"}})]);
}

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
        let body = token.raw(query, variables.clone()).await;
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

#[tokio::test]
async fn grant_changes_and_revocation_take_effect_on_the_next_request() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    assert_eq!(provider_skus(&token, json!({})).await, GRANTED_SKUS);

    set_grants(&b.admin, &b.organisation, &[&b.p2], &[&b.flow]).await;
    assert_eq!(provider_skus(&token, json!({})).await, [P2_SKU], "P1 is gone at once");
    assert_eq!(provider_skus(&token, json!({"ids": [b.p1]})).await, Vec::<String>::new());

    for (key, product) in [("after-removal", &b.p1), ("never-granted", &b.p3)] {
        let (payload, errors) =
            token.refused("submitSale", SUBMIT_SALE, json!({"i": sale_input(key, product, &b.flow)})).await;
        assert!(has_error(&errors, "productId", "NOT_FOUND"), "{payload:#}");
        assert!(payload["sale"].is_null());
    }
    let (_, errors) =
        token.refused("submitSale", SUBMIT_SALE, json!({"i": sale_input("other-flow", &b.p2, &b.other_flow)})).await;
    assert!(has_error(&errors, "flowId", "NOT_FOUND"), "{errors:?}");
    let sales = nodes(&b.admin.data("{ sales { edges { node { id } } } }", json!({})).await["sales"]);
    assert!(sales.is_empty(), "no sale was made: {sales:#?}");

    // A granted product still sells.
    token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("p2", &b.p2, &b.flow)})).await;

    revoke(&b.admin, &b.token_id).await;
    assert_eq!(token.error("{ me { id } }", json!({})).await, "UNAUTHENTICATED");
    assert_eq!(token.error(PROVIDER_PRODUCTS, json!({})).await, "UNAUTHENTICATED");
    assert_eq!(
        token.error(SUBMIT_SALE, json!({"i": sale_input("after-revoke", &b.p2, &b.flow)})).await,
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn concurrent_submissions_with_one_key_make_one_sale() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    let input = json!({"i": sale_input("retry-storm", &b.p1, &b.flow)});
    let attempts = (0..6).map(|_| token.raw(SUBMIT_SALE, input.clone()));
    let answers = futures_join_all(attempts).await;
    let mut ids = BTreeSet::new();
    for answer in &answers {
        assert!(answer.get("errors").is_none_or(Value::is_null), "a retry failed: {answer:#}");
        let payload = &answer["data"]["submitSale"];
        assert!(user_errors(payload).is_empty(), "{payload:#}");
        ids.insert(id_of(&payload["sale"]["id"]));
    }
    assert_eq!(ids.len(), 1, "every retry answers with the same sale: {ids:?}");
    let sales = nodes(&b.admin.data("{ sales { edges { node { id } } } }", json!({})).await["sales"]);
    assert_eq!(sales.len(), 1, "{sales:#?}");
    let customers = nodes(&b.admin.data("{ customers { edges { node { id } } } }", json!({})).await["customers"]);
    assert_eq!(customers.len(), 1, "one customer travelled with the one sale: {customers:#?}");
}

/// Polls all futures to completion concurrently, in order.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<Option<std::pin::Pin<Box<F>>>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, output) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => {
                        *output = Some(value);
                        *slot = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}

#[tokio::test]
async fn a_refused_submission_does_not_use_up_its_idempotency_key() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    let mut bad = sale_input("first-try", &b.p1, &b.flow);
    bad["answers"] =
        json!([{"questionKey": "payment_method", "value": "cash"}, {"questionKey": "rehousing", "value": "maybe"}]);
    let (payload, errors) = token.refused("submitSale", SUBMIT_SALE, json!({"i": bad})).await;
    assert!(payload["sale"].is_null());
    assert!(errors.iter().any(|(f, _)| f.contains("payment_method")), "{errors:?}");
    assert!(errors.iter().any(|(f, _)| f.contains("rehousing")), "every problem at once: {errors:?}");
    let mut missing = sale_input("first-try", &b.p1, &b.flow);
    missing["answers"] = json!([]);
    let (_, errors) = token.refused("submitSale", SUBMIT_SALE, json!({"i": missing})).await;
    assert!(errors.iter().any(|(f, _)| f.contains("payment_method")), "the required question: {errors:?}");
    let (_, errors) = token.refused("submitSale", SUBMIT_SALE, json!({"i": sale_input("  ", &b.p1, &b.flow)})).await;
    assert!(has_error(&errors, "idempotencyKey", "REQUIRED"), "{errors:?}");
    assert!(nodes(&b.admin.data("{ customers { edges { node { id } } } }", json!({})).await["customers"]).is_empty());

    let sale = token.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("first-try", &b.p1, &b.flow)})).await;
    assert_eq!(sale["sale"]["idempotencyKey"], "first-try");
    let sales = nodes(&b.admin.data("{ sales { edges { node { id } } } }", json!({})).await["sales"]);
    assert_eq!(sales.len(), 1);
}

#[tokio::test]
async fn deactivated_products_and_flows_leave_the_provider_surface() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!) { updateProduct(input: {id: $id, product: {active: false}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1}),
        )
        .await;
    assert_eq!(provider_skus(&token, json!({})).await, [P2_SKU]);
    let (_, errors) =
        token.refused("submitSale", SUBMIT_SALE, json!({"i": sale_input("inactive", &b.p1, &b.flow)})).await;
    assert!(has_error(&errors, "productId", "NOT_FOUND"), "{errors:?}");

    b.admin
        .mutate(
            "updateFlow",
            "mutation($id: ID!) { updateFlow(input: {id: $id, active: false}) { flow { id } userErrors { field message code } } }",
            json!({"id": b.flow}),
        )
        .await;
    let flows = token.data("{ providerFlows { edges { node { id } } } }", json!({})).await;
    assert!(nodes(&flows["providerFlows"]).is_empty());
    let questions = token.data("{ providerQuestions { edges { node { key } } } }", json!({})).await;
    assert!(nodes(&questions["providerQuestions"]).is_empty(), "the questions of an inactive flow are gone too");
    let (_, errors) =
        token.refused("submitSale", SUBMIT_SALE, json!({"i": sale_input("inactive-flow", &b.p2, &b.flow)})).await;
    assert!(has_error(&errors, "flowId", "NOT_FOUND"), "{errors:?}");
}

#[tokio::test]
async fn a_token_whose_agent_left_the_organisation_fails_the_connection_test() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    b.admin
        .mutate(
            "updateUser",
            "mutation($id: ID!) { updateUser(input: {id: $id, clearOrganisation: true}) { user { id } userErrors { field message code } } }",
            json!({"id": b.agent}),
        )
        .await;
    let token = Client::new(&server, &b.secret);
    assert_eq!(token.error(PROVIDER_PRODUCTS, json!({})).await, "FORBIDDEN");
    let body = a.admin.raw(REMOTE_PRODUCTS, json!({"id": a.integration})).await;
    assert_eq!(body["errors"][0]["extensions"]["remoteCode"], "FORBIDDEN", "{body:#}");
    let test = test_connection(&a.admin, &a.integration, None).await;
    assert_failed(&test, "FORBIDDEN");
}

#[tokio::test]
async fn two_partners_of_one_provider_see_only_their_own_grants_and_sales() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let partner_a = Client::new(&server, &b.secret);
    // A second partner, granted only P3.
    let organisation = id_of(
        &b.admin
            .mutate(
                "createOrganisation",
                "mutation { createOrganisation(input: {name: \"Partner C\"}) { organisation { id } userErrors { field message code } } }",
                json!({}),
            )
            .await["organisation"]["id"],
    );
    let agent = id_of(
        &b.admin
            .mutate(
                "createUser",
                "mutation($o: ID) { createUser(input: {username: \"koppeling_partner_c\", role: AGENT, organisationId: $o}) { user { id } userErrors { field message code } } }",
                json!({"o": organisation}),
            )
            .await["user"]["id"],
    );
    let secret = b
        .admin
        .mutate(
            "createApiToken",
            "mutation($u: ID!) { createApiToken(input: {userId: $u, name: \"Partner C\", integrationOnly: true}) { created { secret } userErrors { field message code } } }",
            json!({"u": agent}),
        )
        .await["created"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    set_grants(&b.admin, &organisation, &[&b.p3], &[&b.other_flow]).await;
    let partner_c = Client::new(&server, &secret);

    assert_eq!(provider_skus(&partner_a, json!({})).await, GRANTED_SKUS);
    assert_eq!(provider_skus(&partner_c, json!({})).await, [P3_SKU]);
    let flows =
        nodes(&partner_c.data("{ providerFlows { edges { node { name } } } }", json!({})).await["providerFlows"]);
    assert_eq!(sorted(&flows, "name"), ["Internet"]);

    let sale = partner_a.mutate("submitSale", SUBMIT_SALE, json!({"i": sale_input("same-key", &b.p1, &b.flow)})).await;
    let sale = id_of(&sale["sale"]["id"]);
    let (_, errors) =
        partner_c.refused("submitSale", SUBMIT_SALE, json!({"i": sale_input("same-key", &b.p1, &b.flow)})).await;
    assert!(has_error(&errors, "productId", "NOT_FOUND"), "the same key is no way into A's sale: {errors:?}");
    let c_input = json!({"idempotencyKey": "same-key", "productId": b.p3, "flowId": b.other_flow, "answers": []});
    let c_sale = partner_c.mutate("submitSale", SUBMIT_SALE, json!({"i": c_input})).await;
    assert_ne!(c_sale["sale"]["id"], sale.as_str(), "keys are per partner");

    let provider_sales = "query($ids: [ID!]) { providerSales(ids: $ids) { edges { node { id } } } }";
    let seen = nodes(&partner_c.data(provider_sales, json!({"ids": [sale]})).await["providerSales"]);
    assert!(seen.is_empty(), "C does not see A's sale");
    let seen = nodes(&partner_c.data(provider_sales, json!({"ids": null})).await["providerSales"]);
    assert_eq!(seen, [json!({"id": c_sale["sale"]["id"]})]);
    let seen = nodes(&partner_a.data(provider_sales, json!({"ids": null})).await["providerSales"]);
    assert_eq!(seen, [json!({"id": sale})]);
}

#[tokio::test]
async fn hidden_product_fields_are_not_shared_with_the_partner() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    b.admin
        .mutate(
            "createExtraField",
            "mutation { createExtraField(input: {entity: PRODUCT, key: \"margin\", label: \"Marge\", fieldType: TEXT, hidden: true}) { extraField { id } userErrors { field message code } } }",
            json!({}),
        )
        .await;
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!) { updateProduct(input: {id: $id, product: {extraFields: [{key: \"margin\", value: \"12 procent\"}]}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1}),
        )
        .await;
    let token = Client::new(&server, &b.secret);
    let fields = nodes(
        &token.data("{ providerProductFields { edges { node { key } } } }", json!({})).await["providerProductFields"],
    );
    assert_eq!(sorted(&fields, "key"), ["origin"], "the hidden field is not listed");
    let products = nodes(&token.data(PROVIDER_PRODUCTS, json!({"ids": [b.p1]})).await["providerProducts"]);
    assert_eq!(products[0]["extraFields"], json!([{"key": "origin", "value": "green"}]), "nor is its value shared");
}

// ---------------------------------------------------------------------------------------------------
// 3. Consumer set-up
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn integration_kinds_describe_the_peer_kind() {
    let server = TestServer::start().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let kinds = admin
        .data(
            "{ integrationKinds { kind label capabilities syncedEntities
                settings { name fieldType required default options min max help }
                credentials { name fieldType required help } } }",
            json!({}),
        )
        .await;
    let peer = kinds["integrationKinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "peer")
        .expect("the peer kind")
        .clone();
    // Only what the peer kind really does: sale push, status pull and incremental sync do not exist yet.
    assert_eq!(peer["capabilities"], json!(["products"]), "{peer:#}");
    for list in ["settings", "credentials"] {
        for field in peer[list].as_array().unwrap() {
            let help = field["help"].as_str().unwrap_or("");
            assert!(!help.trim().is_empty(), "{list}.{} has no help: {field:#}", field["name"]);
        }
    }
    assert_eq!(peer["syncedEntities"], json!(["product"]));
    let setting = |name: &str| {
        peer["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}"))
    };
    let account_name = setting("accountName");
    assert_eq!(account_name["required"], true);
    assert_eq!(account_name["fieldType"], "text");
    let auto = setting("autoProcessing");
    assert_eq!(auto["fieldType"], "select");
    assert_eq!(auto["options"], json!(["manual", "all", "specific"]));
    assert_eq!(auto["default"], "manual");
    assert_eq!(auto["required"], false);
    let delay = setting("delayWorkingDays");
    assert_eq!(delay["fieldType"], "integer");
    assert_eq!((delay["min"].as_i64(), delay["max"].as_i64()), (Some(0), Some(30)));
    assert_eq!(setting("processOnStatuses")["fieldType"], "text_list");
    assert_eq!(setting("checkStatusUpdates")["fieldType"], "boolean");
    let credentials: Vec<Value> = peer["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| json!({"name": c["name"], "fieldType": c["fieldType"], "required": c["required"]}))
        .collect();
    assert_eq!(credentials, [json!({"name": "apiToken", "fieldType": "secret", "required": true})]);
}

#[tokio::test]
async fn create_integration_fills_defaults_and_names_every_bad_field() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let url = base_url(&server);

    let created = admin
        .mutate(
            "createIntegration",
            CREATE_INTEGRATION,
            json!({"i": {"kind": "peer", "name": "Provider B", "baseUrl": url, "settings": {"accountName": b.account}}}),
        )
        .await["integration"]
        .clone();
    assert_eq!(created["kind"], "peer");
    assert_eq!(created["mode"], "TEST");
    assert_eq!(created["enabled"], false);
    assert_eq!(created["baseUrl"], url.as_str());
    assert_eq!(created["settings"]["accountName"], "provider");
    assert_eq!(created["settings"]["autoProcessing"], "manual");
    assert_eq!(created["settings"]["delayWorkingDays"], 0);
    assert_eq!(created["settings"]["checkStatusUpdates"], false);
    assert_eq!(created["missingRecordPolicies"], json!([{"entity": "product", "policy": "DEACTIVATE"}]));
    assert_eq!(created["credentialsSet"], json!([]));
    let id = id_of(&created["id"]);

    let good = |changes: Value| {
        let mut input =
            json!({"kind": "peer", "name": "Another", "baseUrl": url, "settings": {"accountName": "provider"}});
        for (key, value) in changes.as_object().unwrap() {
            input[key] = value.clone();
        }
        json!({"i": input})
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (good(json!({"kind": "sap"})), "kind", "NOT_AN_OPTION"),
        (
            good(json!({"settings": {"accountName": "provider", "delayWorkingDays": 99}})),
            "settings.delayWorkingDays",
            "INVALID",
        ),
        (good(json!({"settings": {"accountName": "provider", "colour": "red"}})), "settings.colour", "UNKNOWN"),
        (good(json!({"settings": {}})), "settings.accountName", "REQUIRED"),
        (good(json!({"settings": {"accountName": "  "}})), "settings.accountName", "INVALID"),
        (
            good(json!({"settings": {"accountName": "provider", "autoProcessing": "sometimes"}})),
            "settings.autoProcessing",
            "INVALID",
        ),
        (good(json!({"name": "Provider B"})), "name", "TAKEN"),
        (good(json!({"name": ""})), "name", "REQUIRED"),
        (
            good(json!({"missingRecordPolicies": [{"entity": "customer", "policy": "DELETE"}]})),
            "missingRecordPolicies.0.entity",
            "INVALID",
        ),
        (good(json!({"baseUrl": "not a url"})), "baseUrl", "INVALID"),
    ];
    for (variables, field, code) in cases {
        let (payload, errors) = admin.refused("createIntegration", CREATE_INTEGRATION, variables.clone()).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {variables}");
        assert!(payload["integration"].is_null());
    }
    // Several problems at once are all reported.
    let (_, errors) = admin
        .refused(
            "createIntegration",
            CREATE_INTEGRATION,
            good(json!({"name": "Provider B", "settings": {"delayWorkingDays": 99, "colour": "red"}})),
        )
        .await;
    for field in ["name", "settings.delayWorkingDays", "settings.colour", "settings.accountName"] {
        assert!(errors.iter().any(|(f, _)| f == field), "{field} in {errors:?}");
    }
    assert_eq!(integration_count(&admin).await, 1, "nothing was created");

    // Policies: deactivate by default, changeable per synced entity.
    for policy in ["DELETE", "IGNORE", "DEACTIVATE"] {
        let updated = admin
            .mutate(
                "updateIntegration",
                UPDATE_INTEGRATION,
                json!({"i": {"id": id, "missingRecordPolicies": [{"entity": "product", "policy": policy}]}}),
            )
            .await;
        assert_eq!(updated["integration"]["missingRecordPolicies"], json!([{"entity": "product", "policy": policy}]));
    }
    admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "missingRecordPolicies": [{"entity": "product", "policy": "IGNORE"}]}}),
        )
        .await;
    let (_, errors) = admin
        .refused(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "name": "Renamed", "missingRecordPolicies": [{"entity": "sale", "policy": "DELETE"}]}}),
        )
        .await;
    assert!(has_error(&errors, "missingRecordPolicies.0.entity", "INVALID"), "{errors:?}");
    let stored = integration(&admin, &id).await;
    assert_eq!(stored["name"], "Provider B", "a refused update changes nothing");
    assert_eq!(stored["missingRecordPolicies"], json!([{"entity": "product", "policy": "IGNORE"}]));

    // Updating the settings replaces them, defaults filled in, and checks them the same way.
    let updated = admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "settings": {"accountName": "provider", "autoProcessing": "specific", "processOnStatuses": ["sent"], "delayWorkingDays": 2}}}),
        )
        .await;
    assert_eq!(updated["integration"]["settings"]["delayWorkingDays"], 2);
    assert_eq!(updated["integration"]["settings"]["processOnStatuses"], json!(["sent"]));
    let (_, errors) = admin
        .refused(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": id, "settings": {"accountName": "provider", "delayWorkingDays": -1}}}),
        )
        .await;
    assert!(has_error(&errors, "settings.delayWorkingDays", "INVALID"), "{errors:?}");
    assert_eq!(integration(&admin, &id).await["settings"]["delayWorkingDays"], 2);
}

#[tokio::test]
async fn credentials_show_only_their_last_four_characters_and_never_come_back() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let id = create_integration(&admin, "Provider B", &base_url(&server), &b.account).await;
    let production = "kpl_productionSecretThatIsNeverShownAgain0000wxyz";

    let set = set_token(&admin, &id, "TEST", &b.secret).await;
    let last_four: String = b.secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect();
    assert_eq!(
        set["integration"]["credentialsSet"],
        json!([{"mode": "TEST", "field": "apiToken", "lastFour": last_four}])
    );
    set_token(&admin, &id, "PRODUCTION", production).await;
    let stored = integration(&admin, &id).await;
    let sets = stored["credentialsSet"].as_array().unwrap();
    assert_eq!(sets.len(), 2, "{sets:#?}");
    assert!(sets.contains(&json!({"mode": "PRODUCTION", "field": "apiToken", "lastFour": "wxyz"})));

    // Bad credential input is refused with the field named.
    let (_, errors) = admin
        .refused(
            "setIntegrationCredentials",
            SET_CREDENTIALS,
            json!({"i": {"id": id, "mode": "TEST", "values": [{"field": "password", "value": "hunter2hunter2"}]}}),
        )
        .await;
    assert!(has_error(&errors, "values.0.field", "UNKNOWN"), "{errors:?}");
    let (_, errors) = admin
        .refused(
            "setIntegrationCredentials",
            SET_CREDENTIALS,
            json!({"i": {"id": id, "mode": "TEST", "values": [{"field": "apiToken", "value": " kpl_spaced "}]}}),
        )
        .await;
    assert!(has_error(&errors, "values.0.value", "INVALID"), "{errors:?}");

    // An empty value removes the field of that mode only.
    set_token(&admin, &id, "PRODUCTION", "").await;
    let stored = integration(&admin, &id).await;
    assert_eq!(stored["credentialsSet"], json!([{"mode": "TEST", "field": "apiToken", "lastFour": last_four}]));
    let listed = admin
        .data("{ integrations { edges { node { settings credentialsSet { mode field lastFour } } } } }", json!({}))
        .await;
    assert_eq!(nodes(&listed["integrations"]).len(), 1);

    // The connection works with the stored secret, which no response ever contained.
    assert_eq!(test_connection(&admin, &id, None).await["ok"], true);
    admin.assert_never_saw(&b.secret);
    admin.assert_never_saw(production);
}

// ---------------------------------------------------------------------------------------------------
// 4. Connection tests
// ---------------------------------------------------------------------------------------------------

fn assert_failed(test: &Value, code: &str) {
    assert_eq!(test["ok"], false, "{test:#}");
    assert_eq!(test["code"], code, "{test:#}");
    assert!(test["identity"].is_null(), "{test:#}");
    assert!(!test["message"].as_str().unwrap_or("").is_empty(), "{test:#}");
    assert!(test["latencyMs"].as_i64().is_some_and(|ms| ms >= 0), "{test:#}");
}

#[tokio::test]
async fn connection_tests_say_whom_we_are_connected_as_and_why_not() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    server.admin("elsewhere").await;

    let ok = test_connection(&a.admin, &a.integration, None).await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert_eq!(ok["code"], "OK");
    assert_eq!(ok["mode"], "TEST");
    let identity = ok["identity"].as_str().unwrap();
    assert!(identity.contains(AGENT) && identity.contains("provider"), "{identity}");
    assert!(ok["latencyMs"].as_i64().is_some_and(|ms| ms >= 0), "{ok:#}");

    // The token belongs to another account than the one configured.
    let settings = |account: &str| json!({"i": {"id": a.integration, "settings": {"accountName": account}}});
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, settings("elsewhere")).await;
    let wrong = test_connection(&a.admin, &a.integration, None).await;
    assert_failed(&wrong, "WRONG_ACCOUNT");
    assert!(wrong["message"].as_str().unwrap().contains("elsewhere"), "{wrong:#}");
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, settings(&b.account)).await;
    assert_eq!(test_connection(&a.admin, &a.integration, None).await["ok"], true);

    // Nobody listens.
    let unreachable =
        create_integration(&a.admin, "Nobody", &format!("http://127.0.0.1:{}", closed_port()), &b.account).await;
    set_token(&a.admin, &unreachable, "TEST", &b.secret).await;
    assert_failed(&test_connection(&a.admin, &unreachable, None).await, "UNREACHABLE");

    // No credentials for the mode tested.
    let production = test_connection(&a.admin, &a.integration, Some("PRODUCTION")).await;
    assert_failed(&production, "CONFIGURATION");
    assert_eq!(production["mode"], "PRODUCTION");
    a.admin
        .mutate("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": a.integration, "mode": "PRODUCTION"}}))
        .await;
    assert_failed(&test_connection(&a.admin, &a.integration, None).await, "CONFIGURATION");
    assert_eq!(test_connection(&a.admin, &a.integration, Some("TEST")).await["ok"], true);

    // B revokes the token.
    revoke(&b.admin, &b.token_id).await;
    assert_failed(&test_connection(&a.admin, &a.integration, Some("TEST")).await, "REVOKED");
    a.admin.assert_never_saw(&b.secret);
}

#[tokio::test]
async fn a_made_up_token_is_wrong_credentials_not_revoked() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let made_up = "kpl_madeUpTokenThatWasNeverIssuedByAnyone0123456";
    let a = consumer(&server, "consumer", &server, &b.account, made_up).await;
    let test = test_connection(&a.admin, &a.integration, None).await;
    assert_failed(&test, "WRONG_CREDENTIALS");
    // Something that is not a kpl_ token at all is wrong too.
    set_token(&a.admin, &a.integration, "TEST", "not-a-token-at-all").await;
    assert_failed(&test_connection(&a.admin, &a.integration, None).await, "WRONG_CREDENTIALS");
    a.admin.assert_never_saw(made_up);
}

#[tokio::test]
async fn a_remote_that_never_answers_times_out() {
    let server = TestServer::start_with(|c| {
        c.allow_private_remotes = true;
        c.remote_timeout_seconds = 1;
    })
    .await;
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a listener");
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let id = create_integration(&admin, "Silent", &format!("http://127.0.0.1:{port}"), "provider").await;
    set_token(&admin, &id, "TEST", "kpl_whateverTokenForTheSilentRemote000000000000").await;
    let test = test_connection(&admin, &id, None).await;
    assert_failed(&test, "TIMEOUT");
    let latency = test["latencyMs"].as_i64().unwrap();
    assert!((900..15_000).contains(&latency), "about the 1 s timeout: {latency} ms");
    silent.abort();
}

/// A remote that answers every request with `response` (a raw HTTP/1.1 response) and hangs up.
async fn canned_remote(response: &'static str) -> (u16, tokio::task::JoinHandle<()>) {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a listener");
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                // The whole request first, however many segments it comes in: hanging up on unread
                // data would make the client see a reset instead of the answer.
                let _ = tokio::time::timeout(Duration::from_secs(2), read_request(&mut socket)).await;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, task)
}

/// Reads an HTTP/1.1 request up to the end of its headers and then its `Content-Length` body.
async fn read_request(socket: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt;
    let mut request = Vec::new();
    let mut chunk = [0u8; 8_192];
    loop {
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            let headers = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
            let length = headers
                .lines()
                .find_map(|line| line.strip_prefix("content-length:"))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                return;
            }
        }
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn remotes_that_are_not_koppel_or_not_well_get_their_own_codes() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let cases: [(&str, &str); 5] = [
        (
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/plain\r\ncontent-length: 4\r\nconnection: close\r\n\r\noops",
            "REMOTE_ERROR",
        ),
        (
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "RATE_LIMITED",
        ),
        (
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 15\r\nconnection: close\r\n\r\n<html></html>\r\n",
            "PROTOCOL_ERROR",
        ),
        (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 20\r\nconnection: close\r\n\r\n{\"data\":{\"me\":null}}",
            "PROTOCOL_ERROR",
        ),
        (
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 78\r\nconnection: close\r\n\r\n{\"data\":null,\"errors\":[{\"message\":\"no\",\"extensions\":{\"code\":\"RATE_LIMITED\"}}]}",
            "RATE_LIMITED",
        ),
    ];
    for (i, (response, code)) in cases.into_iter().enumerate() {
        let (port, task) = canned_remote(response).await;
        let id = create_integration(&admin, &format!("Odd {i}"), &format!("http://127.0.0.1:{port}"), "provider").await;
        set_token(&admin, &id, "TEST", &b.secret).await;
        let test = test_connection(&admin, &id, None).await;
        assert_failed(&test, code);
        if code == "RATE_LIMITED" && i == 1 {
            assert!(test["message"].as_str().unwrap().contains('7'), "the Retry-After is passed on: {test:#}");
        }
        task.abort();
    }

    // A base URL that is Koppel's server but not its root: nothing GraphQL answers there.
    let wrong_path =
        create_integration(&admin, "Wrong path", &format!("{}/elsewhere", base_url(&server)), "provider").await;
    set_token(&admin, &wrong_path, "TEST", &b.secret).await;
    let test = test_connection(&admin, &wrong_path, None).await;
    assert_eq!(test["ok"], false, "{test:#}");
    assert!(["PROTOCOL_ERROR", "REMOTE_ERROR"].contains(&test["code"].as_str().unwrap()), "{test:#}");
    admin.assert_never_saw(&b.secret);
}

// ---------------------------------------------------------------------------------------------------
// 5. SSRF guard
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn base_urls_must_be_https_on_public_addresses() {
    let server = TestServer::start().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let refused = [
        "https://127.0.0.1",
        "https://2130706433",
        "https://0x7f000001",
        "https://127.1",
        "https://[::1]",
        "https://[::ffff:127.0.0.1]",
        "https://169.254.169.254",
        "https://[fe80::1]",
        "https://[fd00::1]",
        "https://100.64.0.1",
        "https://localhost.",
        "https://10.0.0.8",
        "https://192.168.1.1",
        "https://localhost",
        "https://koppel.localhost",
        "https://0.0.0.0",
        "http://example.com",
        "ftp://example.com",
        "https://user:pass@koppel.example.com",
    ];
    for url in refused {
        let input = json!({"kind": "peer", "name": url, "baseUrl": url, "settings": {"accountName": "provider"}});
        let (_, errors) = admin.refused("createIntegration", CREATE_INTEGRATION, json!({"i": input})).await;
        assert!(has_error(&errors, "baseUrl", "INVALID"), "{url}: {errors:?}");
    }
    assert_eq!(integration_count(&admin).await, 0);

    let id = create_integration(&admin, "Provider B", "https://koppel.example.com/", "provider").await;
    let stored = integration(&admin, &id).await;
    assert_eq!(stored["baseUrl"], "https://koppel.example.com");

    // Updating to a private address is refused as well, and changes nothing.
    let (_, errors) = admin
        .refused("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": id, "baseUrl": "https://127.0.0.1:8443"}}))
        .await;
    assert!(has_error(&errors, "baseUrl", "INVALID"), "{errors:?}");
    assert_eq!(integration(&admin, &id).await["baseUrl"], "https://koppel.example.com");
}

// ---------------------------------------------------------------------------------------------------
// 6. Browse and import
// ---------------------------------------------------------------------------------------------------

/// A's product extra field `herkomst` and the mapping of B's `origin` onto it.
async fn map_origin(a: &Consumer<'_>) -> Value {
    create_select_field(&a.admin, "herkomst", &["Groene stroom", "Grijze stroom"]).await;
    let input = json!({
        "integrationId": a.integration, "entity": "product",
        "mappings": [{
            "remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst",
            "transforms": [{"kind": "TRIM"}],
            "values": [{"remote": "green", "local": "Groene stroom"}, {"remote": "grey", "local": "Grijze stroom"}],
        }],
    });
    a.admin.mutate("setFieldMappings", FIELD_MAPPINGS, json!({"i": input})).await
}

async fn import(a: &Consumer<'_>, remote_ids: &[&str]) -> Vec<Value> {
    a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": remote_ids})).await["products"]
        .as_array()
        .cloned()
        .expect("the imported products")
}

#[tokio::test]
async fn consumer_browses_and_imports_granted_products_with_one_shared_supplier() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;

    let remote = remote_products(&a.admin, &a.integration).await;
    assert_eq!(sorted(&remote, "sku"), GRANTED_SKUS, "P3 is not granted");
    let ids: BTreeSet<&str> = remote.iter().map(|p| p["remoteId"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from([b.p1.as_str(), b.p2.as_str()]));
    for product in &remote {
        assert_eq!(product["imported"], false);
        assert!(product["localProductId"].is_null());
        assert_eq!(product["supplier"], json!({"remoteId": b.supplier, "name": SUPPLIER}));
        assert_eq!(product["tariffs"][0]["amount"], "0.23451");
    }
    let p1 = remote.iter().find(|p| p["remoteId"] == b.p1.as_str()).unwrap();
    assert_eq!(p1["fields"], json!([{"key": "origin", "value": "green"}]));
    let fields = a
        .admin
        .data(
            "query($id: ID!) { remoteProductFields(integrationId: $id) { key fieldType options } }",
            json!({"id": a.integration}),
        )
        .await;
    assert_eq!(
        fields["remoteProductFields"],
        json!([{"key": "origin", "fieldType": "select", "options": ["grey", "green"]}])
    );
    assert!(integration(&a.admin, &a.integration).await["lastSyncedAt"].is_null());

    let mapped = map_origin(&a).await;
    assert_eq!(
        mapped["fieldMappings"],
        json!([{
            "entity": "product", "remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst",
            "transforms": [{"kind": "TRIM", "argument": null}],
            "values": [{"remote": "green", "local": "Groene stroom"}, {"remote": "grey", "local": "Grijze stroom"}],
        }])
    );

    let imported = import(&a, &[&b.p1, &b.p2]).await;
    assert_eq!(sorted(&imported, "sku"), GRANTED_SKUS);
    for product in &imported {
        assert_eq!(product["authorised"], false, "imported products must be authorised first");
        assert_eq!(product["active"], true);
        assert_eq!(product["supplier"]["name"], SUPPLIER);
        assert_eq!(
            product["tariffs"],
            json!([
                {"code": "delivery", "label": "Leveringstarief", "amount": "0.23451", "unit": "EUR/kWh"},
                {"code": "standing", "label": "Vaste leveringskosten", "amount": "6.99", "unit": "EUR/month"},
            ])
        );
    }
    let herkomst = |sku: &str| imported.iter().find(|p| p["sku"] == sku).unwrap()["extraFields"].clone();
    assert_eq!(herkomst(P1_SKU), json!([{"key": "herkomst", "value": "Groene stroom"}]));
    assert_eq!(herkomst(P2_SKU), json!([{"key": "herkomst", "value": "Grijze stroom"}]));
    assert_eq!(imported[0]["supplier"]["id"], imported[1]["supplier"]["id"], "one supplier for both");
    let suppliers = local_suppliers(&a.admin).await;
    assert_eq!(suppliers.len(), 1, "{suppliers:#?}");
    assert_eq!(suppliers[0]["name"], SUPPLIER);
    let supplier = suppliers[0]["id"].clone();
    assert!(integration(&a.admin, &a.integration).await["lastSyncedAt"].is_string());

    // Importing again creates nothing new.
    let again = import(&a, &[&b.p2, &b.p1]).await;
    assert_eq!(sorted(&again, "id"), sorted(&imported, "id"));
    assert_eq!(local_products(&a.admin).await.len(), 2);
    assert_eq!(local_suppliers(&a.admin).await.len(), 1);

    // The browse view now links each remote product to its local twin.
    let remote = remote_products(&a.admin, &a.integration).await;
    for product in &remote {
        assert_eq!(product["imported"], true);
        let local = imported.iter().find(|p| p["sku"] == product["sku"]).unwrap();
        assert_eq!(product["localProductId"], local["id"]);
    }

    // An id the remote does not show is refused, and nothing of the batch is imported.
    let p4 = provider_product(&b.admin, "STROOM-GROEN-2J", "Groene stroom 2 jaar", "green", &b.supplier).await;
    set_grants(&b.admin, &b.organisation, &[&b.p1, &b.p2, &p4], &[&b.flow]).await;
    for bad in [vec![b.p3.as_str()], vec!["no-such-product"], vec![p4.as_str(), b.p3.as_str()]] {
        let (payload, errors) = a.admin.refused("importProducts", IMPORT, json!({"id": a.integration, "r": bad})).await;
        let index = bad.len() - 1;
        assert!(has_error(&errors, &format!("remoteIds.{index}"), "NOT_FOUND"), "{bad:?}: {errors:?}");
        assert!(payload["products"].is_null());
    }
    let (_, errors) = a.admin.refused("importProducts", IMPORT, json!({"id": a.integration, "r": []})).await;
    assert!(has_error(&errors, "remoteIds", "REQUIRED"), "{errors:?}");
    assert_eq!(local_products(&a.admin).await.len(), 2, "nothing was imported");

    // A later product of the same supplier joins the supplier created the first time.
    let later = import(&a, &[&p4]).await;
    assert_eq!(later[0]["supplier"]["id"], supplier);
    assert_eq!(local_products(&a.admin).await.len(), 3);
    assert_eq!(local_suppliers(&a.admin).await.len(), 1);

    // Importing again refreshes what changed at B, e.g. a tariff.
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!, $t: [TariffInput!]) { updateProduct(input: {id: $id, product: {tariffs: $t}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1, "t": tariffs("0.19999", "7.49")}),
        )
        .await;
    let refreshed = import(&a, &[&b.p1]).await;
    assert_eq!(refreshed[0]["tariffs"][0]["amount"], "0.19999");
    assert_eq!(refreshed[0]["extraFields"], json!([{"key": "herkomst", "value": "Groene stroom"}]));
    assert_eq!(local_products(&a.admin).await.len(), 3);
    a.admin.assert_never_saw(&b.secret);
}

#[tokio::test]
async fn imports_are_all_or_nothing() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;

    // A mapped value that is not an option of the local field, and no value mapping for it.
    create_select_field(&a.admin, "herkomst", &["Groene stroom", "Grijze stroom"]).await;
    let input = json!({"integrationId": a.integration, "entity": "product", "mappings": [
        {"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst", "values": [{"remote": "green", "local": "Groene stroom"}]},
    ]});
    a.admin.mutate("setFieldMappings", FIELD_MAPPINGS, json!({"i": input})).await;
    let (payload, errors) =
        a.admin.refused("importProducts", IMPORT, json!({"id": a.integration, "r": [b.p1, b.p2]})).await;
    assert!(payload["products"].is_null());
    assert!(has_error(&errors, "remoteIds.1", "NOT_AN_OPTION"), "grey has no counterpart: {errors:?}");
    assert!(!errors.iter().any(|(f, _)| f == "remoteIds.0"), "green is mapped: {errors:?}");
    assert!(local_products(&a.admin).await.is_empty(), "nothing was imported");
    assert!(local_suppliers(&a.admin).await.is_empty(), "not even the supplier");
    assert!(integration(&a.admin, &a.integration).await["lastSyncedAt"].is_null());

    // A local product that already uses the SKU.
    map_origin_values(&a).await;
    a.admin
        .mutate(
            "createProduct",
            "mutation($s: String!) { createProduct(input: {product: {sku: $s, name: \"Eigen grijze stroom\"}}) { product { id } userErrors { field message code } } }",
            json!({"s": P2_SKU}),
        )
        .await;
    let (_, errors) = a.admin.refused("importProducts", IMPORT, json!({"id": a.integration, "r": [b.p1, b.p2]})).await;
    assert!(has_error(&errors, "remoteIds.1", "TAKEN"), "{errors:?}");
    assert_eq!(local_products(&a.admin).await.len(), 1, "only A's own product");
    assert!(local_suppliers(&a.admin).await.is_empty());
    let remote = remote_products(&a.admin, &a.integration).await;
    assert!(remote.iter().all(|p| p["imported"] == false), "nothing is linked: {remote:#?}");

    // More than 100 at once is refused before the remote is asked.
    let many: Vec<String> = (0..101).map(|i| format!("id-{i}")).collect();
    let (_, errors) = a.admin.refused("importProducts", IMPORT, json!({"id": a.integration, "r": many})).await;
    assert!(has_error(&errors, "remoteIds", "INVALID"), "{errors:?}");
}

/// The complete value mapping of `origin` onto A's existing `herkomst`.
async fn map_origin_values(a: &Consumer<'_>) {
    let input = json!({"integrationId": a.integration, "entity": "product", "mappings": [{
        "remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst",
        "values": [{"remote": "green", "local": "Groene stroom"}, {"remote": "grey", "local": "Grijze stroom"}],
    }]});
    a.admin.mutate("setFieldMappings", FIELD_MAPPINGS, json!({"i": input})).await;
}

#[tokio::test]
async fn the_remote_catalogue_pages_through_the_remote() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let page = "query($id: ID!, $first: Int, $after: String) { remoteProducts(integrationId: $id, first: $first, after: $after) {
        nodes { remoteId } pageInfo { hasNextPage endCursor } } }";
    let first = a.admin.data(page, json!({"id": a.integration, "first": 1})).await["remoteProducts"].clone();
    assert_eq!(first["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(first["pageInfo"]["hasNextPage"], true);
    let cursor = first["pageInfo"]["endCursor"].as_str().expect("a cursor").to_owned();
    let second =
        a.admin.data(page, json!({"id": a.integration, "first": 1, "after": cursor})).await["remoteProducts"].clone();
    assert_eq!(second["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(second["pageInfo"]["hasNextPage"], false);
    let seen: BTreeSet<&str> = [&first, &second].iter().map(|p| p["nodes"][0]["remoteId"].as_str().unwrap()).collect();
    assert_eq!(seen, BTreeSet::from([b.p1.as_str(), b.p2.as_str()]));
    for first in [0, 101] {
        let code = a.admin.error(page, json!({"id": a.integration, "first": first})).await;
        assert_eq!(code, "BAD_USER_INPUT", "first: {first}");
    }
}

#[tokio::test]
async fn remote_failures_are_remote_errors_that_say_why() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    revoke(&b.admin, &b.token_id).await;
    let calls: [(&str, Value); 4] = [
        (REMOTE_PRODUCTS, json!({"id": a.integration})),
        (IMPORT, json!({"id": a.integration, "r": [b.p1]})),
        ("query($id: ID!) { remoteStatuses(integrationId: $id) { key } }", json!({"id": a.integration})),
        (STATUS_MAPPINGS, json!({"i": {"integrationId": a.integration, "mappings": []}})),
    ];
    for (query, variables) in calls {
        let body = a.admin.raw(query, variables).await;
        assert_eq!(TestServer::error_code(&body).as_deref(), Some("REMOTE_ERROR"), "{body:#}");
        assert_eq!(body["errors"][0]["extensions"]["remoteCode"], "REVOKED", "{body:#}");
    }
    a.admin.assert_never_saw(&b.secret);
}

#[tokio::test]
async fn deleting_an_integration_keeps_the_imported_products() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    map_origin(&a).await;
    import(&a, &[&b.p1, &b.p2]).await;
    let flow = create_flow(&a.admin, "Energie bij B").await;
    a.admin
        .mutate(
            "setFlowMappings",
            FLOW_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "mappings": [{"localFlowId": flow, "remoteFlowId": b.flow}]}}),
        )
        .await;
    let deleted = a
        .admin
        .mutate(
            "deleteIntegration",
            "mutation($id: ID!) { deleteIntegration(input: {id: $id}) { deletedId userErrors { field message code } } }",
            json!({"id": a.integration}),
        )
        .await;
    assert_eq!(deleted["deletedId"], a.integration.as_str());
    assert_eq!(integration_count(&a.admin).await, 0);
    assert_eq!(
        a.admin.error("query($id: ID!) { integration(id: $id) { id } }", json!({"id": a.integration})).await,
        "NOT_FOUND"
    );
    assert_eq!(a.admin.error(REMOTE_PRODUCTS, json!({"id": a.integration})).await, "NOT_FOUND");
    assert_eq!(local_products(&a.admin).await.len(), 2, "local records stay");
    assert_eq!(local_suppliers(&a.admin).await.len(), 1);
    let flows = nodes(&a.admin.data("{ flows { edges { node { id } } } }", json!({})).await["flows"]);
    assert_eq!(flows.len(), 1);

    // A new integration to the same remote starts without links.
    let again = create_integration(&a.admin, "Provider B", &base_url(&server), &b.account).await;
    set_token(&a.admin, &again, "TEST", &b.secret).await;
    let remote = remote_products(&a.admin, &again).await;
    assert!(remote.iter().all(|p| p["imported"] == false && p["localProductId"].is_null()), "{remote:#?}");
}

// ---------------------------------------------------------------------------------------------------
// 7. Mappings
// ---------------------------------------------------------------------------------------------------

async fn field_mappings_of(a: &Consumer<'_>) -> Value {
    a.admin
        .data(
            "query($id: ID!) { integration(id: $id) { fieldMappings(entity: \"product\") { remoteField targetKind target } } }",
            json!({"id": a.integration}),
        )
        .await["integration"]["fieldMappings"]
        .clone()
}

#[tokio::test]
async fn field_mappings_are_checked_against_the_remote_and_local_fields() {
    let server = peer_server().await;
    let (_b, a) = connected(&server).await;
    map_origin(&a).await;
    let before = field_mappings_of(&a).await;
    assert_eq!(before, json!([{"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst"}]));

    let mapping = |changes: Value| {
        let mut mapping = json!({"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst"});
        for (key, value) in changes.as_object().unwrap() {
            mapping[key] = value.clone();
        }
        json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [mapping]}})
    };
    let origin = json!({"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "herkomst"});
    let twice = json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [origin, origin]}});
    let cases: Vec<(Value, &str, &str)> = vec![
        (twice, "mappings.1", "TAKEN"),
        (mapping(json!({"remoteField": "colour"})), "mappings.0.remoteField", "NOT_FOUND"),
        (mapping(json!({"target": "kleur"})), "mappings.0.target", "NOT_FOUND"),
        (mapping(json!({"targetKind": "ATTRIBUTE", "target": "sku"})), "mappings.0.target", "NOT_AN_OPTION"),
        (mapping(json!({"targetKind": "QUESTION", "target": "no_such_question"})), "mappings.0.target", "NOT_FOUND"),
        (
            mapping(json!({"values": [{"remote": "green", "local": "Blauwe stroom"}]})),
            "mappings.0.values.0.local",
            "NOT_AN_OPTION",
        ),
        (
            mapping(json!({"values": [{"remote": "blue", "local": "Groene stroom"}]})),
            "mappings.0.values.0.remote",
            "NOT_AN_OPTION",
        ),
        (mapping(json!({"transforms": [{"kind": "DATE_FORMAT"}]})), "mappings.0.transforms.0.argument", "REQUIRED"),
        (mapping(json!({"transforms": [{"kind": "NUMBER_SCALE"}]})), "mappings.0.transforms.0.argument", "REQUIRED"),
        (
            mapping(json!({"transforms": [{"kind": "DATE_FORMAT", "argument": "%Q"}]})),
            "mappings.0.transforms.0.argument",
            "INVALID",
        ),
        (
            mapping(json!({"transforms": [{"kind": "NUMBER_SCALE", "argument": "11"}]})),
            "mappings.0.transforms.0.argument",
            "INVALID",
        ),
        // A malformed argument is INVALID; only a missing one is REQUIRED.
        (
            mapping(json!({"transforms": [{"kind": "TRIM"}, {"kind": "NUMBER_SCALE", "argument": "two"}]})),
            "mappings.0.transforms.1.argument",
            "INVALID",
        ),
    ];
    for (variables, field, code) in cases {
        let (payload, errors) = a.admin.refused("setFieldMappings", FIELD_MAPPINGS, variables.clone()).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {variables}");
        assert!(payload["fieldMappings"].is_null());
    }
    let (_, errors) = a
        .admin
        .refused(
            "setFieldMappings",
            FIELD_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "entity": "customer", "mappings": []}}),
        )
        .await;
    assert!(has_error(&errors, "entity", "NOT_AN_OPTION"), "{errors:?}");
    assert_eq!(field_mappings_of(&a).await, before, "refused mappings change nothing");

    // Replace-set: the new set takes the old one's place.
    let replaced = a
        .admin
        .mutate(
            "setFieldMappings",
            FIELD_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [
                {"remoteField": "name", "targetKind": "ATTRIBUTE", "target": "description", "transforms": [{"kind": "UPPERCASE"}]},
                {"remoteField": "origin", "targetKind": "ATTRIBUTE", "target": "category", "transforms": [{"kind": "DEFAULT", "argument": "onbekend"}]},
            ]}}),
        )
        .await;
    assert_eq!(replaced["fieldMappings"].as_array().unwrap().len(), 2);
    assert_eq!(
        field_mappings_of(&a).await,
        json!([
            {"remoteField": "name", "targetKind": "ATTRIBUTE", "target": "description"},
            {"remoteField": "origin", "targetKind": "ATTRIBUTE", "target": "category"},
        ])
    );
    a.admin
        .mutate(
            "setFieldMappings",
            FIELD_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": []}}),
        )
        .await;
    assert_eq!(field_mappings_of(&a).await, json!([]));
}

async fn status_mappings_of(a: &Consumer<'_>) -> Vec<Value> {
    a.admin
        .data(
            "query($id: ID!) { integration(id: $id) { statusMappings { remoteStatus automatic localStatus { id key } } } }",
            json!({"id": a.integration}),
        )
        .await["integration"]["statusMappings"]
        .as_array()
        .cloned()
        .unwrap()
}

fn mapping_summary(mappings: &[Value]) -> Vec<(String, bool, String)> {
    let mut summary: Vec<(String, bool, String)> = mappings
        .iter()
        .map(|m| {
            (
                m["remoteStatus"].as_str().unwrap().to_owned(),
                m["automatic"].as_bool().unwrap(),
                m["localStatus"]["key"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    summary.sort();
    summary
}

fn owned(items: &[(&str, bool, &str)]) -> Vec<(String, bool, String)> {
    let mut items: Vec<(String, bool, String)> =
        items.iter().map(|(r, a, l)| ((*r).to_owned(), *a, (*l).to_owned())).collect();
    items.sort();
    items
}

#[tokio::test]
async fn status_mappings_map_system_statuses_automatically_and_custom_ones_explicitly() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let terugbellen = create_status(&a.admin, "terugbellen", "Terugbellen").await;
    let afgewezen = create_status(&a.admin, "afgewezen_partner", "Afgewezen door partner").await;

    let remote = a
        .admin
        .data(
            "query($id: ID!) { remoteStatuses(integrationId: $id) { key name system } }",
            json!({"id": a.integration}),
        )
        .await["remoteStatuses"]
        .as_array()
        .cloned()
        .unwrap();
    assert!(remote.contains(&json!({"key": "callback", "name": "Terugbellen", "system": false})), "{remote:#?}");
    assert!(remote.contains(&json!({"key": "new", "name": "New", "system": true})), "{remote:#?}");
    assert_eq!(remote.len(), 6);

    let automatic = [
        ("new", true, "new"),
        ("sent", true, "sent"),
        ("processed", true, "processed"),
        ("rejected", true, "rejected"),
        ("cancelled", true, "cancelled"),
    ];
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&automatic));

    let set = |mappings: Value| json!({"i": {"integrationId": a.integration, "mappings": mappings}});
    let payload = a
        .admin
        .mutate(
            "setStatusMappings",
            STATUS_MAPPINGS,
            set(json!([{"remoteStatus": "callback", "localStatusId": terugbellen}])),
        )
        .await;
    let mut expected = automatic.to_vec();
    expected.push(("callback", false, "terugbellen"));
    assert_eq!(mapping_summary(payload["statusMappings"].as_array().unwrap()), owned(&expected));
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&expected));

    // Refused: a status the remote does not have, a local status of another account, twice the same.
    let cases = [
        (json!([{"remoteStatus": "vanished", "localStatusId": terugbellen}]), "mappings.0.remoteStatus", "NOT_FOUND"),
        (json!([{"remoteStatus": "callback", "localStatusId": b.callback}]), "mappings.0.localStatusId", "NOT_FOUND"),
        (json!([{"remoteStatus": "callback", "localStatusId": "not-an-id"}]), "mappings.0.localStatusId", "NOT_FOUND"),
        (
            json!([{"remoteStatus": "callback", "localStatusId": terugbellen}, {"remoteStatus": "callback", "localStatusId": afgewezen}]),
            "mappings.1.remoteStatus",
            "TAKEN",
        ),
    ];
    for (mappings, field, code) in cases {
        let (_, errors) = a.admin.refused("setStatusMappings", STATUS_MAPPINGS, set(mappings.clone())).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {mappings}");
    }
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&expected), "unchanged");

    // An explicit mapping of a system status overrides the automatic one.
    a.admin
        .mutate(
            "setStatusMappings",
            STATUS_MAPPINGS,
            set(json!([
                {"remoteStatus": "callback", "localStatusId": terugbellen},
                {"remoteStatus": "rejected", "localStatusId": afgewezen},
            ])),
        )
        .await;
    let overridden = [
        ("new", true, "new"),
        ("sent", true, "sent"),
        ("processed", true, "processed"),
        ("cancelled", true, "cancelled"),
        ("callback", false, "terugbellen"),
        ("rejected", false, "afgewezen_partner"),
    ];
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&overridden));

    // Replace-set: an empty set leaves only the automatic mappings.
    a.admin.mutate("setStatusMappings", STATUS_MAPPINGS, set(json!([]))).await;
    assert_eq!(mapping_summary(&status_mappings_of(&a).await), owned(&automatic));
}

#[tokio::test]
async fn flow_mappings_name_a_remote_flow_and_a_local_flow_of_this_account() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let remote = a
        .admin
        .data("query($id: ID!) { remoteFlows(integrationId: $id) { remoteId name } }", json!({"id": a.integration}))
        .await;
    assert_eq!(remote["remoteFlows"], json!([{"remoteId": b.flow, "name": "Energie"}]), "only the granted flow");

    let energie = create_flow(&a.admin, "Energie bij B").await;
    let groen = create_flow(&a.admin, "Groene energie").await;
    let set = |mappings: Value| json!({"i": {"integrationId": a.integration, "mappings": mappings}});
    let payload = a
        .admin
        .mutate("setFlowMappings", FLOW_MAPPINGS, set(json!([{"localFlowId": energie, "remoteFlowId": b.flow}])))
        .await;
    assert_eq!(
        payload["flowMappings"],
        json!([{"remoteFlowId": b.flow, "localFlow": {"id": energie, "name": "Energie bij B"}}])
    );

    let cases = [
        (json!([{"localFlowId": energie, "remoteFlowId": b.other_flow}]), "mappings.0.remoteFlowId", "NOT_FOUND"),
        (json!([{"localFlowId": energie, "remoteFlowId": "nowhere"}]), "mappings.0.remoteFlowId", "NOT_FOUND"),
        (json!([{"localFlowId": b.flow, "remoteFlowId": b.flow}]), "mappings.0.localFlowId", "NOT_FOUND"),
        (
            json!([{"localFlowId": energie, "remoteFlowId": b.flow}, {"localFlowId": energie, "remoteFlowId": b.flow}]),
            "mappings.1.localFlowId",
            "TAKEN",
        ),
    ];
    for (mappings, field, code) in cases {
        let (_, errors) = a.admin.refused("setFlowMappings", FLOW_MAPPINGS, set(mappings.clone())).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {mappings}");
    }
    let flow_mappings = "query($id: ID!) { integration(id: $id) { flowMappings { remoteFlowId localFlow { id } } } }";
    let current = a.admin.data(flow_mappings, json!({"id": a.integration})).await;
    assert_eq!(current["integration"]["flowMappings"], json!([{"remoteFlowId": b.flow, "localFlow": {"id": energie}}]));

    // Replace-set.
    a.admin
        .mutate("setFlowMappings", FLOW_MAPPINGS, set(json!([{"localFlowId": groen, "remoteFlowId": b.flow}])))
        .await;
    let current = a.admin.data(flow_mappings, json!({"id": a.integration})).await;
    assert_eq!(current["integration"]["flowMappings"], json!([{"remoteFlowId": b.flow, "localFlow": {"id": groen}}]));
}

#[tokio::test]
async fn question_mappings_warn_about_what_would_make_sales_fail_at_the_remote() {
    let server = peer_server().await;
    let (_b, a) = connected(&server).await;
    let remote = a
        .admin
        .data(
            "query($id: ID!) { remoteQuestions(integrationId: $id) { key label questionType required options { value label } validations conditions flowId } }",
            json!({"id": a.integration}),
        )
        .await["remoteQuestions"]
        .as_array()
        .cloned()
        .unwrap();
    assert_eq!(sorted(&remote, "key"), FLOW_QUESTIONS);
    let payment = remote.iter().find(|q| q["key"] == "payment_method").unwrap();
    assert_eq!(payment["questionType"], "select");
    assert_eq!(payment["required"], true);
    assert_eq!(
        payment["options"],
        json!([{"value": "direct_debit", "label": "Automatische incasso"}, {"value": "giro", "label": "Acceptgiro"}])
    );
    assert!(payment["validations"].is_object() && payment["conditions"].is_array(), "{payment:#}");
    let rehousing = remote.iter().find(|q| q["key"] == "rehousing").unwrap();
    assert_eq!(rehousing["questionType"], "boolean");
    assert_eq!(rehousing["required"], false);
    // The remote's validations and conditions come through as they are.
    let giro = remote.iter().find(|q| q["key"] == GIRO_REFERENCE).unwrap();
    let (validations, conditions) = giro_reference_rules();
    assert_eq!(giro["questionType"], "text");
    assert_eq!(giro["required"], false);
    assert_eq!(giro["validations"], validations, "{giro:#}");
    assert_eq!(giro["conditions"], conditions, "{giro:#}");

    let flow = create_flow(&a.admin, "Energie bij B").await;
    let betaalwijze = create_question(
        &a.admin,
        json!({
            "flowId": flow, "key": "betaalwijze", "label": "Betaalwijze", "questionType": "SELECT", "required": true,
            "options": [{"value": "incasso", "label": "Incasso"}, {"value": "acceptgiro", "label": "Acceptgiro"}],
        }),
    )
    .await;
    let opmerking = create_question(
        &a.admin,
        json!({"flowId": flow, "key": "opmerking", "label": "Opmerking", "questionType": "TEXT", "required": true}),
    )
    .await;
    let verhuizing = create_question(
        &a.admin,
        json!({"flowId": flow, "key": "verhuizing", "label": "Verhuizing", "questionType": "BOOLEAN"}),
    )
    .await;
    let set = |mappings: Value| json!({"i": {"integrationId": a.integration, "mappings": mappings}});
    let warnings_of = |payload: &Value| -> Vec<String> {
        payload["warnings"].as_array().unwrap().iter().map(|w| w["message"].as_str().unwrap().to_owned()).collect()
    };

    // Different options and no option mapping: accepted, with a warning per unmatched option.
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze}])),
        )
        .await;
    let warnings = warnings_of(&payload);
    assert!(warnings.iter().any(|w| w.contains("incasso")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("acceptgiro")), "{warnings:?}");
    assert!(payload["warnings"].as_array().unwrap().iter().all(|w| w["field"] == "mappings.0"), "{payload:#}");
    assert_eq!(payload["questionMappings"][0]["localQuestion"]["key"], "betaalwijze");

    // With the options mapped, the option warnings are gone.
    let options = json!([{"local": "incasso", "remote": "direct_debit"}, {"local": "acceptgiro", "remote": "giro"}]);
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze, "options": options}])),
        )
        .await;
    let warnings = warnings_of(&payload);
    assert!(!warnings.iter().any(|w| w.contains("incasso") || w.contains("acceptgiro")), "{warnings:?}");
    assert_eq!(payload["questionMappings"][0]["options"], options);

    // A free-text question for a remote choice: a type warning.
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "payment_method", "localQuestionId": opmerking}])),
        )
        .await;
    let warnings = warnings_of(&payload);
    assert!(warnings.iter().any(|w| w.contains("text") && w.contains("select")), "{warnings:?}");
    // The warning stays on the mapping, for whoever looks later.
    let kept = a
        .admin
        .data(
            "query($id: ID!) { integration(id: $id) { questionMappings { remoteQuestionKey warnings } } }",
            json!({"id": a.integration}),
        )
        .await;
    let stored = kept["integration"]["questionMappings"][0]["warnings"].as_array().unwrap().clone();
    assert!(stored.iter().any(|w| w.as_str().unwrap().contains("select")), "{kept:#}");

    // Refused: options that do not exist on either side, unknown remote questions, unknown local ones.
    let cases = [
        (
            json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze, "options": [{"local": "cheque", "remote": "giro"}]}]),
            "mappings.0.options.0.local",
            "NOT_AN_OPTION",
        ),
        (
            json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze, "options": [{"local": "incasso", "remote": "bitcoin"}]}]),
            "mappings.0.options.0.remote",
            "NOT_AN_OPTION",
        ),
        (
            json!([{"remoteQuestionKey": "router_type", "localQuestionId": opmerking}]),
            "mappings.0.remoteQuestionKey",
            "NOT_FOUND",
        ),
        (
            json!([{"remoteQuestionKey": "rehousing", "localQuestionId": "00000000-0000-7000-8000-000000000000"}]),
            "mappings.0.localQuestionId",
            "NOT_FOUND",
        ),
        (
            json!([{"remoteQuestionKey": "rehousing", "localQuestionId": "not-an-id"}]),
            "mappings.0.localQuestionId",
            "NOT_FOUND",
        ),
        (
            json!([{"remoteQuestionKey": "payment_method", "localQuestionId": betaalwijze}, {"remoteQuestionKey": "payment_method", "localQuestionId": opmerking}]),
            "mappings.1.remoteQuestionKey",
            "TAKEN",
        ),
    ];
    for (mappings, field, code) in cases {
        let (payload, errors) = a.admin.refused("setQuestionMappings", QUESTION_MAPPINGS, set(mappings.clone())).await;
        assert!(has_error(&errors, field, code), "{field} {code}: {errors:?} for {mappings}");
        assert!(payload["questionMappings"].is_null());
    }

    // Replace-set: the last set stands alone.
    let payload = a
        .admin
        .mutate(
            "setQuestionMappings",
            QUESTION_MAPPINGS,
            set(json!([{"remoteQuestionKey": "rehousing", "localQuestionId": verhuizing}])),
        )
        .await;
    assert_eq!(payload["warnings"], json!([]), "same type, both optional: nothing to warn about");
    let current = a
        .admin
        .data(
            "query($id: ID!) { integration(id: $id) { questionMappings { remoteQuestionKey localQuestion { id } } } }",
            json!({"id": a.integration}),
        )
        .await;
    assert_eq!(
        current["integration"]["questionMappings"],
        json!([{"remoteQuestionKey": "rehousing", "localQuestion": {"id": verhuizing}}])
    );
}

// ---------------------------------------------------------------------------------------------------
// 8. Cross-account matrix
// ---------------------------------------------------------------------------------------------------

/// Every integration operation on integration `id`, as `(query, variables)`.
fn integration_operations(id: &str, flow: &str, status: &str, question: &str) -> Vec<(String, Value)> {
    let ops: Vec<(&str, Value)> = vec![
        ("query($id: ID!) { integration(id: $id) { id } }", json!({"id": id})),
        (
            "mutation($id: ID!) { updateIntegration(input: {id: $id, name: \"Mine now\"}) { integration { id } } }",
            json!({"id": id}),
        ),
        ("mutation($id: ID!) { deleteIntegration(input: {id: $id}) { deletedId } }", json!({"id": id})),
        (
            "mutation($id: ID!) { setIntegrationCredentials(input: {id: $id, mode: TEST, values: [{field: \"apiToken\", value: \"kpl_stolen\"}]}) { integration { id } } }",
            json!({"id": id}),
        ),
        ("mutation($id: ID!) { testIntegrationConnection(input: {id: $id}) { test { ok } } }", json!({"id": id})),
        ("mutation($id: ID!) { syncNow(input: {integrationId: $id}) { report { applied } } }", json!({"id": id})),
        ("query($id: ID!) { reconcilePlan(integrationId: $id) { applied } }", json!({"id": id})),
        ("query($id: ID!) { remoteProducts(integrationId: $id) { nodes { remoteId } } }", json!({"id": id})),
        ("query($id: ID!) { remoteProductFields(integrationId: $id) { key } }", json!({"id": id})),
        ("query($id: ID!) { remoteQuestions(integrationId: $id) { key } }", json!({"id": id})),
        ("query($id: ID!) { remoteFlows(integrationId: $id) { remoteId } }", json!({"id": id})),
        ("query($id: ID!) { remoteStatuses(integrationId: $id) { key } }", json!({"id": id})),
        (
            "mutation($id: ID!) { importProducts(input: {integrationId: $id, remoteIds: [\"x\"]}) { products { id } } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!) { setFieldMappings(input: {integrationId: $id, entity: \"product\", mappings: []}) { fieldMappings { id } } }",
            json!({"id": id}),
        ),
        (
            "mutation($id: ID!, $s: ID!) { setStatusMappings(input: {integrationId: $id, mappings: [{remoteStatus: \"callback\", localStatusId: $s}]}) { statusMappings { automatic } } }",
            json!({"id": id, "s": status}),
        ),
        (
            "mutation($id: ID!, $f: ID!) { setFlowMappings(input: {integrationId: $id, mappings: [{localFlowId: $f, remoteFlowId: \"x\"}]}) { flowMappings { remoteFlowId } } }",
            json!({"id": id, "f": flow}),
        ),
        (
            "mutation($id: ID!, $q: ID!) { setQuestionMappings(input: {integrationId: $id, mappings: [{remoteQuestionKey: \"x\", localQuestionId: $q}]}) { questionMappings { remoteQuestionKey } } }",
            json!({"id": id, "q": question}),
        ),
    ];
    ops.into_iter().map(|(q, v)| (q.to_owned(), v)).collect()
}

/// Everything of an integration a foreign call could change.
async fn integration_snapshot(admin: &Client<'_>, id: &str) -> Value {
    let query = format!(
        "query($id: ID!) {{ integration(id: $id) {{ {INTEGRATION}
           fieldMappings {{ remoteField target }} statusMappings {{ remoteStatus automatic localStatus {{ id }} }}
           flowMappings {{ remoteFlowId localFlow {{ id }} }} questionMappings {{ remoteQuestionKey localQuestion {{ id }} }} }} }}"
    );
    admin.data(&query, json!({"id": id})).await["integration"].clone()
}

#[tokio::test]
async fn other_accounts_cannot_see_or_touch_an_integration_and_agents_may_not_manage_one() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    map_origin(&a).await;
    import(&a, &[&b.p1]).await;
    let a_status = create_status(&a.admin, "terugbellen", "Terugbellen").await;
    a.admin
        .mutate(
            "setStatusMappings",
            STATUS_MAPPINGS,
            json!({"i": {"integrationId": a.integration, "mappings": [{"remoteStatus": "callback", "localStatusId": a_status}]}}),
        )
        .await;
    let before = integration_snapshot(&a.admin, &a.integration).await;

    // A third account, with its own flow, status and question to put in the mappings.
    let c_session = server.admin("third").await;
    let c = Client::new(&server, &c_session.token);
    let c_flow = create_flow(&c, "Eigen flow").await;
    let c_status = create_status(&c, "eigen", "Eigen").await;
    let c_question =
        create_question(&c, json!({"flowId": c_flow, "key": "eigen_vraag", "label": "Eigen", "questionType": "TEXT"}))
            .await;
    for (query, variables) in integration_operations(&a.integration, &c_flow, &c_status, &c_question) {
        assert_eq!(c.error(&query, variables).await, "NOT_FOUND", "{query}");
    }
    assert_eq!(integration_count(&c).await, 0);
    assert_eq!(integration_snapshot(&a.admin, &a.integration).await, before, "A's integration is unchanged");
    assert_eq!(test_connection(&a.admin, &a.integration, None).await["ok"], true);

    // A's own agent may sell, not manage integrations.
    a.admin
        .mutate(
            "createUser",
            "mutation($p: String) { createUser(input: {username: \"verkoper\", role: AGENT, password: $p}) { user { id } userErrors { field message code } } }",
            json!({"p": TEST_PASSWORD}),
        )
        .await;
    let agent_token = server.login(&a.session.account, "verkoper", TEST_PASSWORD).await;
    let agent = Client::new(&server, &agent_token);
    let a_flow = create_flow(&a.admin, "Energie bij B").await;
    let a_question =
        create_question(&a.admin, json!({"flowId": a_flow, "key": "vraag", "label": "Vraag", "questionType": "TEXT"}))
            .await;
    let mut operations = integration_operations(&a.integration, &a_flow, &a_status, &a_question);
    operations.push(("{ integrations { edges { cursor } } }".into(), json!({})));
    operations.push(("{ integrationKinds { kind } }".into(), json!({})));
    operations.push((
        "mutation { createIntegration(input: {kind: \"peer\", name: \"Mine\", baseUrl: \"https://koppel.example.com\", settings: {accountName: \"x\"}}) { integration { id } } }".into(),
        json!({}),
    ));
    for (query, variables) in operations {
        assert_eq!(agent.error(&query, variables).await, "FORBIDDEN", "{query}");
    }
    assert_eq!(integration_snapshot(&a.admin, &a.integration).await, before, "A's integration is unchanged");
    assert_eq!(integration_count(&a.admin).await, 1);
}

// ---------------------------------------------------------------------------------------------------
// 9. Two servers
// ---------------------------------------------------------------------------------------------------

#[tokio::test]
async fn provider_and_consumer_on_two_servers() {
    let provider_server = TestServer::start().await;
    let consumer_server = peer_server().await;
    let b = provider(&provider_server, "provider").await;
    let a = consumer(&consumer_server, "consumer", &provider_server, &b.account, &b.secret).await;

    let ok = test_connection(&a.admin, &a.integration, None).await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert!(ok["identity"].as_str().unwrap().contains(AGENT));

    // The consumer's server has no account "provider": it is the remote that answers.
    assert_eq!(sorted(&remote_products(&a.admin, &a.integration).await, "sku"), GRANTED_SKUS);
    map_origin(&a).await;
    let imported = import(&a, &[&b.p1, &b.p2]).await;
    assert_eq!(imported.len(), 2);
    assert_eq!(local_products(&a.admin).await.len(), 2);
    assert_eq!(local_suppliers(&a.admin).await.len(), 1);
    assert_eq!(local_products(&b.admin).await.len(), 3, "B's catalogue is untouched");

    // Pointing at the wrong server: the consumer's own server does not know the token.
    a.admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": a.integration, "baseUrl": base_url(&consumer_server)}}),
        )
        .await;
    let test = test_connection(&a.admin, &a.integration, None).await;
    assert_eq!(test["ok"], false, "{test:#}");
    a.admin.assert_never_saw(&b.secret);
}

// ---------------------------------------------------------------------------------------------------
// 10. Secrets stay out of the logs
// ---------------------------------------------------------------------------------------------------

/// Every log line of this test binary once [`capture_logs`] ran.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a subscriber for the whole test binary that writes everything, down to TRACE, to [`LOG`].
fn capture_logs() {
    let _ = tracing_subscriber::fmt()
        .with_writer(|| LogWriter)
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .try_init();
}

fn captured_log() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

#[tokio::test]
async fn credentials_never_appear_in_a_response_or_a_log_line() {
    capture_logs();
    let canary = "kpl_CANARYcanaryCANARYcanaryCANARYcanary12345";
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    set_token(&a.admin, &a.integration, "PRODUCTION", canary).await;

    assert_eq!(test_connection(&a.admin, &a.integration, Some("TEST")).await["ok"], true);
    let failing = test_connection(&a.admin, &a.integration, Some("PRODUCTION")).await;
    assert_eq!(failing["ok"], false, "the canary is no token of B: {failing:#}");
    let unreachable =
        create_integration(&a.admin, "Nobody", &format!("http://127.0.0.1:{}", closed_port()), &b.account).await;
    set_token(&a.admin, &unreachable, "TEST", canary).await;
    assert_eq!(test_connection(&a.admin, &unreachable, None).await["code"], "UNREACHABLE");
    a.admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": a.integration, "settings": {"accountName": "someone-else"}}}),
        )
        .await;
    assert_eq!(test_connection(&a.admin, &a.integration, None).await["code"], "WRONG_ACCOUNT");
    a.admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": a.integration, "settings": {"accountName": b.account}}}),
        )
        .await;
    map_origin(&a).await;
    assert_eq!(import(&a, &[&b.p1, &b.p2]).await.len(), 2);
    // A remote call that fails with a top-level error.
    a.admin
        .mutate("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": a.integration, "mode": "PRODUCTION"}}))
        .await;
    let body = a.admin.raw(REMOTE_PRODUCTS, json!({"id": a.integration})).await;
    assert!(TestServer::error_code(&body).is_some(), "the canary does not open B's catalogue: {body:#}");

    a.admin.assert_never_saw(canary);
    a.admin.assert_never_saw(&b.secret);
    let log = captured_log();
    assert!(!log.trim().is_empty(), "the log captured something");
    // Other tests log into the same buffer: only lines about this test's integration count.
    let ours = format!("integration={}", a.integration);
    let logged = |message: &str| log.lines().any(|line| line.contains(message) && line.contains(&ours));
    assert!(logged("connection tested"), "the connection tests were logged with {ours}");
    assert!(logged("products imported"), "the import was logged with {ours}");
    assert!(!log.contains(canary), "the canary is in the log");
    assert!(!log.contains(&b.secret), "B's token is in the log");
}

#[tokio::test]
async fn an_oversized_answer_is_refused_not_held_in_memory() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let (port, task) = canned_remote(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 20000000\r\nconnection: close\r\n\r\n{\"data\":",
    )
    .await;
    let id = create_integration(&admin, "Huge", &format!("http://127.0.0.1:{port}"), "provider").await;
    set_token(&admin, &id, "TEST", &b.secret).await;
    let test = test_connection(&admin, &id, None).await;
    assert_failed(&test, "PROTOCOL_ERROR");
    assert!(test["message"].as_str().unwrap().contains("larger than 10 MiB"), "{test:#}");
    task.abort();
}

#[tokio::test]
async fn moving_the_base_url_to_another_host_drops_the_credentials() {
    let server = peer_server().await;
    let (b, c) = connected(&server).await;
    let update = |url: String| json!({"i": {"id": c.integration, "baseUrl": url}});
    // Another path on the same host keeps them.
    let same_host = c.admin.data(UPDATE_INTEGRATION, update(format!("{}/", base_url(&server)))).await;
    assert_eq!(same_host["updateIntegration"]["userErrors"], json!([]), "{same_host:#}");
    let kept = integration(&c.admin, &c.integration).await;
    assert_eq!(kept["credentialsSet"].as_array().unwrap().len(), 1, "{kept:#}");
    // Another port is another host: the partner's token must not travel there.
    let moved = c.admin.data(UPDATE_INTEGRATION, update(format!("http://127.0.0.1:{}", closed_port()))).await;
    assert_eq!(moved["updateIntegration"]["userErrors"], json!([]), "{moved:#}");
    let dropped = integration(&c.admin, &c.integration).await;
    assert_eq!(dropped["credentialsSet"], json!([]), "{dropped:#}");
    assert_failed(&test_connection(&c.admin, &c.integration, None).await, "CONFIGURATION");
    drop(b);
}

#[tokio::test]
async fn short_credentials_are_not_shown_even_in_part() {
    let server = peer_server().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let id = create_integration(&admin, "Short", &base_url(&server), "provider").await;
    let set = set_token(&admin, &id, "TEST", "kpl_short").await;
    assert!(!set.to_string().contains("hort"), "{set:#}");
    let shown = integration(&admin, &id).await;
    assert_eq!(shown["credentialsSet"][0]["lastFour"], "", "{shown:#}");
    assert_eq!(shown["credentialsSet"][0]["field"], "apiToken");
}

#[tokio::test]
async fn unauthorised_products_are_not_shared_and_newly_granted_ones_count_as_changed() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    let before_grant = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    // P3 is older than `before_grant` and unchanged since; granting it now makes it new to the partner.
    set_grants(&b.admin, &b.organisation, &[&b.p1, &b.p2, &b.p3], &[&b.flow]).await;
    assert_eq!(provider_skus(&token, json!({"since": before_grant})).await, [P3_SKU]);
    // Setting the same grants again does not make the others look new.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let after = chrono::Utc::now();
    set_grants(&b.admin, &b.organisation, &[&b.p1, &b.p2, &b.p3], &[&b.flow]).await;
    assert!(provider_skus(&token, json!({"since": after})).await.is_empty());

    // Withdrawing the authorisation takes the product off the partner's catalogue.
    b.admin
        .mutate(
            "setProductAuthorised",
            "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: false}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p3}),
        )
        .await;
    let mut all = provider_skus(&token, json!({})).await;
    all.sort();
    let mut expected = GRANTED_SKUS.to_vec();
    expected.sort();
    assert_eq!(all, expected);
}

#[tokio::test]
async fn built_in_fields_can_be_mapped_and_imports_respect_local_limits() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let field = "mutation($i: CreateExtraFieldInput!) { createExtraField(input: $i) { extraField { id } userErrors { field message code } } }";
    a.admin
        .mutate("createExtraField", field, json!({"i": {"entity": "PRODUCT", "key": "remote_category", "label": "Categorie bij B", "fieldType": "TEXT"}}))
        .await;
    let mapping = json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [
        {"remoteField": "category", "targetKind": "EXTRA_FIELD", "target": "remote_category", "transforms": [{"kind": "UPPERCASE"}]},
    ]}});
    a.admin.mutate("setFieldMappings", FIELD_MAPPINGS, mapping).await;
    let products = remote_products(&a.admin, &a.integration).await;
    let p1 = products.iter().find(|p| p["sku"] == P1_SKU).unwrap()["remoteId"].clone();
    let imported = a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": [p1]})).await;
    let product = &imported["products"][0];
    assert_eq!(product["extraFields"], json!([{"key": "remote_category", "value": "ENERGIE"}]), "{imported:#}");

    // A description mapped onto the 100-character category does not fit: refused, nothing imported.
    let long = json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [
        {"remoteField": "description", "targetKind": "ATTRIBUTE", "target": "category", "transforms": [{"kind": "DEFAULT", "argument": "x"}]},
    ]}});
    a.admin.mutate("setFieldMappings", FIELD_MAPPINGS, long).await;
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!, $d: String) { updateProduct(input: {id: $id, product: {description: $d}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p2, "d": "x".repeat(150)}),
        )
        .await;
    let p2 = products.iter().find(|p| p["sku"] == P2_SKU).unwrap()["remoteId"].clone();
    let (_, errors) = a.admin.refused("importProducts", IMPORT, json!({"id": a.integration, "r": [p2]})).await;
    assert!(has_error(&errors, "remoteIds.0", "TOO_LONG"), "{errors:?}");
    assert_eq!(local_products(&a.admin).await.len(), 1, "nothing more was imported");
}

#[tokio::test]
async fn hidden_values_are_for_admins_and_values_of_deleted_fields_for_nobody() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let margin = b
        .admin
        .mutate(
            "createExtraField",
            "mutation { createExtraField(input: {entity: PRODUCT, key: \"margin\", label: \"Marge\", fieldType: TEXT, hidden: true}) { extraField { id } userErrors { field message code } } }",
            json!({}),
        )
        .await["extraField"]["id"]
        .clone();
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!) { updateProduct(input: {id: $id, product: {extraFields: [{key: \"margin\", value: \"12 procent\"}]}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1}),
        )
        .await;
    let create_agent = "mutation { createUser(input: {username: \"verkoper\", password: \"verkoper-password\", role: AGENT}) { user { id } userErrors { field message code } } }";
    b.admin.mutate("createUser", create_agent, json!({})).await;
    let agent_token = server.login("provider", "verkoper", "verkoper-password").await;
    let agent = Client::new(&server, &agent_token);
    let read = "query($id: ID!) { product(id: $id) { extraFields { key value } } }";
    let keys = |v: &Value| sorted(v["product"]["extraFields"].as_array().unwrap(), "key");
    assert_eq!(keys(&b.admin.data(read, json!({"id": b.p1})).await), ["margin", "origin"]);
    assert_eq!(keys(&agent.data(read, json!({"id": b.p1})).await), ["origin"], "agents do not see hidden fields");

    // Deleting the definition hides its stored values from everyone, partners included.
    b.admin
        .mutate(
            "deleteExtraField",
            "mutation($id: ID!) { deleteExtraField(input: {id: $id}) { deletedId userErrors { field message code } } }",
            json!({"id": margin}),
        )
        .await;
    assert_eq!(keys(&b.admin.data(read, json!({"id": b.p1})).await), ["origin"]);
    let token = Client::new(&server, &b.secret);
    let products = nodes(&token.data(PROVIDER_PRODUCTS, json!({"ids": [b.p1]})).await["providerProducts"]);
    assert_eq!(products[0]["extraFields"], json!([{"key": "origin", "value": "green"}]));
}

#[tokio::test]
async fn nested_fields_do_not_lead_a_partner_outside_its_grants() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    // The organisation's own grant lists are for the provider's users, not for the partner's token.
    let error = token.error("{ me { organisation { grantedProducts { edges { node { sku } } } } } }", json!({})).await;
    assert_eq!(error, "FORBIDDEN");
    // P1 becomes a variant of P3, which the partner was not granted.
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!, $parent: ID) { updateProduct(input: {id: $id, product: {parentId: $parent}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1, "parent": b.p3}),
        )
        .await;
    let products = token
        .data(
            "query($ids: [ID!]) { providerProducts(ids: $ids) { edges { node { sku parent { sku } } } } }",
            json!({"ids": [b.p1]}),
        )
        .await;
    assert_eq!(products["providerProducts"]["edges"][0]["node"], json!({"sku": P1_SKU, "parent": null}));
    // A question of the granted flow that also belongs to P3 does not reveal P3.
    create_question(
        &b.admin,
        json!({"flowId": b.flow, "productId": b.p3, "key": "meter_number", "label": "Meternummer", "questionType": "TEXT"}),
    )
    .await;
    let questions = token
        .data("{ providerQuestions(first: 100) { edges { node { key flow { id } product { sku } } } } }", json!({}))
        .await;
    let question =
        nodes(&questions["providerQuestions"]).into_iter().find(|q| q["key"] == "meter_number").expect("listed");
    assert_eq!(question["product"], Value::Null, "{question:#}");
    assert_eq!(question["flow"]["id"], b.flow.as_str());
}

// ---------------------------------------------------------------------------------------------------
// Sync now and its dry run
// ---------------------------------------------------------------------------------------------------

const RECONCILE_PLAN: &str = "query($id: ID!) { reconcilePlan(integrationId: $id) {
  applied updated unchanged deactivated deleted ignored notImported heldBack policy lastSyncedAt
  changes { remoteId sku productId action note } } }";
const SYNC_NOW: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id}) { report {
  applied updated unchanged deactivated deleted ignored notImported failed heldBack policy lastSyncedAt
  changes { remoteId sku productId action note } } userErrors { field message code } } }";

/// A and B connected, with P1 and P2 imported by A.
async fn imported(server: &TestServer) -> (Provider<'_>, Consumer<'_>) {
    let (b, a) = connected(server).await;
    let remote: Vec<Value> =
        remote_products(&a.admin, &a.integration).await.iter().map(|p| p["remoteId"].clone()).collect();
    a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": remote})).await;
    (b, a)
}

fn action_of(report: &Value, sku: &str) -> String {
    let changes = report["changes"].as_array().unwrap();
    changes.iter().find(|c| c["sku"] == sku).unwrap_or_else(|| panic!("{sku} not in {report:#}"))["action"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn set_policy(a: &Consumer<'_>, policy: &str) {
    let input = json!({"i": {"id": a.integration, "missingRecordPolicies": [{"entity": "product", "policy": policy}]}});
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, input).await;
}

#[tokio::test]
async fn sync_now_refreshes_what_changed_at_the_remote_and_only_then_moves_last_synced() {
    let server = peer_server().await;
    let (b, a) = imported(&server).await;
    let synced_at_import = integration(&a.admin, &a.integration).await["lastSyncedAt"].clone();

    // Nothing changed at B: nothing to do, and "last synchronised" keeps its date.
    let report = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert_eq!((report["updated"].as_i64(), report["unchanged"].as_i64()), (Some(0), Some(2)), "{report:#}");
    assert_eq!(report["lastSyncedAt"], synced_at_import);

    // B changes P1's tariff. The dry run shows it, and changes nothing.
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!, $t: [TariffInput!]) { updateProduct(input: {id: $id, product: {tariffs: $t}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1, "t": tariffs("0.19999", "6.99")}),
        )
        .await;
    let preview = a.admin.data(RECONCILE_PLAN, json!({"id": a.integration})).await["reconcilePlan"].clone();
    assert_eq!(preview["applied"], false);
    assert_eq!(action_of(&preview, P1_SKU), "UPDATE");
    assert_eq!(action_of(&preview, P2_SKU), "UNCHANGED");
    let tariff_of = |products: &Value| {
        products["products"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["sku"] == P1_SKU).unwrap()["node"]["tariffs"][0]["amount"]
            .clone()
    };
    let local = "{ products { edges { node { sku active tariffs { amount } } } } }";
    assert_eq!(tariff_of(&a.admin.data(local, json!({})).await), "0.23451", "a dry run changes nothing");

    let report = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert_eq!(report["applied"], true);
    assert_eq!(report["updated"], 1, "{report:#}");
    assert_ne!(report["lastSyncedAt"], synced_at_import);
    assert_eq!(tariff_of(&a.admin.data(local, json!({})).await), "0.19999");
    // Level-triggered: the same pass again has nothing left to do.
    let again = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert_eq!((again["updated"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(2)));
    assert_eq!(again["lastSyncedAt"], report["lastSyncedAt"]);
    // P3 exists at B but is not granted; what is granted and not imported is listed as such.
    assert_eq!(again["notImported"], 0);
}

#[tokio::test]
async fn products_gone_at_the_remote_follow_the_policy() {
    for policy in ["IGNORE", "DEACTIVATE", "DELETE"] {
        let server = peer_server().await;
        let (b, a) = imported(&server).await;
        set_policy(&a, policy).await;
        // B withdraws P2 from the grants: gone, as far as A can tell.
        set_grants(&b.admin, &b.organisation, &[&b.p1], &[&b.flow]).await;
        let report = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
        assert_eq!(report["policy"], policy);
        assert_eq!(action_of(&report, P2_SKU), policy, "{report:#}");
        let products =
            nodes(&a.admin.data("{ products { edges { node { sku active } } } }", json!({})).await["products"]);
        let p2 = products.iter().find(|p| p["sku"] == P2_SKU);
        match policy {
            "IGNORE" => assert_eq!(p2.unwrap()["active"], true),
            "DEACTIVATE" => assert_eq!(p2.unwrap()["active"], false),
            _ => assert!(p2.is_none(), "deleted: {products:?}"),
        }
        assert_eq!(products.iter().find(|p| p["sku"] == P1_SKU).unwrap()["active"], true);
        // The next pass has nothing left to do.
        let again = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
        assert_eq!((again["deactivated"].as_i64(), again["deleted"].as_i64()), (Some(0), Some(0)), "{again:#}");
    }
}

#[tokio::test]
async fn a_pass_that_would_remove_too_much_holds_back_and_a_product_with_sales_is_not_deleted() {
    let server = peer_server().await;
    let (b, a) = imported(&server).await;
    set_policy(&a, "DELETE").await;
    // Both products gone at once (100 % of the linked ones): nothing is removed, and the report says why.
    set_grants(&b.admin, &b.organisation, &[], &[&b.flow]).await;
    let report = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert!(report["heldBack"].as_str().unwrap().contains("2 of 2"), "{report:#}");
    assert_eq!(report["ignored"], 2);
    assert_eq!(local_products(&a.admin).await.len(), 2);

    // With one gone, the policy applies; but a product that was sold stays, switched off.
    set_grants(&b.admin, &b.organisation, &[&b.p1], &[&b.flow]).await;
    let p2 = local_products(&a.admin).await.into_iter().find(|p| p["sku"] == P2_SKU).unwrap()["id"].clone();
    a.admin
        .mutate("setProductAuthorised", "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: true}) { product { id } userErrors { field message code } } }", json!({"id": p2}))
        .await;
    a.admin.mutate("createSale", "mutation($p: ID!) { createSale(input: {productId: $p}) { sale { id } userErrors { field message code } } }", json!({"p": p2})).await;
    let report = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert_eq!(action_of(&report, P2_SKU), "DEACTIVATE", "{report:#}");
    let change = report["changes"].as_array().unwrap().iter().find(|c| c["sku"] == P2_SKU).unwrap().clone();
    assert!(change["note"].as_str().unwrap().contains("sales refer to it"), "{change:#}");
    let products = local_products(&a.admin).await;
    assert_eq!(products.len(), 2, "the sold product is kept");
    // And it settles: the next pass neither deactivates it again nor moves "last synchronised".
    let again = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert_eq!(action_of(&again, P2_SKU), "IGNORE", "{again:#}");
    assert_eq!((again["deactivated"].as_i64(), again["deleted"].as_i64()), (Some(0), Some(0)));
    assert_eq!(again["lastSyncedAt"], report["lastSyncedAt"]);
}

#[tokio::test]
async fn sync_now_against_an_unreachable_remote_changes_nothing() {
    let server = peer_server().await;
    let (_b, a) = imported(&server).await;
    let moved = json!({"i": {"id": a.integration, "baseUrl": format!("http://127.0.0.1:{}", closed_port())}});
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, moved).await;
    let response = a.admin.raw(SYNC_NOW, json!({"id": a.integration})).await;
    assert_eq!(TestServer::error_code(&response).as_deref(), Some("REMOTE_ERROR"), "{response:#}");
    assert_eq!(
        response["errors"][0]["extensions"]["remoteCode"], "CONFIGURATION",
        "credentials were dropped with the move"
    );
    let products = nodes(&a.admin.data("{ products { edges { node { sku active } } } }", json!({})).await["products"]);
    assert_eq!(products.len(), 2);
    assert!(products.iter().all(|p| p["active"] == true), "{products:?}");
}

#[tokio::test]
async fn the_provider_questions_cost_the_same_few_statements_however_many_there_are() {
    let server = TestServer::start().await;
    let b = provider(&server, "provider").await;
    let token = Client::new(&server, &b.secret);
    let query = "{ providerQuestions(first: 100) { edges { node { key flow { id } product { id } } } } }";
    create_question(
        &b.admin,
        json!({"flowId": b.flow, "productId": b.p1, "key": "first_extra", "label": "Extra", "questionType": "TEXT"}),
    )
    .await;
    // The token's first use records `lastUsedAt`; measure after it.
    token.data("{ me { username } }", json!({})).await;
    let mut costs = Vec::new();
    for round in 0..2 {
        if round == 1 {
            // Ten more questions, half on a granted product, half on one that is not.
            for i in 0..10 {
                let product = if i % 2 == 0 { &b.p1 } else { &b.p3 };
                create_question(
                    &b.admin,
                    json!({"flowId": b.flow, "productId": product, "key": format!("extra_{i}"), "label": "Extra", "questionType": "TEXT"}),
                )
                .await;
            }
        }
        // The lowest of three: a loaded machine can split one DataLoader batch in two, never merge two.
        let mut cheapest = u64::MAX;
        let mut listed = Vec::new();
        for _ in 0..3 {
            let before = server.metrics_statements().await;
            listed = nodes(&token.data(query, json!({})).await["providerQuestions"]);
            cheapest = cheapest.min(server.metrics_statements().await - before);
        }
        costs.push((listed.len(), cheapest));
    }
    assert!(costs[1].0 >= costs[0].0 + 10, "{costs:?}");
    assert_eq!(costs[0].1, costs[1].1, "the same number of statements for more questions: {costs:?}");
}

#[tokio::test]
async fn a_changed_mapping_refreshes_the_products_and_a_refused_product_does_not_stop_the_others() {
    let server = peer_server().await;
    let (b, a) = imported(&server).await;
    let field = "mutation($i: CreateExtraFieldInput!) { createExtraField(input: $i) { extraField { id } userErrors { field message code } } }";
    a.admin
        .mutate("createExtraField", field, json!({"i": {"entity": "PRODUCT", "key": "bron", "label": "Bron", "fieldType": "SELECT", "options": ["groen", "grijs"]}}))
        .await;
    // A new mapping: every imported product is due for a refresh, and gets the mapped value.
    let mapping = json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [
        {"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "bron",
         "values": [{"remote": "green", "local": "groen"}, {"remote": "grey", "local": "grijs"}]}]}});
    a.admin.mutate("setFieldMappings", FIELD_MAPPINGS, mapping).await;
    let report = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert_eq!(report["updated"], 2, "{report:#}");
    let fields = nodes(
        &a.admin.data("{ products { edges { node { sku extraFields { key value } } } } }", json!({})).await["products"],
    );
    let p1 = fields.iter().find(|p| p["sku"] == P1_SKU).unwrap();
    assert!(p1["extraFields"].as_array().unwrap().contains(&json!({"key": "bron", "value": "groen"})), "{p1:#}");

    // B gives P1 an origin A's mapping cannot place, and changes P2's tariff: P2 is refreshed, P1 fails.
    create_select_option(&b.admin).await;
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!) { updateProduct(input: {id: $id, product: {extraFields: [{key: \"origin\", value: \"wind\"}]}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1}),
        )
        .await;
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!, $t: [TariffInput!]) { updateProduct(input: {id: $id, product: {tariffs: $t}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p2, "t": tariffs("0.11111", "6.99")}),
        )
        .await;
    let report = a.admin.mutate("syncNow", SYNC_NOW, json!({"id": a.integration})).await["report"].clone();
    assert_eq!(action_of(&report, P1_SKU), "FAILED", "{report:#}");
    assert_eq!(action_of(&report, P2_SKU), "UPDATE");
    let failed = report["changes"].as_array().unwrap().iter().find(|c| c["sku"] == P1_SKU).unwrap().clone();
    assert!(failed["note"].as_str().unwrap().contains("wind"), "{failed:#}");
}

/// Adds `wind` to B's `origin` options.
async fn create_select_option(admin: &Client<'_>) {
    let fields = nodes(
        &admin.data("{ extraFields(entity: PRODUCT) { edges { node { id key options } } } }", json!({})).await["extraFields"],
    );
    let origin = fields.iter().find(|f| f["key"] == "origin").unwrap();
    admin
        .mutate(
            "updateExtraField",
            "mutation($id: ID!) { updateExtraField(input: {id: $id, options: [\"grey\", \"green\", \"wind\"]}) { extraField { id } userErrors { field message code } } }",
            json!({"id": origin["id"]}),
        )
        .await;
}
