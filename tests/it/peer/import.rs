//! Browsing the remote catalogue and importing from it: one shared supplier, all or nothing, pages
//! through the remote, remote failures that say why, and local records that outlive the integration.

use super::fixtures::{
    Consumer, FIELD_MAPPINGS, FLOW_MAPPINGS, GRANTED_SKUS, IMPORT, P1_SKU, P2_SKU, REMOTE_PRODUCTS, STATUS_MAPPINGS,
    SUPPLIER, base_url, connected, create_flow, create_integration, create_select_field, import, integration,
    integration_count, local_products, local_suppliers, map_origin, provider_product, remote_products, revoke,
    set_grants, set_token, tariffs,
};
use super::{has_error, nodes, peer_server, sorted};
use crate::common::TestServer;
use serde_json::{Value, json};
use std::collections::BTreeSet;

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
            "transforms": [{"kind": "TRIM", "argument": null}], "createOnly": false,
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
