//! The provider's side: B grants an organisation products and flows, and the integration-only token
//! of its agent reads exactly what was granted, at the moment it asks, and submits sales.

use super::client::Client;
use super::fixtures::{
    AGENT, FLOW_QUESTIONS, GIRO_REFERENCE, GRANTED_SKUS, P1_SKU, P2_SKU, P3_SKU, PROVIDER_PRODUCTS, REMOTE_PRODUCTS,
    SUBMIT_SALE, SUPPLIER, assert_failed, connected, create_question, giro_reference_rules, provider, provider_skus,
    revoke, sale_input, set_grants, test_connection,
};
use super::{has_error, id_of, nodes, peer_server, sorted};
use crate::common::TestServer;
use serde_json::{Value, json};
use std::time::Duration;

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
