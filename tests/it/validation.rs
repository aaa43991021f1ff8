//! Bad input is refused field by field: every mutation answers with `userErrors` that name the input
//! field as a dotted path with a stable `code`, reports every problem of one input at once, and writes
//! nothing (the lists are counted before and after).

use crate::common::{Session, TestServer};
use serde_json::{Value, json};

const CREATE_USER: &str = "mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id username } userErrors { field message code } }
}";

const CREATE_ORGANISATION: &str = "mutation($input: CreateOrganisationInput!) {
  createOrganisation(input: $input) { organisation { id name } userErrors { field message code } }
}";

const CREATE_EXTRA_FIELD: &str = "mutation($input: CreateExtraFieldInput!) {
  createExtraField(input: $input) { extraField { id key options } userErrors { field message code } }
}";

const CREATE_PRODUCT: &str = "mutation($input: CreateProductInput!) {
  createProduct(input: $input) { product { id sku name } userErrors { field message code } }
}";

const SET_AUTHORISED: &str = "mutation($input: SetProductAuthorisedInput!) {
  setProductAuthorised(input: $input) { product { id authorised } userErrors { field message code } }
}";

const CREATE_FLOW: &str = "mutation($input: CreateFlowInput!) {
  createFlow(input: $input) { flow { id name } userErrors { field message code } }
}";

const CREATE_QUESTION: &str = "mutation($input: CreateQuestionInput!) {
  createQuestion(input: $input) { question { id key } userErrors { field message code } }
}";

const CREATE_CUSTOMER: &str = "mutation($input: CreateCustomerInput!) {
  createCustomer(input: $input) {
    customer { id displayName contactPersons { edges { node { id } } } }
    userErrors { field message code }
  }
}";

const CREATE_SALE: &str = "mutation($input: CreateSaleInput!) {
  createSale(input: $input) {
    sale { id answers { questionKey value } status { key } product { sku } }
    userErrors { field message code }
  }
}";

/// Runs `mutation` with `{ input }` and returns the payload `data.<name>`; top-level errors fail the test.
async fn mutate(server: &TestServer, session: &Session, mutation: &str, name: &str, input: Value) -> Value {
    let data = server.gql_ok(Some(&session.token), mutation, json!({ "input": input })).await;
    data[name].clone()
}

/// The payload's `userErrors` as sorted `(field, code)` pairs; every message must say something.
fn problems(payload: &Value) -> Vec<(String, String)> {
    let errors = payload["userErrors"].as_array().unwrap_or_else(|| panic!("no userErrors in {payload:#}"));
    let mut pairs: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            let message = e["message"].as_str().unwrap_or_default();
            assert!(!message.trim().is_empty(), "a user error without a message: {e}");
            (e["field"].as_str().unwrap_or_default().to_owned(), e["code"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    pairs.sort();
    pairs
}

/// Asserts that the payload has no `result` and exactly these `(field, code)` problems, in any order.
fn assert_refused(payload: &Value, result: &str, expected: &[(&str, &str)], case: &str) {
    let mut want: Vec<(String, String)> = expected.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect();
    want.sort();
    assert_eq!(problems(payload), want, "{case}: unexpected userErrors in {payload:#}");
    assert!(payload[result].is_null(), "{case}: a refused input still returned {result}: {payload:#}");
}

/// Asserts that the payload succeeded and returns its `result`.
fn assert_accepted<'a>(payload: &'a Value, result: &str, case: &str) -> &'a Value {
    assert_eq!(problems(payload), vec![], "{case}: expected no userErrors: {payload:#}");
    assert!(payload[result].is_object(), "{case}: no {result} returned: {payload:#}");
    &payload[result]
}

/// How many records `list` (a connection of the Query root) holds, up to 100.
async fn count(server: &TestServer, session: &Session, list: &str) -> usize {
    let query = format!("{{ {list}(first: 100) {{ edges {{ node {{ id }} }} }} }}");
    let data = server.gql_ok(Some(&session.token), &query, json!({})).await;
    data[list]["edges"].as_array().unwrap_or_else(|| panic!("no {list} edges: {data:#}")).len()
}

fn random_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[tokio::test]
async fn create_user_names_each_bad_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let before = count(&server, &admin, "users").await;
    let good = "correct-horse-battery";
    let cases = [
        (
            "empty username",
            json!({ "username": "", "password": good, "role": "AGENT" }),
            vec![("username", "REQUIRED")],
        ),
        (
            "blank username",
            json!({ "username": "   ", "password": good, "role": "AGENT" }),
            vec![("username", "REQUIRED")],
        ),
        (
            "short password",
            json!({ "username": "bob", "password": "short", "role": "AGENT" }),
            vec![("password", "INVALID")],
        ),
        (
            "taken username",
            json!({ "username": "admin", "password": good, "role": "AGENT" }),
            vec![("username", "TAKEN")],
        ),
        (
            "taken username with spaces around",
            json!({ "username": " admin ", "password": good, "role": "AGENT" }),
            vec![("username", "TAKEN")],
        ),
        (
            "bad e-mail",
            json!({ "username": "bob", "password": good, "role": "AGENT", "email": "bob-at-example.nl" }),
            vec![("email", "INVALID")],
        ),
        (
            "unknown organisation",
            json!({ "username": "bob", "password": good, "role": "AGENT", "organisationId": random_id() }),
            vec![("organisationId", "NOT_FOUND")],
        ),
        (
            "malformed organisation id",
            json!({ "username": "bob", "password": good, "role": "AGENT", "organisationId": "org-1" }),
            vec![("organisationId", "NOT_FOUND")],
        ),
        (
            "everything at once",
            json!({ "username": "", "password": "123", "role": "AGENT", "email": "nope", "organisationId": random_id() }),
            vec![
                ("username", "REQUIRED"),
                ("password", "INVALID"),
                ("email", "INVALID"),
                ("organisationId", "NOT_FOUND"),
            ],
        ),
    ];
    for (case, input, expected) in cases {
        let payload = mutate(&server, &admin, CREATE_USER, "createUser", input).await;
        assert_refused(&payload, "user", &expected, case);
    }
    assert_eq!(count(&server, &admin, "users").await, before, "a refused createUser wrote a user");

    // The same input, corrected, is accepted: the problems were about those fields only.
    let payload = mutate(
        &server,
        &admin,
        CREATE_USER,
        "createUser",
        json!({ "username": "bob", "password": good, "role": "AGENT", "email": "bob@example.nl" }),
    )
    .await;
    assert_eq!(assert_accepted(&payload, "user", "corrected user")["username"], "bob");
    assert_eq!(count(&server, &admin, "users").await, before + 1);
}

/// An admin with a PRODUCT select field `energy_label` (A, B, C), a CUSTOMER text field `segment`, and
/// a product with SKU `E-100`.
async fn product_setup(server: &TestServer) -> Session {
    let admin = server.admin("acme").await;
    let label = json!({ "entity": "PRODUCT", "key": "energy_label", "label": "Energielabel", "fieldType": "SELECT",
                        "options": ["A", "B", "C"] });
    assert_accepted(
        &mutate(server, &admin, CREATE_EXTRA_FIELD, "createExtraField", label).await,
        "extraField",
        "label",
    );
    let segment = json!({ "entity": "CUSTOMER", "key": "segment", "label": "Segment", "fieldType": "TEXT" });
    assert_accepted(
        &mutate(server, &admin, CREATE_EXTRA_FIELD, "createExtraField", segment).await,
        "extraField",
        "seg",
    );
    let product = json!({ "product": { "sku": "E-100", "name": "Groene stroom" } });
    assert_accepted(&mutate(server, &admin, CREATE_PRODUCT, "createProduct", product).await, "product", "E-100");
    admin
}

#[tokio::test]
async fn create_product_names_each_bad_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let admin = product_setup(&server).await;
    let before = count(&server, &admin, "products").await;
    let tariff = |amount: &str| json!({ "code": "delivery", "label": "Levering", "amount": amount, "unit": "EUR/kWh" });
    let long_name = "x".repeat(201);
    let cases = [
        ("missing sku and name", json!({}), vec![("product.sku", "REQUIRED"), ("product.name", "REQUIRED")]),
        ("blank sku", json!({ "sku": "  ", "name": "Stroom" }), vec![("product.sku", "REQUIRED")]),
        ("duplicate sku", json!({ "sku": "E-100", "name": "Stroom" }), vec![("product.sku", "TAKEN")]),
        ("duplicate sku with spaces", json!({ "sku": " E-100 ", "name": "Stroom" }), vec![("product.sku", "TAKEN")]),
        (
            "tariff amount with a decimal comma",
            json!({ "sku": "E-200", "name": "Stroom", "tariffs": [tariff("0,23")] }),
            vec![("product.tariffs.0.amount", "INVALID")],
        ),
        (
            "second tariff amount not a number",
            json!({ "sku": "E-200", "name": "Stroom",
                    "tariffs": [tariff("0.23451"), { "code": "fixed", "label": "Vast", "amount": "ten", "unit": "EUR/month" }] }),
            vec![("product.tariffs.1.amount", "INVALID")],
        ),
        (
            "unknown supplier",
            json!({ "sku": "E-200", "name": "Stroom", "supplierId": random_id() }),
            vec![("product.supplierId", "NOT_FOUND")],
        ),
        (
            "extra field value not an option",
            json!({ "sku": "E-200", "name": "Stroom", "extraFields": [{ "key": "energy_label", "value": "Z" }] }),
            vec![("product.extraFields.0.value", "NOT_AN_OPTION")],
        ),
        (
            "unknown extra field key",
            json!({ "sku": "E-200", "name": "Stroom", "extraFields": [{ "key": "colour", "value": "green" }] }),
            vec![("product.extraFields.0.key", "UNKNOWN")],
        ),
        (
            "extra field of customers used on a product",
            json!({ "sku": "E-200", "name": "Stroom",
                    "extraFields": [{ "key": "energy_label", "value": "A" }, { "key": "segment", "value": "SME" }] }),
            vec![("product.extraFields.1.key", "UNKNOWN")],
        ),
        ("201-character name", json!({ "sku": "E-200", "name": long_name }), vec![("product.name", "TOO_LONG")]),
    ];
    for (case, product, expected) in cases {
        let payload = mutate(&server, &admin, CREATE_PRODUCT, "createProduct", json!({ "product": product })).await;
        assert_refused(&payload, "product", &expected, case);
    }
    assert_eq!(count(&server, &admin, "products").await, before, "a refused createProduct wrote a product");

    // Limits count characters, not bytes: 200 accented characters are a valid name.
    let name = "é".repeat(200);
    let payload = mutate(
        &server,
        &admin,
        CREATE_PRODUCT,
        "createProduct",
        json!({ "product": { "sku": "E-200", "name": name, "tariffs": [tariff("0.23451")],
                             "extraFields": [{ "key": "energy_label", "value": "A" }] } }),
    )
    .await;
    assert_eq!(assert_accepted(&payload, "product", "200-character name")["name"], name);
    assert_eq!(count(&server, &admin, "products").await, before + 1);
}

#[tokio::test]
async fn create_product_reports_every_problem_at_once() {
    let server = TestServer::start().await;
    let admin = product_setup(&server).await;
    let before = count(&server, &admin, "products").await;
    let input = json!({ "product": {
        "sku": "",
        "name": "n".repeat(201),
        "supplierId": random_id(),
        "tariffs": [
            { "code": "delivery", "label": "Levering", "amount": "0.2", "unit": "EUR/kWh" },
            { "code": "", "label": "Vast", "amount": "abc", "unit": "EUR/month" },
        ],
        "extraFields": [{ "key": "colour", "value": "green" }, { "key": "energy_label", "value": "Z" }],
    } });
    let payload = mutate(&server, &admin, CREATE_PRODUCT, "createProduct", input).await;
    assert_refused(
        &payload,
        "product",
        &[
            ("product.sku", "REQUIRED"),
            ("product.name", "TOO_LONG"),
            ("product.supplierId", "NOT_FOUND"),
            ("product.tariffs.1.code", "REQUIRED"),
            ("product.tariffs.1.amount", "INVALID"),
            ("product.extraFields.0.key", "UNKNOWN"),
            ("product.extraFields.1.value", "NOT_AN_OPTION"),
        ],
        "everything at once",
    );
    assert_eq!(count(&server, &admin, "products").await, before);
}

#[tokio::test]
async fn organisation_extra_field_values_are_checked() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let region = json!({ "entity": "ORGANISATION", "key": "region", "label": "Regio", "fieldType": "SELECT",
                         "options": ["noord", "zuid"] });
    assert_accepted(&mutate(&server, &admin, CREATE_EXTRA_FIELD, "createExtraField", region).await, "extraField", "r");
    let before = count(&server, &admin, "organisations").await;
    let cases = [
        (
            "not an option",
            json!([{ "key": "region", "value": "west" }]),
            vec![("extraFields.0.value", "NOT_AN_OPTION")],
        ),
        ("unknown key", json!([{ "key": "cire_id", "value": "CIRE-1" }]), vec![("extraFields.0.key", "UNKNOWN")]),
    ];
    for (case, extra_fields, expected) in cases {
        let input = json!({ "name": "Energiek BV", "extraFields": extra_fields });
        let payload = mutate(&server, &admin, CREATE_ORGANISATION, "createOrganisation", input).await;
        assert_refused(&payload, "organisation", &expected, case);
    }
    let input = json!({ "name": " ", "extraFields": [{ "key": "region", "value": "west" }] });
    let payload = mutate(&server, &admin, CREATE_ORGANISATION, "createOrganisation", input).await;
    assert_refused(&payload, "organisation", &[("name", "REQUIRED"), ("extraFields.0.value", "NOT_AN_OPTION")], "both");
    assert_eq!(count(&server, &admin, "organisations").await, before);
}

#[tokio::test]
async fn create_extra_field_names_each_bad_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let field = |key: &str, field_type: &str, options: Value| json!({ "entity": "PRODUCT", "key": key, "label": "Label", "fieldType": field_type, "options": options });
    let existing = field("energy_label", "SELECT", json!(["A", "B"]));
    assert_accepted(&mutate(&server, &admin, CREATE_EXTRA_FIELD, "createExtraField", existing).await, "extraField", "");
    let before = count(&server, &admin, "extraFields").await;
    let cases = [
        ("select without options", field("contract", "SELECT", json!([])), vec![("options", "REQUIRED")]),
        ("key with spaces and capitals", field("Energy Label", "TEXT", json!([])), vec![("key", "INVALID")]),
        ("key starting with a digit", field("1st_year", "TEXT", json!([])), vec![("key", "INVALID")]),
        ("empty key", field("", "TEXT", json!([])), vec![("key", "INVALID")]),
        ("options on a text field", field("note", "TEXT", json!(["x"])), vec![("options", "INVALID")]),
        ("option listed twice", field("size", "SELECT", json!(["S", "S"])), vec![("options.1", "TAKEN")]),
        ("key already defined", field("energy_label", "TEXT", json!([])), vec![("key", "TAKEN")]),
        (
            "bad key and no options at once",
            field("Bad Key", "SELECT", json!([])),
            vec![("key", "INVALID"), ("options", "REQUIRED")],
        ),
    ];
    for (case, input, expected) in cases {
        let payload = mutate(&server, &admin, CREATE_EXTRA_FIELD, "createExtraField", input).await;
        assert_refused(&payload, "extraField", &expected, case);
    }
    assert_eq!(count(&server, &admin, "extraFields").await, before, "a refused createExtraField wrote a definition");

    // The same key on another entity is a different field.
    let other = json!({ "entity": "CUSTOMER", "key": "energy_label", "label": "Label", "fieldType": "TEXT" });
    assert_accepted(&mutate(&server, &admin, CREATE_EXTRA_FIELD, "createExtraField", other).await, "extraField", "c");
    assert_eq!(count(&server, &admin, "extraFields").await, before + 1);
}

#[tokio::test]
async fn create_question_names_each_bad_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let flow = mutate(&server, &admin, CREATE_FLOW, "createFlow", json!({ "name": "Overstap" })).await;
    let flow_id = assert_accepted(&flow, "flow", "flow")["id"].clone();
    let rehousing = json!({ "flowId": flow_id, "key": "rehousing", "label": "Verhuizing?", "questionType": "BOOLEAN" });
    assert_accepted(&mutate(&server, &admin, CREATE_QUESTION, "createQuestion", rehousing).await, "question", "q");
    let before = count(&server, &admin, "questions").await;
    let options = json!([{ "value": "direct_debit", "label": "Automatische incasso" }]);
    let cases = [
        (
            "select without options",
            json!({ "flowId": flow_id, "key": "payment_method", "label": "Betaalwijze", "questionType": "SELECT" }),
            vec![("options", "REQUIRED")],
        ),
        (
            "multiselect without options",
            json!({ "flowId": flow_id, "key": "extras", "label": "Extra's", "questionType": "MULTISELECT", "options": [] }),
            vec![("options", "REQUIRED")],
        ),
        (
            "neither flow nor product",
            json!({ "key": "payment_method", "label": "Betaalwijze", "questionType": "SELECT", "options": options }),
            vec![("flowId", "REQUIRED")],
        ),
        (
            "unknown flow",
            json!({ "flowId": random_id(), "key": "iban", "label": "IBAN", "questionType": "TEXT" }),
            vec![("flowId", "NOT_FOUND")],
        ),
        (
            "unknown product",
            json!({ "productId": random_id(), "key": "iban", "label": "IBAN", "questionType": "TEXT" }),
            vec![("productId", "NOT_FOUND")],
        ),
        (
            "condition on an unknown question",
            json!({ "flowId": flow_id, "key": "move_date", "label": "Verhuisdatum", "questionType": "DATE",
                    "conditions": [{ "questionKey": "relocation", "equals": "true" }] }),
            vec![("conditions.0.questionKey", "NOT_FOUND")],
        ),
        (
            "condition on itself",
            json!({ "flowId": flow_id, "key": "move_date", "label": "Verhuisdatum", "questionType": "DATE",
                    "conditions": [{ "questionKey": "rehousing", "equals": "true" },
                                   { "questionKey": "move_date", "equals": "x" }] }),
            vec![("conditions.1.questionKey", "NOT_FOUND")],
        ),
        (
            "key already used",
            json!({ "flowId": flow_id, "key": "rehousing", "label": "Nog eens", "questionType": "BOOLEAN" }),
            vec![("key", "TAKEN")],
        ),
        (
            "bad key, no label, no options, no flow",
            json!({ "key": "Payment Method", "label": "", "questionType": "SELECT" }),
            vec![("key", "INVALID"), ("label", "REQUIRED"), ("options", "REQUIRED"), ("flowId", "REQUIRED")],
        ),
    ];
    for (case, input, expected) in cases {
        let payload = mutate(&server, &admin, CREATE_QUESTION, "createQuestion", input).await;
        assert_refused(&payload, "question", &expected, case);
    }
    assert_eq!(count(&server, &admin, "questions").await, before, "a refused createQuestion wrote a question");
}

#[tokio::test]
async fn create_customer_names_each_bad_field_and_writes_nothing() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let before = count(&server, &admin, "customers").await;
    let address = |country: &str| {
        json!({ "kind": "VISIT", "street": "Damrak", "houseNumber": "1", "postcode": "1012 LG", "city": "Amsterdam",
                "country": country })
    };
    let person = |extra: Value| {
        let mut customer = json!({ "kind": "PERSON", "firstName": "Jan", "lastName": "Jansen" });
        customer.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        customer
    };
    let cases = [
        (
            "person without last name",
            json!({ "customer": { "kind": "PERSON", "firstName": "Jan" } }),
            vec![("customer.lastName", "REQUIRED")],
        ),
        (
            "person with a blank last name",
            json!({ "customer": { "kind": "PERSON", "firstName": "Jan", "lastName": "  " } }),
            vec![("customer.lastName", "REQUIRED")],
        ),
        (
            "company without company name",
            json!({ "customer": { "kind": "COMPANY", "kvkNumber": "12345678" } }),
            vec![("customer.companyName", "REQUIRED")],
        ),
        (
            "KvK number of 7 digits",
            json!({ "customer": { "kind": "COMPANY", "companyName": "Bakkerij", "kvkNumber": "1234567" } }),
            vec![("customer.kvkNumber", "INVALID")],
        ),
        (
            "KvK number with a letter",
            json!({ "customer": { "kind": "COMPANY", "companyName": "Bakkerij", "kvkNumber": "1234567a" } }),
            vec![("customer.kvkNumber", "INVALID")],
        ),
        ("bad e-mail", json!({ "customer": person(json!({ "email": "jan@" })) }), vec![("customer.email", "INVALID")]),
        (
            "country not a two-letter code",
            json!({ "customer": person(json!({ "addresses": [address("NL"), address("Netherlands")] })) }),
            vec![("customer.addresses.1.country", "INVALID")],
        ),
        (
            "address without a street",
            json!({ "customer": person(json!({ "addresses": [{ "kind": "INVOICE", "street": "", "houseNumber": "1",
                      "postcode": "1012 LG", "city": "Amsterdam", "country": "NL" }] })) }),
            vec![("customer.addresses.0.street", "REQUIRED")],
        ),
        (
            "unknown extra field",
            json!({ "customer": person(json!({ "extraFields": [{ "key": "segment", "value": "SME" }] })) }),
            vec![("customer.extraFields.0.key", "UNKNOWN")],
        ),
        (
            "contact person for invoices without e-mail",
            json!({ "customer": person(json!({})), "contactPersons": [{ "name": "Piet", "flags": ["INVOICE"] }] }),
            vec![("contactPersons.0.email", "REQUIRED")],
        ),
        (
            "second contact person for inquiries without e-mail",
            json!({ "customer": person(json!({})), "contactPersons": [
                { "name": "Piet", "flags": ["PRIMARY"] },
                { "name": "Klaas", "phone": "0201234567", "flags": ["INQUIRY"] },
            ] }),
            vec![("contactPersons.1.email", "REQUIRED")],
        ),
        (
            "contact person with a bad e-mail and no name",
            json!({ "customer": person(json!({})), "contactPersons": [{ "name": "", "email": "piet" }] }),
            vec![("contactPersons.0.name", "REQUIRED"), ("contactPersons.0.email", "INVALID")],
        ),
        (
            "everything at once",
            json!({ "customer": { "kind": "COMPANY", "kvkNumber": "1234", "email": "x", "addresses": [address("nl")] },
                    "contactPersons": [{ "name": "Piet", "flags": ["INVOICE"] }] }),
            vec![
                ("customer.companyName", "REQUIRED"),
                ("customer.kvkNumber", "INVALID"),
                ("customer.email", "INVALID"),
                ("customer.addresses.0.country", "INVALID"),
                ("contactPersons.0.email", "REQUIRED"),
            ],
        ),
    ];
    for (case, input, expected) in cases {
        let payload = mutate(&server, &admin, CREATE_CUSTOMER, "createCustomer", input).await;
        assert_refused(&payload, "customer", &expected, case);
    }
    assert_eq!(count(&server, &admin, "customers").await, before, "a refused createCustomer wrote a customer");

    let input = json!({
        "customer": { "kind": "COMPANY", "companyName": "Bakkerij de Vries", "kvkNumber": "12345678",
                      "addresses": [address("NL")] },
        "contactPersons": [{ "name": "Piet", "email": "piet@bakkerij.nl", "flags": ["PRIMARY", "INVOICE"] }],
    });
    let payload = mutate(&server, &admin, CREATE_CUSTOMER, "createCustomer", input).await;
    let customer = assert_accepted(&payload, "customer", "corrected customer");
    assert_eq!(customer["displayName"], "Bakkerij de Vries");
    assert_eq!(customer["contactPersons"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(count(&server, &admin, "customers").await, before + 1);
}

/// What sales are validated against, made by [`sale_setup`].
struct SaleSetup {
    admin: Session,
    agent: Session,
    product: String,
    unauthorised: String,
}

/// Product `E-100` (authorised) asks `payment_method` (SELECT direct_debit|giro, required), `rehousing`
/// (BOOLEAN, required), `move_date` (DATE, required when rehousing is true) and `contract_years`
/// (NUMBER 1–5, optional); product `E-200` is not authorised. Also an agent, signed in.
async fn sale_setup(server: &TestServer) -> SaleSetup {
    let admin = server.admin("acme").await;
    let mut products = Vec::new();
    for sku in ["E-100", "E-200"] {
        let payload = mutate(
            server,
            &admin,
            CREATE_PRODUCT,
            "createProduct",
            json!({ "product": { "sku": sku, "name": format!("Stroom {sku}") } }),
        )
        .await;
        products.push(assert_accepted(&payload, "product", sku)["id"].as_str().unwrap().to_owned());
    }
    let payload = mutate(
        server,
        &admin,
        SET_AUTHORISED,
        "setProductAuthorised",
        json!({ "id": products[0], "authorised": true }),
    )
    .await;
    assert_eq!(assert_accepted(&payload, "product", "authorise")["authorised"], true);
    let product = &products[0];
    let questions = [
        json!({ "productId": product, "key": "payment_method", "label": "Betaalwijze", "questionType": "SELECT",
                "required": true, "options": [{ "value": "direct_debit", "label": "Automatische incasso" },
                                              { "value": "giro", "label": "Acceptgiro" }] }),
        json!({ "productId": product, "key": "rehousing", "label": "Verhuizing?", "questionType": "BOOLEAN",
                "required": true }),
        json!({ "productId": product, "key": "move_date", "label": "Verhuisdatum", "questionType": "DATE",
                "required": true, "conditions": [{ "questionKey": "rehousing", "equals": "true" }] }),
        json!({ "productId": product, "key": "contract_years", "label": "Looptijd", "questionType": "NUMBER",
                "validations": { "min": 1, "max": 5 } }),
    ];
    for question in questions {
        let payload = mutate(server, &admin, CREATE_QUESTION, "createQuestion", question).await;
        assert_accepted(&payload, "question", "question");
    }
    let payload = mutate(
        server,
        &admin,
        CREATE_USER,
        "createUser",
        json!({ "username": "agent", "password": "agent-password-1", "role": "AGENT" }),
    )
    .await;
    assert_accepted(&payload, "user", "agent");
    let token = server.login("acme", "agent", "agent-password-1").await;
    let agent = Session { token, account: "acme".into(), username: "agent".into() };
    SaleSetup { admin, agent, product: products[0].clone(), unauthorised: products[1].clone() }
}

fn answers(pairs: &[(&str, Value)]) -> Value {
    pairs.iter().map(|(key, value)| json!({ "questionKey": key, "value": value })).collect()
}

#[tokio::test]
async fn create_sale_checks_product_and_answers_and_writes_nothing() {
    let server = TestServer::start().await;
    let setup = sale_setup(&server).await;
    let before = count(&server, &setup.admin, "sales").await;
    let product = setup.product.as_str();
    let good = || vec![("payment_method", json!("giro")), ("rehousing", json!(false))];
    let with = |extra: Vec<(&'static str, Value)>| {
        let mut pairs = good();
        pairs.retain(|(key, _)| !extra.iter().any(|(k, _)| k == key));
        pairs.extend(extra);
        answers(&pairs)
    };
    let cases = [
        (
            "product not authorised",
            json!({ "productId": setup.unauthorised, "answers": [] }),
            vec![("productId", "INVALID")],
        ),
        ("unknown product", json!({ "productId": random_id() }), vec![("productId", "NOT_FOUND")]),
        (
            "required answer missing",
            json!({ "productId": product, "answers": answers(&[("rehousing", json!(false))]) }),
            vec![("answers.payment_method", "REQUIRED")],
        ),
        (
            "required answer empty",
            json!({ "productId": product, "answers": with(vec![("payment_method", json!("  "))]) }),
            vec![("answers.payment_method", "REQUIRED")],
        ),
        (
            "answer not among the options",
            json!({ "productId": product, "answers": with(vec![("payment_method", json!("cash"))]) }),
            vec![("answers.payment_method", "NOT_AN_OPTION")],
        ),
        (
            "option label instead of its value",
            json!({ "productId": product, "answers": with(vec![("payment_method", json!("Acceptgiro"))]) }),
            vec![("answers.payment_method", "NOT_AN_OPTION")],
        ),
        (
            "unknown question key",
            json!({ "productId": product, "answers": with(vec![("colour", json!("green"))]) }),
            vec![("answers.colour", "UNKNOWN")],
        ),
        (
            "text for a BOOLEAN question",
            json!({ "productId": product, "answers": with(vec![("rehousing", json!("yes"))]) }),
            vec![("answers.rehousing", "INVALID")],
        ),
        (
            "text for a NUMBER question",
            json!({ "productId": product, "answers": with(vec![("contract_years", json!("three"))]) }),
            vec![("answers.contract_years", "INVALID")],
        ),
        (
            "number out of range",
            json!({ "productId": product, "answers": with(vec![("contract_years", json!(7))]) }),
            vec![("answers.contract_years", "INVALID")],
        ),
        (
            "conditional question answered when its condition does not hold",
            json!({ "productId": product, "answers": with(vec![("move_date", json!("2027-01-01"))]) }),
            vec![("answers.move_date", "INVALID")],
        ),
        (
            "conditional question missing when its condition holds",
            json!({ "productId": product, "answers": with(vec![("rehousing", json!(true))]) }),
            vec![("answers.move_date", "REQUIRED")],
        ),
        (
            "impossible date",
            json!({ "productId": product,
                    "answers": with(vec![("rehousing", json!(true)), ("move_date", json!("2027-02-30"))]) }),
            vec![("answers.move_date", "INVALID")],
        ),
        (
            "unknown customer",
            json!({ "productId": product, "customerId": random_id(), "answers": with(vec![]) }),
            vec![("customerId", "NOT_FOUND")],
        ),
    ];
    for (case, input, expected) in cases {
        let payload = mutate(&server, &setup.agent, CREATE_SALE, "createSale", input).await;
        assert_refused(&payload, "sale", &expected, case);
    }
    assert_eq!(count(&server, &setup.admin, "sales").await, before, "a refused createSale wrote a sale");
}

#[tokio::test]
async fn create_sale_reports_every_problem_at_once() {
    let server = TestServer::start().await;
    let setup = sale_setup(&server).await;
    let input = json!({
        "productId": setup.product,
        "customerId": random_id(),
        "answers": answers(&[
            ("payment_method", json!("cash")),
            ("rehousing", json!("yes")),
            ("move_date", json!("2027-01-01")),
            ("contract_years", json!(0)),
            ("colour", json!("green")),
        ]),
    });
    let payload = mutate(&server, &setup.agent, CREATE_SALE, "createSale", input).await;
    assert_refused(
        &payload,
        "sale",
        &[
            ("customerId", "NOT_FOUND"),
            ("answers.colour", "UNKNOWN"),
            ("answers.payment_method", "NOT_AN_OPTION"),
            ("answers.rehousing", "INVALID"),
            // `rehousing` is not `true`, so the move date does not apply and must not be answered.
            ("answers.move_date", "INVALID"),
            ("answers.contract_years", "INVALID"),
        ],
        "everything at once",
    );
    assert_eq!(count(&server, &setup.admin, "sales").await, 0);
}

#[tokio::test]
async fn a_valid_sale_keeps_its_answers_and_starts_as_new() {
    let server = TestServer::start().await;
    let setup = sale_setup(&server).await;
    let input = json!({
        "productId": setup.product,
        "answers": answers(&[
            ("rehousing", json!(true)),
            ("payment_method", json!("direct_debit")),
            ("move_date", json!("2027-01-01")),
            ("contract_years", json!(3)),
        ]),
    });
    let payload = mutate(&server, &setup.agent, CREATE_SALE, "createSale", input).await;
    let sale = assert_accepted(&payload, "sale", "valid sale").clone();
    assert_eq!(sale["status"]["key"], "new");
    assert_eq!(sale["product"]["sku"], "E-100");
    let expected = json!([
        { "questionKey": "contract_years", "value": 3 },
        { "questionKey": "move_date", "value": "2027-01-01" },
        { "questionKey": "payment_method", "value": "direct_debit" },
        { "questionKey": "rehousing", "value": true },
    ]);
    assert_eq!(sale["answers"], expected);

    // Read back, by the agent and by the admin: the same answers were stored.
    let query = "query($id: ID!) { sale(id: $id) { answers { questionKey value } status { key name } } }";
    for session in [&setup.agent, &setup.admin] {
        let data = server.gql_ok(Some(&session.token), query, json!({ "id": sale["id"] })).await;
        assert_eq!(data["sale"]["answers"], expected);
        assert_eq!(data["sale"]["status"]["key"], "new");
    }
    assert_eq!(count(&server, &setup.admin, "sales").await, 1);
}

#[tokio::test]
async fn control_characters_are_refused_on_every_database() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let create = "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } userErrors { field code } } }";
    let input = json!({"input": {"customer": {"kind": "PERSON", "lastName": "Jan\u{0}sen"}}});
    let response = server.gql_ok(Some(&admin.token), create, input).await;
    assert_eq!(response["createCustomer"]["customer"], Value::Null);
    assert_eq!(response["createCustomer"]["userErrors"], json!([{"field": "customer.lastName", "code": "INVALID"}]));
    let count = server.gql_ok(Some(&admin.token), "{ customers { edges { cursor } } }", json!({})).await;
    assert!(count["customers"]["edges"].as_array().unwrap().is_empty(), "nothing was written");
}
