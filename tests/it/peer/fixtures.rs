//! The two sides of seed 001 as fixtures: the provider B with its grants and integration-only token,
//! the consumer A with a peer integration to B, and the GraphQL both sides send.

use super::client::Client;
use super::{id_of, nodes, sorted};
use crate::common::{Session, TestServer};
use serde_json::{Value, json};

// The provider B

pub(super) const P1_SKU: &str = "STROOM-GROEN-1J";
pub(super) const P2_SKU: &str = "STROOM-GRIJS-1J";
pub(super) const P3_SKU: &str = "STROOM-GROEN-3J";
/// The SKUs of P1 and P2, sorted.
pub(super) const GRANTED_SKUS: [&str; 2] = [P2_SKU, P1_SKU];
pub(super) const SUPPLIER: &str = "Energie Direct BV";
pub(super) const AGENT: &str = "koppeling_partner_a";
/// The flow's third question: optional text with validations, asked only for payment by giro.
pub(super) const GIRO_REFERENCE: &str = "giro_reference";
/// The keys of the questions of the granted flow "Energie", sorted.
pub(super) const FLOW_QUESTIONS: [&str; 3] = [GIRO_REFERENCE, "payment_method", "rehousing"];

/// The validations and conditions of [`GIRO_REFERENCE`] as GraphQL returns them.
pub(super) fn giro_reference_rules() -> (Value, Value) {
    (
        json!({"minLength": 2, "maxLength": 5, "min": null, "max": null}),
        json!([{"questionKey": "payment_method", "equals": "giro"}]),
    )
}

/// Everything B set up for its partner.
pub(super) struct Provider<'a> {
    pub(super) admin: Client<'a>,
    pub(super) account: String,
    pub(super) supplier: String,
    pub(super) p1: String,
    pub(super) p2: String,
    pub(super) p3: String,
    pub(super) flow: String,
    pub(super) other_flow: String,
    pub(super) callback: String,
    pub(super) organisation: String,
    pub(super) agent: String,
    pub(super) token_id: String,
    pub(super) secret: String,
}

pub(super) fn tariffs(delivery: &str, standing: &str) -> Value {
    json!([
        {"code": "delivery", "label": "Leveringstarief", "amount": delivery, "unit": "EUR/kWh"},
        {"code": "standing", "label": "Vaste leveringskosten", "amount": standing, "unit": "EUR/month"},
    ])
}

/// A product of `supplier` with an `origin`, authorised for sale; returns its id.
pub(super) async fn provider_product(
    admin: &Client<'_>,
    sku: &str,
    name: &str,
    origin: &str,
    supplier: &str,
) -> String {
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

pub(super) async fn set_grants(admin: &Client<'_>, organisation: &str, products: &[&str], flows: &[&str]) {
    admin
        .mutate(
            "setOrganisationGrants",
            "mutation($o: ID!, $p: [ID!]!, $f: [ID!]!) { setOrganisationGrants(input: {organisationId: $o, productIds: $p, flowIds: $f}) { organisation { id } userErrors { field message code } } }",
            json!({"o": organisation, "p": products, "f": flows}),
        )
        .await;
}

pub(super) async fn create_flow(admin: &Client<'_>, name: &str) -> String {
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

pub(super) async fn create_question(admin: &Client<'_>, input: Value) -> String {
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

pub(super) async fn create_status(admin: &Client<'_>, key: &str, name: &str) -> String {
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

pub(super) async fn create_select_field(admin: &Client<'_>, key: &str, options: &[&str]) {
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
pub(super) async fn provider<'a>(server: &'a TestServer, account: &str) -> Provider<'a> {
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

pub(super) async fn revoke(admin: &Client<'_>, token_id: &str) {
    admin
        .mutate(
            "revokeApiToken",
            "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { field message code } } }",
            json!({"id": token_id}),
        )
        .await;
}

pub(super) const PROVIDER_PRODUCTS: &str = "query($ids: [ID!], $since: DateTime) {
  providerProducts(ids: $ids, changedSince: $since) { edges { node {
    id sku name authorised extraFields { key value } tariffs { code amount unit } supplier { id name } } } } }";

pub(super) const SUBMIT_SALE: &str = "mutation($i: SubmitSaleInput!) { submitSale(input: $i) {
  sale { id idempotencyKey status { key } product { id } } userErrors { field message code } } }";

pub(super) fn sale_input(key: &str, product: &str, flow: &str) -> Value {
    json!({
        "idempotencyKey": key, "productId": product, "flowId": flow,
        "customer": {"kind": "PERSON", "firstName": "Jan", "lastName": "Jansen", "email": "jan@example.com"},
        "contactPersons": [{"name": "Jan Jansen", "phone": "0612345678"}],
        "answers": [{"questionKey": "payment_method", "value": "direct_debit"}, {"questionKey": "rehousing", "value": false}],
        "optIn": {"consent": true, "channel": "phone"},
    })
}

pub(super) async fn provider_skus(token: &Client<'_>, variables: Value) -> Vec<String> {
    sorted(&nodes(&token.data(PROVIDER_PRODUCTS, variables).await["providerProducts"]), "sku")
}

// The consumer A

pub(super) const INTEGRATION: &str = "id kind name enabled mode baseUrl settings lastSyncedAt createdAt updatedAt
  missingRecordPolicies { entity policy } credentialsSet { mode field lastFour }";

pub(super) const CREATE_INTEGRATION: &str = "mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) {
  integration { id kind name enabled mode baseUrl settings missingRecordPolicies { entity policy } credentialsSet { mode field lastFour } }
  userErrors { field message code } } }";

pub(super) const UPDATE_INTEGRATION: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id name baseUrl settings missingRecordPolicies { entity policy } }
  userErrors { field message code } } }";

pub(super) const SET_CREDENTIALS: &str =
    "mutation($i: SetIntegrationCredentialsInput!) { setIntegrationCredentials(input: $i) {
  integration { id credentialsSet { mode field lastFour } } userErrors { field message code } } }";

pub(super) const TEST_CONNECTION: &str =
    "mutation($i: TestIntegrationConnectionInput!) { testIntegrationConnection(input: $i) {
  test { ok code message identity latencyMs mode } userErrors { field message code } } }";

pub(super) const REMOTE_PRODUCTS: &str = "query($id: ID!) { remoteProducts(integrationId: $id) {
  nodes { remoteId sku name category imported localProductId fields { key value } supplier { remoteId name }
          tariffs { code label amount unit } }
  pageInfo { hasNextPage endCursor } } }";

pub(super) const IMPORT: &str = "mutation($id: ID!, $r: [String!]!) { importProducts(input: {integrationId: $id, remoteIds: $r}) {
  products { id sku name authorised active extraFields { key value } tariffs { code label amount unit } supplier { id name } }
  userErrors { field message code } } }";

pub(super) const FIELD_MAPPINGS: &str = "mutation($i: SetFieldMappingsInput!) { setFieldMappings(input: $i) {
  fieldMappings { entity remoteField targetKind target transforms { kind argument } values { remote local } createOnly }
  userErrors { field message code } } }";

pub(super) const STATUS_MAPPINGS: &str = "mutation($i: SetStatusMappingsInput!) { setStatusMappings(input: $i) {
  statusMappings { remoteStatus automatic localStatus { id key } } userErrors { field message code } } }";

pub(super) const FLOW_MAPPINGS: &str = "mutation($i: SetFlowMappingsInput!) { setFlowMappings(input: $i) {
  flowMappings { remoteFlowId localFlow { id name } } userErrors { field message code } } }";

pub(super) const QUESTION_MAPPINGS: &str = "mutation($i: SetQuestionMappingsInput!) { setQuestionMappings(input: $i) {
  questionMappings { remoteQuestionKey localQuestion { id key } options { remote local } }
  warnings { field message } userErrors { field message code } } }";

/// A's side of the connection.
pub(super) struct Consumer<'a> {
    pub(super) admin: Client<'a>,
    pub(super) session: Session,
    pub(super) integration: String,
}

pub(super) fn base_url(remote: &TestServer) -> String {
    format!("http://{}", remote.addr)
}

pub(super) async fn integration(admin: &Client<'_>, id: &str) -> Value {
    let query = format!("query($id: ID!) {{ integration(id: $id) {{ {INTEGRATION} }} }}");
    admin.data(&query, json!({"id": id})).await["integration"].clone()
}

pub(super) async fn integration_count(admin: &Client<'_>) -> usize {
    nodes(&admin.data("{ integrations { edges { node { id } } } }", json!({})).await["integrations"]).len()
}

/// Creates a peer integration to `remote` for `remote_account`; returns its id.
pub(super) async fn create_integration(admin: &Client<'_>, name: &str, base_url: &str, remote_account: &str) -> String {
    let input = json!({"kind": "peer", "name": name, "baseUrl": base_url, "settings": {"accountName": remote_account}});
    id_of(&admin.mutate("createIntegration", CREATE_INTEGRATION, json!({"i": input})).await["integration"]["id"])
}

pub(super) async fn set_token(admin: &Client<'_>, integration: &str, mode: &str, secret: &str) -> Value {
    let input = json!({"id": integration, "mode": mode, "values": [{"field": "apiToken", "value": secret}]});
    admin.mutate("setIntegrationCredentials", SET_CREDENTIALS, json!({"i": input})).await
}

pub(super) async fn test_connection(admin: &Client<'_>, integration: &str, mode: Option<&str>) -> Value {
    let input = match mode {
        Some(mode) => json!({"id": integration, "mode": mode}),
        None => json!({"id": integration}),
    };
    admin.mutate("testIntegrationConnection", TEST_CONNECTION, json!({"i": input})).await["test"].clone()
}

/// Account `account` on `server` with a peer integration to `provider_account` on `remote`, whose
/// TEST credentials are `secret`.
pub(super) async fn consumer<'a>(
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

pub(super) async fn remote_products(admin: &Client<'_>, integration: &str) -> Vec<Value> {
    admin.data(REMOTE_PRODUCTS, json!({"id": integration})).await["remoteProducts"]["nodes"]
        .as_array()
        .cloned()
        .expect("remote products")
}

pub(super) async fn local_products(admin: &Client<'_>) -> Vec<Value> {
    nodes(
        &admin.data("{ products { edges { node { id sku authorised supplier { id name } } } } }", json!({})).await["products"],
    )
}

pub(super) async fn local_suppliers(admin: &Client<'_>) -> Vec<Value> {
    nodes(&admin.data("{ suppliers { edges { node { id name } } } }", json!({})).await["suppliers"])
}

/// B and A on one server, connected.
pub(super) async fn connected(server: &TestServer) -> (Provider<'_>, Consumer<'_>) {
    let b = provider(server, "provider").await;
    let a = consumer(server, "consumer", server, &b.account, &b.secret).await;
    (b, a)
}

/// A's product extra field `herkomst` and the mapping of B's `origin` onto it.
pub(super) async fn map_origin(a: &Consumer<'_>) -> Value {
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

pub(super) async fn import(a: &Consumer<'_>, remote_ids: &[&str]) -> Vec<Value> {
    a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": remote_ids})).await["products"]
        .as_array()
        .cloned()
        .expect("the imported products")
}

pub(super) fn assert_failed(test: &Value, code: &str) {
    assert_eq!(test["ok"], false, "{test:#}");
    assert_eq!(test["code"], code, "{test:#}");
    assert!(test["identity"].is_null(), "{test:#}");
    assert!(!test["message"].as_str().unwrap_or("").is_empty(), "{test:#}");
    assert!(test["latencyMs"].as_i64().is_some_and(|ms| ms >= 0), "{test:#}");
}
