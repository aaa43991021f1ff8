//! Every tenant sees only its own data: another account's ids behave as if they did not exist, for
//! every query and mutation, and nothing of the other account changes.

use crate::common::{Session, TestServer};
use serde_json::{Value, json};

/// The ids of one of everything in an account.
struct Records {
    user: Value,
    token: Value,
    token_secret: String,
    organisation: Value,
    extra_field: Value,
    status: Value,
    supplier: Value,
    product: Value,
    flow: Value,
    question: Value,
    customer: Value,
    contact_person: Value,
    sale: Value,
}

async fn data(server: &TestServer, session: &Session, query: &str, variables: Value) -> Value {
    server.gql_ok(Some(&session.token), query, variables).await
}

/// Creates one record of every type in `session`'s account.
async fn populate(server: &TestServer, s: &Session) -> Records {
    let organisation = data(
        server,
        s,
        "mutation { createOrganisation(input: {name: \"Partner\"}) { organisation { id } } }",
        json!({}),
    )
    .await["createOrganisation"]["organisation"]["id"]
        .clone();
    let user = data(
        server,
        s,
        "mutation($org: ID) { createUser(input: {username: \"koppeling\", role: AGENT, organisationId: $org}) { user { id } } }",
        json!({"org": organisation}),
    )
    .await["createUser"]["user"]["id"]
        .clone();
    let created = data(
        server,
        s,
        "mutation($u: ID!) { createApiToken(input: {userId: $u, name: \"t\", integrationOnly: false}) { created { secret apiToken { id } } } }",
        json!({"u": user}),
    )
    .await;
    let token = created["createApiToken"]["created"]["apiToken"]["id"].clone();
    let token_secret = created["createApiToken"]["created"]["secret"].as_str().unwrap().to_owned();
    let extra_field = data(
        server,
        s,
        "mutation { createExtraField(input: {entity: PRODUCT, key: \"origin\", label: \"Origin\", fieldType: SELECT, options: [\"grey\", \"green\"]}) { extraField { id } } }",
        json!({}),
    )
    .await["createExtraField"]["extraField"]["id"]
        .clone();
    let status = data(
        server,
        s,
        "mutation { createStatus(input: {key: \"callback\", name: \"Call back\"}) { status { id } } }",
        json!({}),
    )
    .await["createStatus"]["status"]["id"]
        .clone();
    let supplier = data(
        server,
        s,
        "mutation { createSupplier(input: {supplier: {name: \"Energie BV\"}}) { supplier { id } } }",
        json!({}),
    )
    .await["createSupplier"]["supplier"]["id"]
        .clone();
    let product = data(
        server,
        s,
        "mutation($s: ID) { createProduct(input: {product: {sku: \"E-1\", name: \"Groene stroom\", supplierId: $s}}) { product { id } } }",
        json!({"s": supplier}),
    )
    .await["createProduct"]["product"]["id"]
        .clone();
    data(
        server,
        s,
        "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: true}) { product { id } } }",
        json!({"id": product}),
    )
    .await;
    let flow = data(server, s, "mutation { createFlow(input: {name: \"Energie\"}) { flow { id } } }", json!({})).await
        ["createFlow"]["flow"]["id"]
        .clone();
    let question = data(
        server,
        s,
        "mutation($f: ID) { createQuestion(input: {flowId: $f, key: \"current_supplier\", label: \"Huidige leverancier\", questionType: TEXT}) { question { id } } }",
        json!({"f": flow}),
    )
    .await["createQuestion"]["question"]["id"]
        .clone();
    let customer = data(
        server,
        s,
        "mutation { createCustomer(input: {customer: {kind: PERSON, lastName: \"Jansen\"}, contactPersons: [{name: \"Piet\"}]}) { customer { id contactPersons { edges { node { id } } } } } }",
        json!({}),
    )
    .await["createCustomer"]["customer"]
        .clone();
    data(
        server,
        s,
        "mutation($o: ID!, $p: ID!, $f: ID!) { setOrganisationGrants(input: {organisationId: $o, productIds: [$p], flowIds: [$f]}) { organisation { id } } }",
        json!({"o": organisation, "p": product, "f": flow}),
    )
    .await;
    let sale = data(
        server,
        s,
        "mutation($p: ID!, $c: ID, $f: ID) { createSale(input: {productId: $p, customerId: $c, flowId: $f}) { sale { id } userErrors { field message } } }",
        json!({"p": product, "c": customer["id"], "f": flow}),
    )
    .await["createSale"]["sale"]["id"]
        .clone();
    assert!(sale.is_string(), "the sale was created");
    Records {
        user,
        token,
        token_secret,
        organisation,
        extra_field,
        status,
        supplier,
        product,
        flow,
        question,
        contact_person: customer["contactPersons"]["edges"][0]["node"]["id"].clone(),
        customer: customer["id"].clone(),
        sale,
    }
}

/// The variable declarations a mutation needs: GraphQL refuses declared variables that are unused.
fn declarations(mutation: &str) -> String {
    ["id", "mine", "sale", "org"]
        .iter()
        .filter(|name| mutation.contains(&format!("${name}")))
        .map(|name| format!("${name}: ID!"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn another_accounts_ids_do_not_exist_for_any_query_or_mutation() {
    let server = TestServer::start().await;
    let owner = server.admin("owner").await;
    let stranger = server.admin("stranger").await;
    let theirs = populate(&server, &owner).await;
    let mine = populate(&server, &stranger).await;

    // Lookups by id: NOT_FOUND, as for an id that never existed.
    let lookups = [
        ("user", &theirs.user),
        ("organisation", &theirs.organisation),
        ("supplier", &theirs.supplier),
        ("product", &theirs.product),
        ("flow", &theirs.flow),
        ("question", &theirs.question),
        ("customer", &theirs.customer),
        ("sale", &theirs.sale),
    ];
    for (field, id) in lookups {
        let response = server
            .gql(Some(&stranger.token), &format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}"), json!({"id": id}))
            .await;
        assert_eq!(TestServer::error_code(&response).as_deref(), Some("NOT_FOUND"), "{field}: {response}");
        let unknown = server
            .gql(
                Some(&stranger.token),
                &format!("query($id: ID!) {{ {field}(id: $id) {{ id }} }}"),
                json!({"id": uuid::Uuid::now_v7().to_string()}),
            )
            .await;
        assert_eq!(
            response["errors"][0]["message"], unknown["errors"][0]["message"],
            "{field}: indistinguishable from a missing id"
        );
    }

    // Lists hold only the caller's own records.
    let everything = [
        "users",
        "organisations",
        "extraFields",
        "statuses",
        "suppliers",
        "products",
        "flows",
        "questions",
        "customers",
        "sales",
        "apiTokens",
    ];
    let their_ids: Vec<&Value> = vec![
        &theirs.user,
        &theirs.token,
        &theirs.organisation,
        &theirs.extra_field,
        &theirs.status,
        &theirs.supplier,
        &theirs.product,
        &theirs.flow,
        &theirs.question,
        &theirs.customer,
        &theirs.sale,
    ];
    for list in everything {
        let response =
            data(&server, &stranger, &format!("{{ {list}(first: 100) {{ edges {{ node {{ id }} }} }} }}"), json!({}))
                .await;
        let ids: Vec<&Value> = response[list]["edges"].as_array().unwrap().iter().map(|e| &e["node"]["id"]).collect();
        assert!(!ids.is_empty(), "{list}: the stranger's own records are listed");
        for id in &their_ids {
            assert!(!ids.contains(id), "{list} shows another account's record {id}");
        }
    }
    let filtered = data(
        &server,
        &stranger,
        "query($s: ID) { products(filter: {supplierId: $s}) { edges { cursor } } }",
        json!({"s": theirs.supplier}),
    )
    .await;
    assert!(filtered["products"]["edges"].as_array().unwrap().is_empty());

    // Mutations on another account's records: NOT_FOUND, top-level.
    let on_their_records = [
        ("updateUser(input: {id: $id, displayName: \"x\"}) { user { id } }", &theirs.user),
        ("revokeApiToken(input: {id: $id}) { apiToken { id } }", &theirs.token),
        ("updateOrganisation(input: {id: $id, name: \"x\"}) { organisation { id } }", &theirs.organisation),
        ("deleteOrganisation(input: {id: $id}) { deletedId }", &theirs.organisation),
        (
            "setOrganisationGrants(input: {organisationId: $id, productIds: [], flowIds: []}) { organisation { id } }",
            &theirs.organisation,
        ),
        ("updateExtraField(input: {id: $id, label: \"x\"}) { extraField { id } }", &theirs.extra_field),
        ("deleteExtraField(input: {id: $id}) { deletedId }", &theirs.extra_field),
        ("updateStatus(input: {id: $id, name: \"x\"}) { status { id } }", &theirs.status),
        ("deleteStatus(input: {id: $id}) { deletedId }", &theirs.status),
        ("updateSupplier(input: {id: $id, supplier: {name: \"x\"}}) { supplier { id } }", &theirs.supplier),
        ("updateProduct(input: {id: $id, product: {name: \"x\"}}) { product { id } }", &theirs.product),
        ("setProductAuthorised(input: {id: $id, authorised: false}) { product { id } }", &theirs.product),
        ("updateFlow(input: {id: $id, name: \"x\"}) { flow { id } }", &theirs.flow),
        ("updateQuestion(input: {id: $id, label: \"x\"}) { question { id } }", &theirs.question),
        ("deleteQuestion(input: {id: $id}) { deletedId }", &theirs.question),
        ("updateCustomer(input: {id: $id, customer: {lastName: \"x\"}}) { customer { id } }", &theirs.customer),
        (
            "addContactPerson(input: {customerId: $id, contactPerson: {name: \"x\"}}) { contactPerson { id } }",
            &theirs.customer,
        ),
        ("removeContactPerson(input: {id: $id}) { deletedId }", &theirs.contact_person),
        ("changeSaleStatus(input: {id: $id, statusId: $id}) { sale { id } }", &theirs.sale),
    ];
    for (mutation, id) in on_their_records {
        let response =
            server.gql(Some(&stranger.token), &format!("mutation($id: ID!) {{ {mutation} }}"), json!({"id": id})).await;
        assert_eq!(TestServer::error_code(&response).as_deref(), Some("NOT_FOUND"), "{mutation}: {response}");
    }

    // The alert webhook is the account's own (one per account, no id to guess): another account neither
    // sees nor removes it.
    let webhook =
        "mutation { setAlertWebhook(input: {url: \"https://alerts.example.com/owner\"}) { created { secret } } }";
    data(&server, &owner, webhook, json!({})).await;
    assert_eq!(data(&server, &stranger, "{ alertWebhook { url } }", json!({})).await["alertWebhook"], Value::Null);
    let response =
        server.gql(Some(&stranger.token), "mutation { removeAlertWebhook { alertWebhook { url } } }", json!({})).await;
    assert_eq!(TestServer::error_code(&response).as_deref(), Some("NOT_FOUND"), "{response}");
    let kept = data(&server, &owner, "{ alertWebhook { url } }", json!({})).await;
    assert_eq!(kept["alertWebhook"]["url"], "https://alerts.example.com/owner", "untouched");

    // References to another account's records inside the caller's own inputs: a user error on that field.
    let references = [
        (
            "createUser(input: {username: \"u2\", role: AGENT, organisationId: $id}) { userErrors { field code } }",
            &theirs.organisation,
            "organisationId",
        ),
        ("createApiToken(input: {userId: $id, name: \"x\"}) { userErrors { field code } }", &theirs.user, "userId"),
        (
            "createProduct(input: {product: {sku: \"P2\", name: \"x\", supplierId: $id}}) { userErrors { field code } }",
            &theirs.supplier,
            "product.supplierId",
        ),
        (
            "createProduct(input: {product: {sku: \"P3\", name: \"x\", parentId: $id}}) { userErrors { field code } }",
            &theirs.product,
            "product.parentId",
        ),
        (
            "createQuestion(input: {flowId: $id, key: \"q2\", label: \"x\", questionType: TEXT}) { userErrors { field code } }",
            &theirs.flow,
            "flowId",
        ),
        (
            "createQuestion(input: {productId: $id, key: \"q3\", label: \"x\", questionType: TEXT}) { userErrors { field code } }",
            &theirs.product,
            "productId",
        ),
        ("createSale(input: {productId: $id}) { userErrors { field code } }", &theirs.product, "productId"),
        (
            "createSale(input: {productId: $mine, customerId: $id}) { userErrors { field code } }",
            &theirs.customer,
            "customerId",
        ),
        ("createSale(input: {productId: $mine, flowId: $id}) { userErrors { field code } }", &theirs.flow, "flowId"),
        (
            "createSale(input: {productId: $mine, organisationId: $id}) { userErrors { field code } }",
            &theirs.organisation,
            "organisationId",
        ),
        (
            "changeSaleStatus(input: {id: $sale, statusId: $id}) { userErrors { field code } }",
            &theirs.status,
            "statusId",
        ),
        (
            "setOrganisationGrants(input: {organisationId: $org, productIds: [$id], flowIds: []}) { userErrors { field code } }",
            &theirs.product,
            "productIds.0",
        ),
        (
            "setOrganisationGrants(input: {organisationId: $org, productIds: [], flowIds: [$id]}) { userErrors { field code } }",
            &theirs.flow,
            "flowIds.0",
        ),
    ];
    for (mutation, id, field) in references {
        let response = server
            .gql(
                Some(&stranger.token),
                &format!("mutation({}) {{ result: {mutation} }}", declarations(mutation)),
                json!({"id": id, "mine": mine.product, "sale": mine.sale, "org": mine.organisation}),
            )
            .await;
        let errors =
            response["data"]["result"]["userErrors"].as_array().unwrap_or_else(|| panic!("{mutation}: {response}"));
        assert!(
            errors.iter().any(|e| e["field"] == field && e["code"] == "NOT_FOUND"),
            "{mutation}: expected NOT_FOUND on {field}, got {response}"
        );
    }

    // The owner's records are untouched, and their token still works.
    let product = data(
        &server,
        &owner,
        "query($id: ID!) { product(id: $id) { name authorised } }",
        json!({"id": theirs.product}),
    )
    .await;
    assert_eq!(product["product"], json!({"name": "Groene stroom", "authorised": true}));
    let organisation =
        data(&server, &owner, "query($id: ID!) { organisation(id: $id) { name } }", json!({"id": theirs.organisation}))
            .await;
    assert_eq!(organisation["organisation"]["name"], "Partner");
    let customer = data(
        &server,
        &owner,
        "query($id: ID!) { customer(id: $id) { lastName contactPersons { edges { cursor } } } }",
        json!({"id": theirs.customer}),
    )
    .await;
    assert_eq!(customer["customer"]["lastName"], "Jansen");
    assert_eq!(customer["customer"]["contactPersons"]["edges"].as_array().unwrap().len(), 1);
    let sale =
        data(&server, &owner, "query($id: ID!) { sale(id: $id) { status { key } } }", json!({"id": theirs.sale})).await;
    assert_eq!(sale["sale"]["status"]["key"], "new");
    let me = server.gql_ok(Some(&theirs.token_secret), "{ me { username } }", json!({})).await;
    assert_eq!(me["me"]["username"], "koppeling");
    let statuses = data(&server, &owner, "{ statuses { edges { node { key } } } }", json!({})).await;
    assert_eq!(statuses["statuses"]["edges"].as_array().unwrap().len(), 6);
    let questions = data(
        &server,
        &owner,
        "{ questions { edges { node { label } } } extraFields { edges { node { label } } } }",
        json!({}),
    )
    .await;
    assert_eq!(questions["questions"]["edges"][0]["node"]["label"], "Huidige leverancier");
    assert_eq!(questions["extraFields"]["edges"][0]["node"]["label"], "Origin");

    // List filters given another account's ids find nothing.
    for (query, variables) in [
        ("query($v: ID) { users(organisationId: $v) { edges { cursor } } }", json!({"v": theirs.organisation})),
        ("query($v: ID) { apiTokens(userId: $v) { edges { cursor } } }", json!({"v": theirs.user})),
        ("query($v: ID) { questions(flowId: $v) { edges { cursor } } }", json!({"v": theirs.flow})),
        ("query($v: ID) { questions(productId: $v) { edges { cursor } } }", json!({"v": theirs.product})),
        ("query($v: ID) { sales(filter: {statusId: $v}) { edges { cursor } } }", json!({"v": theirs.status})),
        ("query($v: ID) { sales(filter: {productId: $v}) { edges { cursor } } }", json!({"v": theirs.product})),
        ("query($v: ID) { sales(filter: {customerId: $v}) { edges { cursor } } }", json!({"v": theirs.customer})),
    ] {
        let response = data(&server, &stranger, query, variables).await;
        let list = response.as_object().unwrap().values().next().unwrap();
        assert_eq!(list["edges"], json!([]), "{query}: {response}");
    }

    // The provider surface of one account does not reach another's catalogue or sales.
    let partner = data(
        &server,
        &stranger,
        "mutation($u: ID!) { createApiToken(input: {userId: $u, name: \"p\", integrationOnly: true}) { created { secret } } }",
        json!({"u": mine.user}),
    )
    .await["createApiToken"]["created"]["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let seen = server
        .gql_ok(Some(&partner), "query($p: [ID!], $s: [ID!]) { providerProducts(ids: $p) { edges { cursor } } providerSales(ids: $s) { edges { cursor } } }", json!({"p": [theirs.product], "s": [theirs.sale]}))
        .await;
    assert_eq!(
        (&seen["providerProducts"]["edges"], &seen["providerSales"]["edges"]),
        (&json!([]), &json!([])),
        "{seen}"
    );
    let own = server
        .gql_ok(
            Some(&partner),
            "query($p: [ID!]) { providerProducts(ids: $p) { edges { cursor } } }",
            json!({"p": [mine.product]}),
        )
        .await;
    assert_eq!(
        own["providerProducts"]["edges"].as_array().unwrap().len(),
        1,
        "the partner's own grant is visible: {own}"
    );
    let submitted = server
        .gql_ok(
            Some(&partner),
            "mutation($p: ID!, $f: ID) { submitSale(input: {idempotencyKey: \"k1\", productId: $p, flowId: $f}) { sale { id } userErrors { field code } } }",
            json!({"p": theirs.product, "f": theirs.flow}),
        )
        .await;
    assert_eq!(submitted["submitSale"]["sale"], Value::Null);
    let fields: Vec<&str> = submitted["submitSale"]["userErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["productId", "flowId"], "{submitted}");

    // Everything the stranger tried to change is as the owner left it.
    let check = data(
        &server,
        &owner,
        "query($s: ID!, $f: ID!, $u: ID!, $o: ID!) { supplier(id: $s) { name } flow(id: $f) { name } user(id: $u) { displayName }
           statuses(first: 100) { edges { node { key name } } }
           organisation(id: $o) { grantedProducts { edges { node { id } } } grantedFlows { edges { node { id } } } } }",
        json!({"s": theirs.supplier, "f": theirs.flow, "u": theirs.user, "o": theirs.organisation}),
    )
    .await;
    assert_eq!(check["supplier"]["name"], "Energie BV");
    assert_eq!(check["flow"]["name"], "Energie");
    assert_eq!(check["user"]["displayName"], Value::Null);
    let callback =
        check["statuses"]["edges"].as_array().unwrap().iter().find(|e| e["node"]["key"] == "callback").unwrap().clone();
    assert_eq!(callback["node"]["name"], "Call back");
    assert_eq!(check["organisation"]["grantedProducts"]["edges"][0]["node"]["id"], theirs.product);
    assert_eq!(check["organisation"]["grantedFlows"]["edges"][0]["node"]["id"], theirs.flow);
}
