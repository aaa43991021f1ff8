//! The happy paths of the catalogue as an admin sets it up and an agent sells from it: organisations
//! with extra fields and grants, suppliers, products, flows and questions, customers, statuses and
//! sales; and nested lookups that are batched (no N+1 queries).

use crate::common::{Session, TestServer};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const USER_ERRORS: &str = "userErrors { field message code }";

/// Runs `mutation` with `{ input }` and returns the payload `data.<name>`; top-level errors fail the test.
async fn mutate(server: &TestServer, session: &Session, mutation: &str, name: &str, input: Value) -> Value {
    let data = server.gql_ok(Some(&session.token), mutation, json!({ "input": input })).await;
    data[name].clone()
}

/// Runs a mutation that must succeed and returns `data.<name>.<result>`.
async fn create(server: &TestServer, session: &Session, name: &str, result: &str, input: Value, fields: &str) -> Value {
    let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let mutation = format!(
        "mutation($input: {input_type}!) {{ {name}(input: $input) {{ {result} {{ {fields} }} {USER_ERRORS} }} }}"
    );
    let payload = mutate(server, session, &mutation, name, input).await;
    assert_eq!(payload["userErrors"], json!([]), "{name} was refused: {payload:#}");
    assert!(payload[result].is_object(), "{name} returned no {result}: {payload:#}");
    payload[result].clone()
}

/// Runs a mutation that must be refused and returns its `(field, code)` problems.
async fn refused(
    server: &TestServer,
    session: &Session,
    name: &str,
    result: &str,
    input: Value,
) -> Vec<(String, String)> {
    let input_type = format!("{}{}Input", name[..1].to_uppercase(), &name[1..]);
    let selection = if result == "deletedId" { result.to_owned() } else { format!("{result} {{ __typename }}") };
    let mutation =
        format!("mutation($input: {input_type}!) {{ {name}(input: $input) {{ {selection} {USER_ERRORS} }} }}");
    let payload = mutate(server, session, &mutation, name, input).await;
    assert!(payload[result].is_null(), "{name} should have been refused: {payload:#}");
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("{payload:#}"))
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap_or_else(|| panic!("no id in {value:#}")).to_owned()
}

/// The values of `key` in a connection's nodes, e.g. every `name` of `grantedProducts`.
fn nodes(connection: &Value, key: &str) -> Vec<String> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection:#}"))
        .iter()
        .map(|e| e["node"][key].as_str().unwrap_or_else(|| panic!("no {key} in {e}")).to_owned())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn product(server: &TestServer, admin: &Session, fields: Value) -> Value {
    create(server, admin, "createProduct", "product", json!({ "product": fields }), "id sku name authorised active")
        .await
}

async fn authorise(server: &TestServer, admin: &Session, product_id: &str, authorised: bool) -> Value {
    create(
        server,
        admin,
        "setProductAuthorised",
        "product",
        json!({ "id": product_id, "authorised": authorised }),
        "id authorised",
    )
    .await
}

/// A new user of the account, signed in.
async fn user(server: &TestServer, admin: &Session, username: &str, role: &str, organisation: Option<&str>) -> Session {
    let password = format!("{username}-password");
    let input = json!({ "username": username, "password": password, "role": role, "organisationId": organisation });
    create(server, admin, "createUser", "user", input, "id").await;
    let token = server.login(&admin.account, username, &password).await;
    Session { token, account: admin.account.clone(), username: username.to_owned() }
}

#[tokio::test]
async fn organisations_carry_extra_fields_and_replace_their_grants() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let field = json!({ "entity": "ORGANISATION", "key": "cire_id", "label": "CIRE ID", "fieldType": "TEXT" });
    create(&server, &admin, "createExtraField", "extraField", field, "id").await;
    let fields = "id name extraFields { key value }";
    let org = create(
        &server,
        &admin,
        "createOrganisation",
        "organisation",
        json!({ "name": "Energiek BV", "extraFields": [{ "key": "cire_id", "value": " CIRE-4711 " }] }),
        fields,
    )
    .await;
    assert_eq!(org["extraFields"], json!([{ "key": "cire_id", "value": "CIRE-4711" }]));
    let org_id = id(&org);

    let read = "query($id: ID!) { organisation(id: $id) { name extraFields { key value } } }";
    let data = server.gql_ok(Some(&admin.token), read, json!({ "id": org_id })).await;
    assert_eq!(data["organisation"]["extraFields"], json!([{ "key": "cire_id", "value": "CIRE-4711" }]));
    let search = server
        .gql_ok(Some(&admin.token), "{ organisations(search: \"Energiek\") { edges { node { id } } } }", json!({}))
        .await;
    assert_eq!(nodes(&search["organisations"], "id"), vec![org_id.clone()]);

    // Changing the value, then clearing it with an empty one; the name stays.
    let update = |value: &str| json!({ "id": org_id, "extraFields": [{ "key": "cire_id", "value": value }] });
    let org = create(&server, &admin, "updateOrganisation", "organisation", update("CIRE-4712"), fields).await;
    assert_eq!(org["extraFields"], json!([{ "key": "cire_id", "value": "CIRE-4712" }]));
    let org = create(&server, &admin, "updateOrganisation", "organisation", update(""), fields).await;
    assert_eq!(org["extraFields"], json!([]));
    assert_eq!(org["name"], "Energiek BV");

    // Grants: two products and a flow, then replaced by exactly one product.
    let mut products = Vec::new();
    for sku in ["P-1", "P-2", "P-3"] {
        products.push(id(&product(&server, &admin, json!({ "sku": sku, "name": format!("Product {sku}") })).await));
    }
    let flow = id(&create(&server, &admin, "createFlow", "flow", json!({ "name": "Overstap" }), "id").await);
    create(&server, &admin, "createFlow", "flow", json!({ "name": "Niet toegekend" }), "id").await;
    let grants = "query($id: ID!) { organisation(id: $id) {
        grantedProducts { edges { node { sku } } } grantedFlows { edges { node { name } } } } }";
    let set_grants = |product_ids: Vec<&String>, flow_ids: Vec<&String>| json!({ "organisationId": org_id, "productIds": product_ids, "flowIds": flow_ids });
    let granted = "id grantedProducts { edges { node { sku } } } grantedFlows { edges { node { name } } }";
    let org = create(
        &server,
        &admin,
        "setOrganisationGrants",
        "organisation",
        set_grants(vec![&products[0], &products[1]], vec![&flow]),
        granted,
    )
    .await;
    assert_eq!(
        nodes(&org["grantedProducts"], "sku").iter().map(String::as_str).collect::<BTreeSet<_>>(),
        ["P-1", "P-2"].into()
    );
    assert_eq!(nodes(&org["grantedFlows"], "name"), vec!["Overstap"]);

    create(&server, &admin, "setOrganisationGrants", "organisation", set_grants(vec![&products[2]], vec![]), "id")
        .await;
    let data = server.gql_ok(Some(&admin.token), grants, json!({ "id": org_id })).await;
    assert_eq!(nodes(&data["organisation"]["grantedProducts"], "sku"), vec!["P-3"]);
    assert_eq!(nodes(&data["organisation"]["grantedFlows"], "name"), Vec::<String>::new());

    // Another organisation's grants are its own.
    let other = create(&server, &admin, "createOrganisation", "organisation", json!({ "name": "Zon BV" }), "id").await;
    let data = server.gql_ok(Some(&admin.token), grants, json!({ "id": id(&other) })).await;
    assert_eq!(nodes(&data["organisation"]["grantedProducts"], "sku"), Vec::<String>::new());
    let data = server.gql_ok(Some(&admin.token), grants, json!({ "id": org_id })).await;
    assert_eq!(nodes(&data["organisation"]["grantedProducts"], "sku"), vec!["P-3"]);
}

#[tokio::test]
async fn suppliers_are_completed_after_creation() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let fields = "id name contractant contactName email phone website logoUrl";
    let supplier =
        create(&server, &admin, "createSupplier", "supplier", json!({ "supplier": { "name": "Vattenfall" } }), fields)
            .await;
    assert_eq!(supplier["contractant"], false);
    assert!(supplier["contactName"].is_null() && supplier["logoUrl"].is_null(), "{supplier:#}");
    let supplier_id = id(&supplier);

    let completion = json!({ "id": supplier_id, "supplier": {
        "contractant": true, "contactName": "Jan de Vries", "email": "partners@vattenfall.nl", "phone": "020 123 4567",
        "website": "https://www.vattenfall.nl", "logoUrl": "https://cdn.vattenfall.nl/logo.png" } });
    let expected = json!({ "id": supplier_id, "name": "Vattenfall", "contractant": true, "contactName": "Jan de Vries",
        "email": "partners@vattenfall.nl", "phone": "020 123 4567", "website": "https://www.vattenfall.nl",
        "logoUrl": "https://cdn.vattenfall.nl/logo.png" });
    let supplier = create(&server, &admin, "updateSupplier", "supplier", completion, fields).await;
    assert_eq!(supplier, expected);
    let read = format!("query($id: ID!) {{ supplier(id: $id) {{ {fields} }} }}");
    let data = server.gql_ok(Some(&admin.token), &read, json!({ "id": supplier_id })).await;
    assert_eq!(data["supplier"], expected);

    // Fields left out keep their value; an empty string clears one.
    let supplier = create(
        &server,
        &admin,
        "updateSupplier",
        "supplier",
        json!({ "id": supplier_id, "supplier": { "contactName": "" } }),
        fields,
    )
    .await;
    assert!(supplier["contactName"].is_null(), "{supplier:#}");
    assert_eq!(supplier["logoUrl"], "https://cdn.vattenfall.nl/logo.png");
    assert_eq!(supplier["contractant"], true);

    let problems = refused(
        &server,
        &admin,
        "updateSupplier",
        "supplier",
        json!({ "id": supplier_id, "supplier": { "logoUrl": "ftp://example.com/logo.png" } }),
    )
    .await;
    assert_eq!(problems, vec![("supplier.logoUrl".to_owned(), "INVALID".to_owned())]);
    let search = server
        .gql_ok(Some(&admin.token), "{ suppliers(search: \"atten\") { edges { node { name } } } }", json!({}))
        .await;
    assert_eq!(nodes(&search["suppliers"], "name"), vec!["Vattenfall"]);
}

#[tokio::test]
async fn products_carry_tariffs_extra_fields_and_an_incentive() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let label = json!({ "entity": "PRODUCT", "key": "energy_label", "label": "Energielabel", "fieldType": "SELECT",
                        "options": ["A", "B", "C"] });
    create(&server, &admin, "createExtraField", "extraField", label, "id").await;
    let supplier =
        create(&server, &admin, "createSupplier", "supplier", json!({ "supplier": { "name": "Eneco" } }), "id").await;
    let tariffs = json!([
        { "code": "delivery", "label": "Leveringstarief", "amount": "0.23451", "unit": "EUR/kWh" },
        { "code": "fixed", "label": "Vaste leveringskosten", "amount": "6.95", "unit": "EUR/month" },
    ]);
    let fields = "id sku name description productType category incentive active authorised
        tariffs { code label amount unit } extraFields { key value } supplier { id name }";
    let product = create(
        &server,
        &admin,
        "createProduct",
        "product",
        json!({ "product": { "sku": "ENECO-VAST-3", "name": "Eneco Vast 3 jaar", "description": "Vaste prijs, 3 jaar",
                "productType": "SIMPLE", "category": "energie", "supplierId": id(&supplier), "tariffs": tariffs,
                "extraFields": [{ "key": "energy_label", "value": "A" }], "incentive": "€ 50 cadeaubon" } }),
        fields,
    )
    .await;
    assert_eq!(product["tariffs"], tariffs, "amounts keep every decimal");
    assert_eq!(product["extraFields"], json!([{ "key": "energy_label", "value": "A" }]));
    assert_eq!(product["incentive"], "€ 50 cadeaubon");
    assert_eq!(product["supplier"]["name"], "Eneco");
    assert_eq!(product["productType"], "SIMPLE");
    assert_eq!((product["active"].clone(), product["authorised"].clone()), (json!(true), json!(false)), "new products");

    let product_id = id(&product);
    assert_eq!(authorise(&server, &admin, &product_id, true).await["authorised"], true);
    let read = format!("query($id: ID!) {{ product(id: $id) {{ {fields} }} }}");
    let data = server.gql_ok(Some(&admin.token), &read, json!({ "id": product_id })).await;
    assert_eq!(data["product"]["authorised"], true);
    assert_eq!(data["product"]["tariffs"], tariffs);
    assert_eq!(authorise(&server, &admin, &product_id, false).await["authorised"], false);

    // An update changes only what it names; tariffs are replaced as a whole.
    let product = create(
        &server,
        &admin,
        "updateProduct",
        "product",
        json!({ "id": product_id, "product": { "incentive": "€ 75 cadeaubon", "tariffs": [tariffs[0]] } }),
        fields,
    )
    .await;
    assert_eq!(product["incentive"], "€ 75 cadeaubon");
    assert_eq!(product["tariffs"], json!([tariffs[0]]));
    assert_eq!(product["name"], "Eneco Vast 3 jaar");
    assert_eq!(product["extraFields"], json!([{ "key": "energy_label", "value": "A" }]));
    assert_eq!(product["supplier"]["name"], "Eneco");
}

#[tokio::test]
async fn products_filter_by_active_authorised_supplier_and_search() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let s1 =
        id(&create(&server, &admin, "createSupplier", "supplier", json!({ "supplier": { "name": "Eneco" } }), "id")
            .await);
    let s2 =
        id(&create(&server, &admin, "createSupplier", "supplier", json!({ "supplier": { "name": "Essent" } }), "id")
            .await);
    let p1 = id(&product(&server, &admin, json!({ "sku": "ENE-1", "name": "Groene stroom", "supplierId": s1 })).await);
    product(&server, &admin, json!({ "sku": "ENE-2", "name": "Gas vast", "supplierId": s1 })).await;
    let p3 = id(&product(
        &server,
        &admin,
        json!({ "sku": "ESS-1", "name": "Stroom variabel", "supplierId": s2, "active": false }),
    )
    .await);
    product(&server, &admin, json!({ "sku": "LOS-1", "name": "Zonnepanelen" })).await;
    authorise(&server, &admin, &p1, true).await;
    authorise(&server, &admin, &p3, true).await;

    let query = "query($filter: ProductFilter) { products(filter: $filter) { edges { node { sku } } } }";
    let cases = [
        (json!(null), set(&["ENE-1", "ENE-2", "ESS-1", "LOS-1"])),
        (json!({ "active": true }), set(&["ENE-1", "ENE-2", "LOS-1"])),
        (json!({ "active": false }), set(&["ESS-1"])),
        (json!({ "authorised": true }), set(&["ENE-1", "ESS-1"])),
        (json!({ "authorised": false }), set(&["ENE-2", "LOS-1"])),
        (json!({ "supplierId": s1 }), set(&["ENE-1", "ENE-2"])),
        (json!({ "supplierId": s2 }), set(&["ESS-1"])),
        (json!({ "search": "troom" }), set(&["ENE-1", "ESS-1"])),
        (json!({ "search": "ENE-" }), set(&["ENE-1", "ENE-2"])),
        (json!({ "search": "  " }), set(&["ENE-1", "ENE-2", "ESS-1", "LOS-1"])),
        (json!({ "search": "windmolen" }), set(&[])),
        (json!({ "active": true, "authorised": true }), set(&["ENE-1"])),
        (json!({ "supplierId": s1, "search": "vast" }), set(&["ENE-2"])),
    ];
    // Agents see the catalogue too.
    let agent = user(&server, &admin, "agent", "AGENT", None).await;
    for (filter, expected) in cases {
        for session in [&admin, &agent] {
            let data = server.gql_ok(Some(&session.token), query, json!({ "filter": filter })).await;
            let got: BTreeSet<String> = nodes(&data["products"], "sku").into_iter().collect();
            assert_eq!(got, expected, "filter {filter} as {}", session.username);
        }
    }
}

#[tokio::test]
async fn product_search_ignores_case() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    product(&server, &admin, json!({ "sku": "ENE-1", "name": "Groene Stroom" })).await;
    let query = "query($search: String) { products(filter: { search: $search }) { edges { node { sku } } } }";
    for search in ["Groene Stroom", "groene stroom", "STROOM", "ene-1"] {
        let data = server.gql_ok(Some(&admin.token), query, json!({ "search": search })).await;
        assert_eq!(nodes(&data["products"], "sku"), vec!["ENE-1"], "search {search:?}");
    }
}

#[tokio::test]
async fn flows_and_products_ask_their_questions() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let flow = create(
        &server,
        &admin,
        "createFlow",
        "flow",
        json!({ "name": "Energie overstap", "description": "Script voor overstappers" }),
        "id name description active",
    )
    .await;
    assert_eq!(flow["active"], true);
    let flow_id = id(&flow);
    let product_id = id(&product(&server, &admin, json!({ "sku": "E-1", "name": "Stroom" })).await);
    let question_fields =
        "id key questionType required position options { value label } conditions { questionKey equals }
        validations { minLength maxLength min max } flow { name } product { sku }";
    let payment = create(
        &server,
        &admin,
        "createQuestion",
        "question",
        json!({ "flowId": flow_id, "key": "payment_method", "label": "Betaalwijze", "questionType": "SELECT",
                "required": true, "options": [{ "value": "direct_debit", "label": "Automatische incasso" }] }),
        question_fields,
    )
    .await;
    assert_eq!(payment["flow"]["name"], "Energie overstap");
    assert!(payment["product"].is_null());
    assert_eq!(payment["options"], json!([{ "value": "direct_debit", "label": "Automatische incasso" }]));
    let iban = create(
        &server,
        &admin,
        "createQuestion",
        "question",
        json!({ "flowId": flow_id, "key": "iban", "label": "IBAN", "questionType": "TEXT", "position": 2,
                "validations": { "minLength": 15, "maxLength": 34 },
                "conditions": [{ "questionKey": "payment_method", "equals": "direct_debit" }] }),
        question_fields,
    )
    .await;
    assert_eq!(iban["validations"], json!({ "minLength": 15, "maxLength": 34, "min": null, "max": null }));
    assert_eq!(iban["conditions"], json!([{ "questionKey": "payment_method", "equals": "direct_debit" }]));
    let meter = create(
        &server,
        &admin,
        "createQuestion",
        "question",
        json!({ "productId": product_id, "key": "meter_number", "label": "Meternummer", "questionType": "TEXT" }),
        question_fields,
    )
    .await;
    assert_eq!(meter["product"]["sku"], "E-1");

    let read = "query($id: ID!) { flow(id: $id) { name questions { edges { node { key } } } } }";
    let data = server.gql_ok(Some(&admin.token), read, json!({ "id": flow_id })).await;
    assert_eq!(nodes(&data["flow"]["questions"], "key"), vec!["payment_method", "iban"]);
    let read = "query($id: ID!) { product(id: $id) { questions { edges { node { key } } } } }";
    let data = server.gql_ok(Some(&admin.token), read, json!({ "id": product_id })).await;
    assert_eq!(nodes(&data["product"]["questions"], "key"), vec!["meter_number"]);
    let by_flow = "query($id: ID) { questions(flowId: $id) { edges { node { key } } } }";
    let data = server.gql_ok(Some(&admin.token), by_flow, json!({ "id": flow_id })).await;
    assert_eq!(nodes(&data["questions"], "key"), vec!["payment_method", "iban"]);
    let data = server.gql_ok(Some(&admin.token), "{ flows { edges { node { name } } } }", json!({})).await;
    assert_eq!(nodes(&data["flows"], "name"), vec!["Energie overstap"]);

    // A sale through the flow must answer the flow's questions as well as the product's.
    authorise(&server, &admin, &product_id, true).await;
    let sale = "mutation($input: CreateSaleInput!) { createSale(input: $input) {
        sale { answers { questionKey value } flow { name } } userErrors { field code } } }";
    let input = json!({ "productId": product_id, "flowId": flow_id, "answers": [] });
    let payload = mutate(&server, &admin, sale, "createSale", input).await;
    assert_eq!(payload["userErrors"], json!([{ "field": "answers.payment_method", "code": "REQUIRED" }]));
    let input = json!({ "productId": product_id, "flowId": flow_id, "answers": [
        { "questionKey": "payment_method", "value": "direct_debit" },
        { "questionKey": "iban", "value": "NL91ABNA0417164300" },
        { "questionKey": "meter_number", "value": "E0012345" },
    ] });
    let payload = mutate(&server, &admin, sale, "createSale", input).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    assert_eq!(payload["sale"]["flow"]["name"], "Energie overstap");
    assert_eq!(payload["sale"]["answers"].as_array().map(Vec::len), Some(3));

    // Changing a question: its label and options; deleting it removes it from the flow.
    let update = "mutation($input: UpdateQuestionInput!) { updateQuestion(input: $input) {
        question { label options { value } } userErrors { field } } }";
    let input = json!({ "id": id(&payment), "label": "Hoe wilt u betalen?",
                        "options": [{ "value": "direct_debit", "label": "Incasso" }, { "value": "giro", "label": "Giro" }] });
    let payload = mutate(&server, &admin, update, "updateQuestion", input).await;
    assert_eq!(payload["question"]["label"], "Hoe wilt u betalen?");
    assert_eq!(payload["question"]["options"], json!([{ "value": "direct_debit" }, { "value": "giro" }]));
    let delete =
        "mutation($input: DeleteQuestionInput!) { deleteQuestion(input: $input) { deletedId userErrors { field } } }";
    let payload = mutate(&server, &admin, delete, "deleteQuestion", json!({ "id": id(&iban) })).await;
    assert_eq!(payload["deletedId"], iban["id"]);
    let read = "query($id: ID!) { flow(id: $id) { questions { edges { node { key } } } } }";
    let data = server.gql_ok(Some(&admin.token), read, json!({ "id": flow_id })).await;
    assert_eq!(nodes(&data["flow"]["questions"], "key"), vec!["payment_method"]);
}

#[tokio::test]
async fn customers_keep_their_contact_persons() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let agent = user(&server, &admin, "agent", "AGENT", None).await;
    let fields =
        "id kind displayName companyName kvkNumber email addresses { kind street houseNumber postcode city country }
        contactPersons { edges { node { id name email flags } } }";
    let address = json!({ "kind": "INVOICE", "street": "Dorpsstraat", "houseNumber": "12a", "postcode": "1234 AB",
                          "city": "Utrecht", "country": "NL" });
    // Agents add customers as they sell.
    let company = create(
        &server,
        &agent,
        "createCustomer",
        "customer",
        json!({ "customer": { "kind": "COMPANY", "companyName": "Bakkerij de Vries", "kvkNumber": "12345678",
                              "email": "info@bakkerijdevries.nl", "addresses": [address] },
                "contactPersons": [{ "name": "Anna de Vries", "email": "anna@bakkerijdevries.nl",
                                     "flags": ["PRIMARY", "INVOICE"] }] }),
        fields,
    )
    .await;
    assert_eq!(company["displayName"], "Bakkerij de Vries");
    assert_eq!(company["addresses"], json!([address]));
    assert_eq!(company["contactPersons"]["edges"][0]["node"]["flags"], json!(["PRIMARY", "INVOICE"]));
    let company_id = id(&company);
    let anna = company["contactPersons"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();

    let add = format!(
        "mutation($input: AddContactPersonInput!) {{ addContactPerson(input: $input) {{
        contactPerson {{ id name flags }} {USER_ERRORS} }} }}"
    );
    let input = json!({ "customerId": company_id,
                        "contactPerson": { "name": "Piet Bakker", "email": "piet@bakkerijdevries.nl", "flags": ["INQUIRY"] } });
    let payload = mutate(&server, &agent, &add, "addContactPerson", input).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    assert_eq!(payload["contactPerson"]["flags"], json!(["INQUIRY"]));
    let read = "query($id: ID!) { customer(id: $id) { contactPersons { edges { node { name } } } } }";
    let data = server.gql_ok(Some(&agent.token), read, json!({ "id": company_id })).await;
    assert_eq!(nodes(&data["customer"]["contactPersons"], "name"), vec!["Anna de Vries", "Piet Bakker"]);

    let remove = "mutation($input: RemoveContactPersonInput!) { removeContactPerson(input: $input) { deletedId userErrors { field } } }";
    let payload = mutate(&server, &agent, remove, "removeContactPerson", json!({ "id": anna })).await;
    assert_eq!(payload["deletedId"], json!(anna));
    let data = server.gql_ok(Some(&agent.token), read, json!({ "id": company_id })).await;
    assert_eq!(nodes(&data["customer"]["contactPersons"], "name"), vec!["Piet Bakker"]);

    let person = create(
        &server,
        &admin,
        "createCustomer",
        "customer",
        json!({ "customer": { "firstName": "Jan", "lastName": "Jansen", "email": "jan@example.nl" } }),
        fields,
    )
    .await;
    assert_eq!((person["kind"].clone(), person["displayName"].clone()), (json!("PERSON"), json!("Jan Jansen")));

    // Updating changes what it names and keeps the rest.
    let updated = create(
        &server,
        &agent,
        "updateCustomer",
        "customer",
        json!({ "id": company_id, "customer": { "email": "administratie@bakkerijdevries.nl" } }),
        fields,
    )
    .await;
    assert_eq!(updated["email"], "administratie@bakkerijdevries.nl");
    assert_eq!(updated["kvkNumber"], "12345678");
    assert_eq!(updated["addresses"], json!([address]));

    let search = "query($q: String) { customers(search: $q) { edges { node { displayName } } } }";
    for (q, expected) in [
        ("Bakkerij", vec!["Bakkerij de Vries"]),
        ("12345678", vec!["Bakkerij de Vries"]),
        ("Jansen", vec!["Jan Jansen"]),
    ] {
        let data = server.gql_ok(Some(&agent.token), search, json!({ "q": q })).await;
        assert_eq!(nodes(&data["customers"], "displayName"), expected, "search {q}");
    }
    let data = server.gql_ok(Some(&agent.token), "{ customers { edges { node { id } } } }", json!({})).await;
    assert_eq!(nodes(&data["customers"], "id").len(), 2);
}

const CREATE_SALE: &str = "mutation($input: CreateSaleInput!) { createSale(input: $input) {
  sale { id status { key } organisation { name } agent { username } product { sku } customer { displayName } }
  userErrors { field message code } } }";

async fn sale(server: &TestServer, session: &Session, input: Value) -> Value {
    let payload = mutate(server, session, CREATE_SALE, "createSale", input).await;
    assert_eq!(payload["userErrors"], json!([]), "createSale as {}: {payload:#}", session.username);
    payload["sale"].clone()
}

async fn status_ids(server: &TestServer, session: &Session) -> std::collections::HashMap<String, String> {
    let data = server.gql_ok(Some(&session.token), "{ statuses { edges { node { id key } } } }", json!({})).await;
    data["statuses"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["node"]["key"].as_str().unwrap().to_owned(), e["node"]["id"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn custom_statuses_can_be_renamed_and_deleted_system_ones_not() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let data = server
        .gql_ok(Some(&admin.token), "{ statuses { edges { node { key name system position } } } }", json!({}))
        .await;
    let system: Vec<_> = data["statuses"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect();
    assert_eq!(system.len(), 5);
    assert!(system.iter().all(|s| s["system"] == true), "{system:?}");
    assert_eq!(system[0]["key"], "new");

    let fields = "id key name system position";
    let waiting = create(
        &server,
        &admin,
        "createStatus",
        "status",
        json!({ "key": "waiting_for_documents", "name": "Wacht op documenten" }),
        fields,
    )
    .await;
    assert_eq!(waiting["system"], false);
    assert_eq!(waiting["position"], 5, "a new status goes to the end");
    let renamed = create(
        &server,
        &admin,
        "updateStatus",
        "status",
        json!({ "id": id(&waiting), "name": "Documenten gevraagd" }),
        fields,
    )
    .await;
    assert_eq!(renamed["name"], "Documenten gevraagd");
    assert_eq!(renamed["key"], "waiting_for_documents", "the key stays");
    let problems = refused(&server, &admin, "createStatus", "status", json!({ "key": "new", "name": "Nieuw" })).await;
    assert_eq!(problems, vec![("key".to_owned(), "TAKEN".to_owned())]);

    // System statuses cannot be renamed or deleted.
    let ids = status_ids(&server, &admin).await;
    let problems =
        refused(&server, &admin, "updateStatus", "status", json!({ "id": ids["new"], "name": "Nieuw" })).await;
    assert_eq!(problems, vec![("id".to_owned(), "INVALID".to_owned())]);
    let problems = refused(&server, &admin, "deleteStatus", "deletedId", json!({ "id": ids["cancelled"] })).await;
    assert_eq!(problems, vec![("id".to_owned(), "INVALID".to_owned())]);
    let data = server.gql_ok(Some(&admin.token), "{ statuses { edges { node { key name } } } }", json!({})).await;
    let names: Vec<_> = nodes(&data["statuses"], "name");
    assert_eq!(names[..5], ["New", "Sent", "Processed", "Rejected", "Cancelled"]);

    // A status in use cannot be deleted; once no sale has it any more, it can.
    let product_id = id(&product(&server, &admin, json!({ "sku": "E-1", "name": "Stroom" })).await);
    authorise(&server, &admin, &product_id, true).await;
    let sale_id = id(&sale(&server, &admin, json!({ "productId": product_id })).await);
    let change = format!(
        "mutation($input: ChangeSaleStatusInput!) {{ changeSaleStatus(input: $input) {{
        sale {{ status {{ key }} }} {USER_ERRORS} }} }}"
    );
    let payload =
        mutate(&server, &admin, &change, "changeSaleStatus", json!({ "id": sale_id, "statusId": id(&waiting) })).await;
    assert_eq!(payload["sale"]["status"]["key"], "waiting_for_documents", "{payload:#}");
    let problems = refused(&server, &admin, "deleteStatus", "deletedId", json!({ "id": id(&waiting) })).await;
    assert_eq!(problems, vec![("id".to_owned(), "INVALID".to_owned())]);
    assert!(status_ids(&server, &admin).await.contains_key("waiting_for_documents"));

    mutate(&server, &admin, &change, "changeSaleStatus", json!({ "id": sale_id, "statusId": ids["processed"] })).await;
    let delete =
        "mutation($input: DeleteStatusInput!) { deleteStatus(input: $input) { deletedId userErrors { field } } }";
    let payload = mutate(&server, &admin, delete, "deleteStatus", json!({ "id": id(&waiting) })).await;
    assert_eq!(payload["deletedId"], waiting["id"], "{payload:#}");
    assert!(!status_ids(&server, &admin).await.contains_key("waiting_for_documents"));
}

#[tokio::test]
async fn agents_sell_and_move_sales_through_statuses() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let org =
        id(&create(&server, &admin, "createOrganisation", "organisation", json!({ "name": "Belteam Noord" }), "id")
            .await);
    let agent = user(&server, &admin, "anna", "AGENT", Some(&org)).await;
    let supplier =
        id(&create(&server, &admin, "createSupplier", "supplier", json!({ "supplier": { "name": "Eneco" } }), "id")
            .await);
    let product_id =
        id(&product(&server, &admin, json!({ "sku": "E-1", "name": "Stroom", "supplierId": supplier })).await);
    authorise(&server, &admin, &product_id, true).await;
    let customer = create(
        &server,
        &agent,
        "createCustomer",
        "customer",
        json!({ "customer": { "firstName": "Jan", "lastName": "Jansen" } }),
        "id",
    )
    .await;

    let created = sale(
        &server,
        &agent,
        json!({ "productId": product_id, "customerId": id(&customer),
                "optIn": { "consent": true, "channel": "phone" } }),
    )
    .await;
    assert_eq!(created["status"]["key"], "new");
    assert_eq!(created["organisation"]["name"], "Belteam Noord", "the agent's organisation by default");
    assert_eq!(created["agent"]["username"], "anna");
    assert_eq!(created["customer"]["displayName"], "Jan Jansen");
    let sale_id = id(&created);

    let read = "query($id: ID!) { sale(id: $id) { createdAt statusChangedAt optIn { consent channel recordedAt } status { key } } }";
    let before = server.gql_ok(Some(&agent.token), read, json!({ "id": sale_id })).await;
    assert_eq!(before["sale"]["optIn"]["consent"], true);
    assert_eq!(before["sale"]["optIn"]["channel"], "phone");
    assert!(before["sale"]["optIn"]["recordedAt"].is_string(), "the consent's time is recorded: {before:#}");

    let ids = status_ids(&server, &agent).await;
    let change = format!(
        "mutation($input: ChangeSaleStatusInput!) {{ changeSaleStatus(input: $input) {{
        sale {{ id status {{ key }} statusChangedAt }} {USER_ERRORS} }} }}"
    );
    let payload =
        mutate(&server, &agent, &change, "changeSaleStatus", json!({ "id": sale_id, "statusId": ids["sent"] })).await;
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["sale"]["status"]["key"], "sent");
    let changed_at = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert!(changed_at(&payload["sale"]["statusChangedAt"]) >= changed_at(&before["sale"]["statusChangedAt"]));
    let payload =
        mutate(&server, &admin, &change, "changeSaleStatus", json!({ "id": sale_id, "statusId": ids["processed"] }))
            .await;
    assert_eq!(payload["sale"]["status"]["key"], "processed");
    let after = server.gql_ok(Some(&agent.token), read, json!({ "id": sale_id })).await;
    assert_eq!(after["sale"]["status"]["key"], "processed");
    assert_eq!(after["sale"]["createdAt"], before["sale"]["createdAt"]);

    let problems = refused(
        &server,
        &agent,
        "changeSaleStatus",
        "sale",
        json!({ "id": sale_id, "statusId": uuid::Uuid::now_v7().to_string() }),
    )
    .await;
    assert_eq!(problems, vec![("statusId".to_owned(), "NOT_FOUND".to_owned())]);

    // The sales list filters by status.
    let by_status = "query($s: ID) { sales(filter: { statusId: $s }) { edges { node { id } } } }";
    let data = server.gql_ok(Some(&admin.token), by_status, json!({ "s": ids["processed"] })).await;
    assert_eq!(nodes(&data["sales"], "id"), vec![sale_id.clone()]);
    let data = server.gql_ok(Some(&admin.token), by_status, json!({ "s": ids["new"] })).await;
    assert_eq!(nodes(&data["sales"], "id"), Vec::<String>::new());
}

#[tokio::test]
async fn agents_see_their_own_sales_admins_see_all() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let anna = user(&server, &admin, "anna", "AGENT", None).await;
    let bram = user(&server, &admin, "bram", "AGENT", None).await;
    let product_id = id(&product(&server, &admin, json!({ "sku": "E-1", "name": "Stroom" })).await);
    authorise(&server, &admin, &product_id, true).await;
    let mut by = std::collections::HashMap::<&str, Vec<String>>::new();
    for session in [&anna, &anna, &bram, &admin] {
        let created = sale(&server, session, json!({ "productId": product_id })).await;
        by.entry(session.username.as_str()).or_default().push(id(&created));
    }
    let list = "{ sales { edges { node { id agent { username } } } } }";
    for (session, expected) in [(&anna, by["anna"].clone()), (&bram, by["bram"].clone())] {
        let data = server.gql_ok(Some(&session.token), list, json!({})).await;
        assert_eq!(nodes(&data["sales"], "id"), expected, "{} sees only their own sales", session.username);
    }
    let data = server.gql_ok(Some(&admin.token), list, json!({})).await;
    let all: Vec<String> = [&by["anna"], &by["bram"], &by["admin"]].into_iter().flatten().cloned().collect();
    assert_eq!(nodes(&data["sales"], "id"), all, "the admin sees every sale, oldest first");

    // Someone else's sale is not found, neither to read nor to change.
    let read = "query($id: ID!) { sale(id: $id) { id } }";
    let response = server.gql(Some(&anna.token), read, json!({ "id": by["bram"][0] })).await;
    assert_eq!(TestServer::error_code(&response).as_deref(), Some("NOT_FOUND"), "{response:#}");
    let ids = status_ids(&server, &anna).await;
    let change = "mutation($input: ChangeSaleStatusInput!) { changeSaleStatus(input: $input) { sale { id } userErrors { field } } }";
    let response = server
        .gql(Some(&anna.token), change, json!({ "input": { "id": by["bram"][0], "statusId": ids["cancelled"] } }))
        .await;
    assert_eq!(TestServer::error_code(&response).as_deref(), Some("NOT_FOUND"), "{response:#}");
    let data = server
        .gql_ok(
            Some(&bram.token),
            "query($id: ID!) { sale(id: $id) { status { key } } }",
            json!({ "id": by["bram"][0] }),
        )
        .await;
    assert_eq!(data["sale"]["status"]["key"], "new", "the refused change changed nothing");
    server.gql_ok(Some(&admin.token), read, json!({ "id": by["bram"][0] })).await;
}

const SALES_PAGE: &str = "query($first: Int) { sales(first: $first) { edges { node {
  product { name supplier { name } } customer { displayName } status { key } agent { username } } } } }";

#[tokio::test]
async fn nested_sale_lookups_are_batched() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let agents =
        [user(&server, &admin, "anna", "AGENT", None).await, user(&server, &admin, "bram", "AGENT", None).await];
    // 50 sales, each of its own product, supplier and customer, by two agents.
    for i in 0..50 {
        let supplier = create(
            &server,
            &admin,
            "createSupplier",
            "supplier",
            json!({ "supplier": { "name": format!("Supplier {i}") } }),
            "id",
        )
        .await;
        let product_id = id(&product(
            &server,
            &admin,
            json!({ "sku": format!("SKU-{i}"), "name": format!("Product {i}"), "supplierId": id(&supplier) }),
        )
        .await);
        authorise(&server, &admin, &product_id, true).await;
        let agent = &agents[i % 2];
        let customer = create(
            &server,
            agent,
            "createCustomer",
            "customer",
            json!({ "customer": { "firstName": "Klant", "lastName": format!("{i}") } }),
            "id",
        )
        .await;
        sale(&server, agent, json!({ "productId": product_id, "customerId": id(&customer) })).await;
    }

    // Each size is measured three times and the fewest statements count: a DataLoader collects keys
    // for 1 ms, and on a busy machine resolving 50 rows can now and then outlast that window and
    // split one batch in two. A missing loader (N+1) shows in every run, so the minimum still fails.
    let mut counts = Vec::new();
    for first in [1_usize, 10, 50] {
        let mut runs = Vec::new();
        for _ in 0..3 {
            let before = server.metrics_statements().await;
            let data = server.gql_ok(Some(&admin.token), SALES_PAGE, json!({ "first": first })).await;
            runs.push(server.metrics_statements().await - before);
            let edges = data["sales"]["edges"].as_array().unwrap();
            assert_eq!(edges.len(), first);
            for (i, edge) in edges.iter().enumerate() {
                let node = &edge["node"];
                assert_eq!(node["product"]["name"], format!("Product {i}"));
                assert_eq!(node["product"]["supplier"]["name"], format!("Supplier {i}"));
                assert_eq!(node["customer"]["displayName"], format!("Klant {i}"));
                assert_eq!(node["status"]["key"], "new");
                assert_eq!(node["agent"]["username"], ["anna", "bram"][i % 2]);
            }
        }
        counts.push((first, runs.iter().copied().min().unwrap(), runs));
    }
    let ten = counts[1].1;
    assert!(counts.iter().all(|(_, n, _)| *n == ten), "statements must not grow with the page size: {counts:?}");
    // The lowest of each: a busy machine can split a DataLoader batch, which the bound must not punish.
    assert!(
        counts.iter().all(|(_, n, _)| *n <= 12),
        "a page of sales with its products, suppliers, customers, statuses and agents: {counts:?}"
    );
}

/// The three levels a frontend reads most: products, their parent, and each one's supplier.
const PRODUCT_PAGE: &str = "query($first: Int) { products(first: $first) { nodes {
  sku supplier { name } parent { sku supplier { name } } } } }";

const SUPPLIER_PAGE: &str = "query($first: Int, $per: Int) { suppliers(first: $first) { nodes {
  name products(first: $per) { nodes { sku supplier { name } parent { sku } } pageInfo { hasNextPage } } } } }";

#[tokio::test]
async fn suppliers_list_their_products_and_nested_pages_cost_a_constant_number_of_statements() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    // Supplier i has i products; each product after a supplier's first is a variant of that first one.
    let mut suppliers = Vec::new();
    for i in 0..12 {
        let name = format!("Supplier {i:02}");
        let supplier =
            id(&create(&server, &admin, "createSupplier", "supplier", json!({ "supplier": { "name": name } }), "id")
                .await);
        let mut first = None;
        for k in 0..i {
            let fields = json!({ "sku": format!("S{i:02}-{k}"), "name": format!("Product {i}/{k}"),
                                 "supplierId": supplier, "parentId": first });
            let made = id(&product(&server, &admin, fields).await);
            first.get_or_insert(made);
        }
        suppliers.push(supplier);
    }
    // Another account's supplier and products stay out of every list.
    let other = server.admin("other").await;
    let theirs =
        id(&create(&server, &other, "createSupplier", "supplier", json!({ "supplier": { "name": "Theirs" } }), "id")
            .await);
    product(&server, &other, json!({ "sku": "T-1", "name": "Theirs", "supplierId": theirs })).await;

    let data = server.gql_ok(Some(&admin.token), SUPPLIER_PAGE, json!({ "first": 12, "per": 3 })).await;
    let listed = data["suppliers"]["nodes"].as_array().unwrap();
    assert_eq!(listed.len(), 12);
    for (i, supplier) in listed.iter().enumerate() {
        assert_eq!(supplier["name"], format!("Supplier {i:02}"));
        let products = supplier["products"]["nodes"].as_array().unwrap();
        let skus: Vec<&str> = products.iter().map(|p| p["sku"].as_str().unwrap()).collect();
        let expected: Vec<String> = (0..i.min(3)).map(|k| format!("S{i:02}-{k}")).collect();
        assert_eq!(skus, expected, "supplier {i}");
        assert_eq!(supplier["products"]["pageInfo"]["hasNextPage"], i > 3, "supplier {i}");
        for (k, product) in products.iter().enumerate() {
            assert_eq!(product["supplier"]["name"], format!("Supplier {i:02}"));
            let parent = if k == 0 { Value::Null } else { json!({ "sku": format!("S{i:02}-0") }) };
            assert_eq!(product["parent"], parent);
        }
    }
    // The next page of one supplier's products.
    let page = "query($id: ID!, $after: String) { supplier(id: $id) { products(first: 4, after: $after) {
        nodes { sku } edges { cursor } pageInfo { hasNextPage } } } }";
    let data = server.gql_ok(Some(&admin.token), page, json!({ "id": suppliers[11] })).await;
    let cursor = data["supplier"]["products"]["edges"][3]["cursor"].clone();
    let data = server.gql_ok(Some(&admin.token), page, json!({ "id": suppliers[11], "after": cursor })).await;
    let skus: Vec<&str> =
        data["supplier"]["products"]["nodes"].as_array().unwrap().iter().map(|p| p["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["S11-4", "S11-5", "S11-6", "S11-7"]);

    // Statements do not grow with the page, at any level, and nobody waits for a batch window.
    let mut counts = Vec::new();
    for (query, variables) in [
        (PRODUCT_PAGE, json!({ "first": 3 })),
        (PRODUCT_PAGE, json!({ "first": 50 })),
        (SUPPLIER_PAGE, json!({ "first": 3, "per": 2 })),
        (SUPPLIER_PAGE, json!({ "first": 12, "per": 10 })),
    ] {
        let before = server.metrics_statements().await;
        server.gql_ok(Some(&admin.token), query, variables.clone()).await;
        counts.push(server.metrics_statements().await - before);
    }
    // Products with their suppliers, parents and the parents' suppliers: one statement of joins.
    // Suppliers, then their products with those products' suppliers and parents joined: two. The caller's
    // token was checked a request ago, and is not read again.
    assert_eq!(counts, [1, 1, 2, 2], "statements per request: {counts:?}");
}

#[tokio::test]
async fn a_parent_read_with_the_list_still_shows_what_the_list_did_not_read() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let tariffs = json!([{ "code": "normal", "label": "Normaal", "amount": "0.23451", "unit": "EUR/kWh" }]);
    let parent = id(&product(
        &server,
        &admin,
        json!({ "sku": "P", "name": "Parent", "productType": "CONFIGURABLE", "tariffs": tariffs }),
    )
    .await);
    product(&server, &admin, json!({ "sku": "V", "name": "Variant", "productType": "VARIANT", "parentId": parent }))
        .await;
    // The parent is joined into the list's statement without its JSON columns; its tariffs are read after.
    let data = server
        .gql_ok(
            Some(&admin.token),
            "{ products(first: 5) { nodes { sku tariffs { code } parent { sku tariffs { code amount } parent { sku } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["products"]["nodes"],
        json!([
            { "sku": "P", "tariffs": [{ "code": "normal" }], "parent": null },
            { "sku": "V", "tariffs": [], "parent": { "sku": "P", "tariffs": [{ "code": "normal", "amount": "0.23451" }], "parent": null } },
        ])
    );
}

/// The fields of a GraphQL object type, each as a selection: the name, or `name { __typename }` for one
/// whose type is an object (whose value comes from other rows; what counts here is whether it is there).
async fn selections_of(server: &TestServer, session: &Session, type_name: &str) -> Vec<(String, String)> {
    let query = "query($name: String!) { __type(name: $name) { fields {
        name type { kind ofType { kind ofType { kind ofType { kind } } } } } } }";
    let data = server.gql_ok(Some(&session.token), query, json!({ "name": type_name })).await;
    let fields = data["__type"]["fields"].as_array().unwrap_or_else(|| panic!("no type {type_name}: {data}"));
    fields
        .iter()
        .map(|field| {
            let name = field["name"].as_str().unwrap().to_owned();
            let mut kind = &field["type"];
            while matches!(kind["kind"].as_str(), Some("NON_NULL" | "LIST")) {
                kind = &kind["ofType"];
            }
            let leaf = matches!(kind["kind"].as_str(), Some("SCALAR" | "ENUM"));
            let selection = if leaf { name.clone() } else { format!("{name} {{ __typename }}") };
            (name, selection)
        })
        .collect()
}

/// The product list reads only the columns its query shows; every field of `Product` and of `Supplier`
/// (as the schema lists them, so a field added later is checked too) read through the list, its join of
/// the parent and of the suppliers, alone, in a fragment and through `Supplier.products`, shows what a
/// read of the whole row shows.
#[tokio::test]
async fn every_field_read_through_the_list_shows_what_the_whole_row_shows() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let label = json!({ "entity": "PRODUCT", "key": "energy_label", "label": "Energielabel", "fieldType": "TEXT" });
    create(&server, &admin, "createExtraField", "extraField", label, "id").await;
    // No field holds its type's empty value (a column left out reads as that).
    let supplier = id(&create(
        &server,
        &admin,
        "createSupplier",
        "supplier",
        json!({ "supplier": { "name": "Eneco", "contractant": true, "contactName": "Els", "email": "els@eneco.nl",
                              "phone": "+31 10 123 4567", "website": "https://eneco.nl",
                              "logoUrl": "https://eneco.nl/logo.png" } }),
        "id",
    )
    .await);
    let file = crate::common::upload::FilePart {
        variable: "variables.input.file",
        name: "logo.png",
        content_type: "image/png",
        bytes: crate::files::PNG,
    };
    let logo = "mutation($input: SetSupplierLogoInput!) { setSupplierLogo(input: $input) { userErrors { message } } }";
    let (status, body) = server
        .upload(Some(&admin.token), logo, json!({ "input": { "supplierId": supplier, "file": null } }), &[file])
        .await;
    assert_eq!((status.as_u16(), &body["data"]["setSupplierLogo"]["userErrors"]), (200, &json!([])), "{body:#}");
    let tariffs = json!([{ "code": "delivery", "label": "Levering", "amount": "0.23451", "unit": "EUR/kWh" }]);
    let mut parent = None;
    for (sku, product_type) in [("ENECO-3", "CONFIGURABLE"), ("ENECO-3-GROEN", "VARIANT")] {
        let fields = json!({ "sku": sku, "name": format!("Eneco {sku}"), "description": "Vast, 3 jaar",
            "productType": product_type, "category": "energie", "supplierId": supplier, "tariffs": tariffs,
            "extraFields": [{ "key": "energy_label", "value": "A" }], "incentive": "€ 50", "parentId": parent });
        let made = id(&product(&server, &admin, fields).await);
        authorise(&server, &admin, &made, true).await;
        parent.get_or_insert(made);
    }

    let check = |list: Value, whole: Value, what: String| {
        assert_eq!(list, whole, "{what}: through the list, and as a whole row");
        assert!(!list.is_null(), "{what} is null: the data does not test it");
    };
    for (name, selection) in selections_of(&server, &admin, "Product").await {
        let direct = format!("{{ products(first: 10) {{ nodes {{ id {selection} parent {{ id {selection} }} }} }} }}");
        let fragment = format!(
            "{{ products(first: 10) {{ edges {{ node {{ ...P parent {{ ...P }} }} }} }} }} fragment P on Product {{ id {selection} }}"
        );
        let of_supplier = format!(
            "{{ suppliers(first: 1) {{ nodes {{ products(first: 10) {{ nodes {{ id {selection} parent {{ id {selection} }} }} }} }} }} }}"
        );
        for (how, query) in [("alone", direct), ("in a fragment", fragment), ("through Supplier.products", of_supplier)]
        {
            let data = server.gql_ok(Some(&admin.token), &query, json!({})).await;
            let products = match data["suppliers"]["nodes"].as_array() {
                Some(suppliers) => suppliers[0]["products"].clone(),
                None => data["products"].clone(),
            };
            let nodes: Vec<Value> = match products["nodes"].as_array() {
                Some(nodes) => nodes.clone(),
                None => products["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect(),
            };
            assert_eq!(nodes.len(), 2);
            for read in nodes.iter().chain(nodes.iter().filter_map(|n| n["parent"].as_object().map(|_| &n["parent"]))) {
                let whole = server
                    .gql_ok(
                        Some(&admin.token),
                        &format!("query($id: ID!) {{ product(id: $id) {{ {selection} }} }}"),
                        json!({ "id": read["id"] }),
                    )
                    .await;
                if name != "parent" {
                    check(read[&name].clone(), whole["product"][&name].clone(), format!("Product.{name} {how}"));
                } else {
                    assert_eq!(
                        read[&name]["__typename"], whole["product"][&name]["__typename"],
                        "Product.parent {how}"
                    );
                }
            }
        }
    }
    for (name, selection) in selections_of(&server, &admin, "Supplier").await {
        let query = format!(
            "{{ products(first: 10) {{ nodes {{ supplier {{ {selection} }} parent {{ supplier {{ {selection} }} }} }} }} }}"
        );
        let data = server.gql_ok(Some(&admin.token), &query, json!({})).await;
        let whole = server
            .gql_ok(
                Some(&admin.token),
                &format!("query($id: ID!) {{ supplier(id: $id) {{ {selection} }} }}"),
                json!({ "id": supplier }),
            )
            .await;
        let nodes = data["products"]["nodes"].as_array().unwrap();
        let reads = nodes
            .iter()
            .map(|n| &n["supplier"])
            .chain(nodes.iter().filter_map(|n| n["parent"]["supplier"].as_object().map(|_| &n["parent"]["supplier"])));
        assert_eq!(reads.clone().count(), 3, "two products with their supplier, one parent with its: {data}");
        for read in reads {
            check(read[&name].clone(), whole["supplier"][&name].clone(), format!("Supplier.{name}"));
        }
    }
}

#[tokio::test]
async fn a_suppliers_products_through_the_provider_surface_are_only_the_granted_ones() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let supplier = id(&create(
        &server,
        &admin,
        "createSupplier",
        "supplier",
        json!({ "supplier": { "name": "Vattenfall" } }),
        "id",
    )
    .await);
    let mut products = Vec::new();
    for sku in ["V-1", "V-2", "V-3"] {
        let made = id(&product(&server, &admin, json!({ "sku": sku, "name": sku, "supplierId": supplier })).await);
        authorise(&server, &admin, &made, true).await;
        products.push(made);
    }
    let org =
        id(&create(&server, &admin, "createOrganisation", "organisation", json!({ "name": "Partner" }), "id").await);
    let grants = json!({ "organisationId": org, "productIds": [products[0], products[2]], "flowIds": [] });
    create(&server, &admin, "setOrganisationGrants", "organisation", grants, "id").await;
    let partner = user(&server, &admin, "partner", "INTEGRATION", Some(&org)).await;
    let data = server
        .gql_ok(
            Some(&partner.token),
            "{ providerProducts(first: 10) { nodes { sku supplier { name products(first: 10) { nodes { sku } } } } } }",
            json!({}),
        )
        .await;
    let listed = data["providerProducts"]["nodes"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for product in listed {
        let skus: Vec<&str> = product["supplier"]["products"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["sku"].as_str().unwrap())
            .collect();
        assert_eq!(skus, ["V-1", "V-3"], "only what the organisation was granted");
    }
}

#[tokio::test]
async fn configurable_products_have_variants_and_textarea_fields_take_long_text() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let field = "mutation($i: CreateExtraFieldInput!) { createExtraField(input: $i) { extraField { key fieldType } userErrors { field code } } }";
    let long_text = "Voorwaarden. ".repeat(300);
    let created = server
        .gql_ok(
            Some(&admin.token),
            field,
            json!({"i": {"entity": "PRODUCT", "key": "conditions", "label": "Voorwaarden", "fieldType": "TEXTAREA"}}),
        )
        .await;
    assert_eq!(created["createExtraField"]["extraField"]["fieldType"], "TEXTAREA");
    let create = "mutation($p: ProductFields!) { createProduct(input: {product: $p}) { product { id sku productType parent { sku } extraFields { key value } } userErrors { field code } } }";
    let parent = server
        .gql_ok(
            Some(&admin.token),
            create,
            json!({"p": {"sku": "BUNDLE", "name": "Energie bundel", "productType": "CONFIGURABLE"}}),
        )
        .await["createProduct"]["product"]
        .clone();
    assert_eq!(parent["productType"], "CONFIGURABLE");
    let variant = server
        .gql_ok(
            Some(&admin.token),
            create,
            json!({"p": {"sku": "BUNDLE-3Y", "name": "Energie bundel 3 jaar", "productType": "VARIANT", "parentId": parent["id"],
                         "extraFields": [{"key": "conditions", "value": long_text}]}}),
        )
        .await["createProduct"]
        .clone();
    assert_eq!(variant["userErrors"], json!([]), "{variant:#}");
    assert_eq!(variant["product"]["parent"]["sku"], "BUNDLE");
    assert_eq!(variant["product"]["extraFields"][0]["value"].as_str().unwrap().len(), long_text.trim().len());
    let virtual_product = server
        .gql_ok(
            Some(&admin.token),
            create,
            json!({"p": {"sku": "SERVICE", "name": "Overstapservice", "productType": "VIRTUAL"}}),
        )
        .await;
    assert_eq!(virtual_product["createProduct"]["product"]["productType"], "VIRTUAL");
    // A text field refuses what a textarea takes; a product cannot be its own parent.
    server
        .gql_ok(
            Some(&admin.token),
            field,
            json!({"i": {"entity": "PRODUCT", "key": "short", "label": "Kort", "fieldType": "TEXT"}}),
        )
        .await;
    let update = "mutation($id: ID!, $p: ProductFields!) { updateProduct(input: {id: $id, product: $p}) { product { id } userErrors { field code } } }";
    let too_long = server
        .gql_ok(
            Some(&admin.token),
            update,
            json!({"id": parent["id"], "p": {"extraFields": [{"key": "short", "value": long_text}]}}),
        )
        .await;
    assert_eq!(
        too_long["updateProduct"]["userErrors"],
        json!([{"field": "product.extraFields.0.value", "code": "TOO_LONG"}])
    );
    let own_parent =
        server.gql_ok(Some(&admin.token), update, json!({"id": parent["id"], "p": {"parentId": parent["id"]}})).await;
    assert_eq!(own_parent["updateProduct"]["userErrors"], json!([{"field": "product.parentId", "code": "INVALID"}]));
}
