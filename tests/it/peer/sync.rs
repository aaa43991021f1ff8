//! `syncNow` and its dry run `reconcilePlan`: refresh what changed, follow the missing-record policy,
//! hold back a pass that would remove too much, and keep going past a product that cannot be stored.

use super::client::Client;
use super::fixtures::{
    Consumer, FIELD_MAPPINGS, IMPORT, P1_SKU, P2_SKU, Provider, UPDATE_INTEGRATION, connected, integration,
    local_products, remote_products, set_grants, tariffs,
};
use super::{closed_port, nodes, peer_server};
use crate::common::TestServer;
use serde_json::{Value, json};

const RECONCILE_PLAN: &str = "query($id: ID!) { reconcilePlan(integrationId: $id) {
  applied updated unchanged deactivated deleted ignored notImported heldBack policy lastSyncedAt
  changes { remoteId sku productId action note } } }";

/// A and B connected, with P1 and P2 imported by A.
async fn imported(server: &TestServer) -> (Provider<'_>, Consumer<'_>) {
    let (b, a) = connected(server).await;
    let remote: Vec<Value> =
        remote_products(&a.admin, &a.integration).await.iter().map(|p| p["remoteId"].clone()).collect();
    a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": remote})).await;
    (b, a)
}

fn action_of(report: &Value, sku: &str) -> String {
    // A finished run tells only what changed: a product it does not name was unchanged.
    let changes = report["changes"].as_array().unwrap();
    match changes.iter().find(|c| c["sku"] == sku) {
        Some(change) => change["action"].as_str().unwrap().to_owned(),
        None if report.get("run").is_some() => "UNCHANGED".to_owned(),
        None => panic!("{sku} not in {report:#}"),
    }
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
    let report = a.admin.sync_report(&a.integration).await;
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

    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(report["run"]["trigger"], "MANUAL");
    assert_eq!(report["updated"], 1, "{report:#}");
    assert_ne!(report["lastSyncedAt"], synced_at_import);
    assert_eq!(tariff_of(&a.admin.data(local, json!({})).await), "0.19999");
    // The event says what came from B and what was written.
    let events = a
        .admin
        .data(
            "query($id: ID!, $run: ID) { syncEvents(integrationId: $id, runId: $run, minLevel: INFO) { edges { node { action payload } } } }",
            json!({"id": a.integration, "run": report["run"]["id"]}),
        )
        .await;
    let update = &events["syncEvents"]["edges"][0]["node"];
    assert_eq!(update["action"], "update", "{events:#}");
    assert!(update["payload"]["remote"]["tariffs"].to_string().contains("0.19999"), "{update:#}");
    assert!(update["payload"]["written"]["tariffs"].to_string().contains("0.19999"), "{update:#}");
    // Level-triggered: the same pass again has nothing left to do.
    let again = a.admin.sync_report(&a.integration).await;
    assert_eq!((again["updated"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(2)));
    assert_eq!(again["lastSyncedAt"], report["lastSyncedAt"]);
    // Per entity: the last pass checked (moves every pass), the last one that changed something (does not).
    let states = a
        .admin
        .data(
            "query($id: ID!) { integration(id: $id) { syncStates { entity lastCheckedAt lastSyncedAt } } }",
            json!({"id": a.integration}),
        )
        .await["integration"]["syncStates"]
        .clone();
    assert_eq!(states.as_array().map(Vec::len), Some(1), "{states:#}");
    assert_eq!(
        (states[0]["entity"].clone(), states[0]["lastCheckedAt"].clone()),
        (json!("PRODUCT"), again["run"]["finishedAt"].clone())
    );
    assert_eq!(states[0]["lastSyncedAt"], report["run"]["finishedAt"], "{states:#}");
    // P3 exists at B but is not granted; what is granted and not imported is listed as such.
    assert!(again["changes"].as_array().unwrap().iter().all(|c| c["action"] != "NOT_IMPORTED"), "{again:#}");
}

#[tokio::test]
async fn products_gone_at_the_remote_follow_the_policy() {
    for policy in ["IGNORE", "DEACTIVATE", "DELETE"] {
        let server = peer_server().await;
        let (b, a) = imported(&server).await;
        set_policy(&a, policy).await;
        // B withdraws P2 from the grants: gone, as far as A can tell.
        set_grants(&b.admin, &b.organisation, &[&b.p1], &[&b.flow]).await;
        let report = a.admin.sync_report(&a.integration).await;
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
        let again = a.admin.sync_report(&a.integration).await;
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
    let report = a.admin.sync_report(&a.integration).await;
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
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(action_of(&report, P2_SKU), "DEACTIVATE", "{report:#}");
    let change = report["changes"].as_array().unwrap().iter().find(|c| c["sku"] == P2_SKU).unwrap().clone();
    assert!(change["note"].as_str().unwrap().contains("sales refer to it"), "{change:#}");
    let products = local_products(&a.admin).await;
    assert_eq!(products.len(), 2, "the sold product is kept");
    // And it settles: the next pass neither deactivates it again nor moves "last synchronised".
    let again = a.admin.sync_report(&a.integration).await;
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
    // The run is queued at once, and fails: the credentials were dropped with the move.
    let run = a.admin.sync(&a.integration).await;
    assert_eq!(run["state"], "FAILED", "{run:#}");
    assert!(run["error"].as_str().unwrap().starts_with("CONFIGURATION"), "{run:#}");
    let products = nodes(&a.admin.data("{ products { edges { node { sku active } } } }", json!({})).await["products"]);
    assert_eq!(products.len(), 2);
    assert!(products.iter().all(|p| p["active"] == true), "{products:?}");
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
    let report = a.admin.sync_report(&a.integration).await;
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
    let report = a.admin.sync_report(&a.integration).await;
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

const SYNC_RUNS: &str = "query($id: ID!) { syncRuns(integrationId: $id) { edges { node {
  id entity trigger state error heldBack progress { done total }
  counts { created updated unchanged deactivated deleted ignored failed } startedAt finishedAt } } } }";
const SYNC_EVENTS: &str = "query($id: ID!, $run: ID, $min: EventLevel) {
  syncEvents(integrationId: $id, runId: $run, minLevel: $min) { edges { node {
    runId level entity localId remoteId action direction message } } } }";

#[tokio::test]
async fn every_sync_now_is_recorded_as_a_run_with_its_events() {
    let server = peer_server().await;
    let (b, a) = imported(&server).await;
    // B withdraws P2: the consumer deactivates it, and the run and its events say so.
    set_grants(&b.admin, &b.organisation, &[&b.p1], &[&b.flow]).await;
    // `syncNow` answers at once with the queued run (a second press returns the same run); the daemon
    // runs it.
    let sync_now = "mutation($id: ID!) { syncNow(input: {integrationId: $id}) { runs { id entity state trigger } userErrors { field message code } } }";
    let payload = a.admin.mutate("syncNow", sync_now, json!({"id": a.integration})).await;
    let queued = payload["runs"][0].clone();
    assert_eq!(
        (queued["entity"].clone(), queued["trigger"].clone()),
        (json!("PRODUCT"), json!("MANUAL")),
        "{payload:#}"
    );
    assert!(["QUEUED", "RUNNING", "SUCCEEDED"].contains(&queued["state"].as_str().unwrap()), "{payload:#}");
    let run_id = queued["id"].clone();
    let finished = a.admin.finished_run(&run_id).await;
    assert_eq!(finished["state"], "SUCCEEDED", "{finished:#}");

    let runs = nodes(&a.admin.data(SYNC_RUNS, json!({"id": a.integration})).await["syncRuns"]);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    let run = &runs[0];
    assert_eq!((run["id"].clone(), run["entity"].clone()), (run_id.clone(), json!("PRODUCT")));
    assert_eq!(
        run["counts"],
        json!({"created": 0, "updated": 0, "unchanged": 1, "deactivated": 1, "deleted": 0, "ignored": 0, "failed": 0})
    );
    assert_eq!(run["progress"], json!({"done": 2, "total": 2}), "the counts add up to the records");
    assert!(run["startedAt"].is_string() && run["finishedAt"].is_string());

    let events = nodes(
        &a.admin.data(SYNC_EVENTS, json!({"id": a.integration, "run": run_id, "min": "INFO"})).await["syncEvents"],
    );
    assert_eq!(events.len(), 1, "one change worth telling: {events:#?}");
    assert_eq!((events[0]["action"].clone(), events[0]["level"].clone()), (json!("deactivate"), json!("INFO")));
    assert_eq!(events[0]["direction"], "IN");
    assert!(events[0]["message"].as_str().unwrap().starts_with(P2_SKU), "{events:#?}");

    // A pass that cannot reach the remote is a failed run with an error event, and changes nothing.
    let moved = json!({"i": {"id": a.integration, "baseUrl": format!("http://127.0.0.1:{}", closed_port())}});
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, moved).await;
    let failed_run = a.admin.sync(&a.integration).await;
    let runs = nodes(&a.admin.data(SYNC_RUNS, json!({"id": a.integration})).await["syncRuns"]);
    let failed = runs.last().unwrap();
    assert_eq!(failed["id"], failed_run["id"]);
    assert_eq!(failed["state"], "FAILED", "{runs:#?}");
    assert!(failed["error"].as_str().unwrap().starts_with("CONFIGURATION"), "{failed:#}");
    // The run fails first; the queue then gives the job up for good (a permanent error) and raises the
    // alert, once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let alerts = loop {
        let alerts =
            nodes(&a.admin.data(SYNC_EVENTS, json!({"id": a.integration, "min": "ERROR"})).await["syncEvents"]);
        if !alerts.is_empty() || std::time::Instant::now() > deadline {
            break alerts;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let again = nodes(&a.admin.data(SYNC_EVENTS, json!({"id": a.integration, "min": "ERROR"})).await["syncEvents"]);
    assert_eq!((alerts.len(), again.len()), (1, 1), "{again:#?}");
    assert_eq!(alerts[0]["runId"], failed["id"]);

    assert_eq!(alerts[0]["level"], "ALERT", "a failed run is an alert");
    let metrics =
        server.http.get(server.url.replace("/graphql", "/metrics")).send().await.unwrap().text().await.unwrap();
    for line in ["koppel_sync_runs{state=\"succeeded\"} 1", "koppel_sync_runs{state=\"failed\"} 1", "koppel_alerts 1"] {
        assert!(metrics.lines().any(|l| l == line), "{line} not in /metrics:\n{metrics}");
    }

    // Another account's integration id is not found, runs and events alike.
    let other = b.admin.raw(SYNC_RUNS, json!({"id": a.integration})).await;
    assert_eq!(TestServer::error_code(&other).as_deref(), Some("NOT_FOUND"), "{other:#}");
    let other = b.admin.raw(SYNC_EVENTS, json!({"id": a.integration})).await;
    assert_eq!(TestServer::error_code(&other).as_deref(), Some("NOT_FOUND"), "{other:#}");
    let other = b.admin.raw("query($id: ID!) { syncRun(id: $id) { id } }", json!({"id": run_id})).await;
    assert_eq!(TestServer::error_code(&other).as_deref(), Some("NOT_FOUND"), "{other:#}");
}

#[tokio::test]
async fn a_product_the_pass_switched_off_comes_back_on_but_one_switched_off_by_hand_stays_off() {
    let server = peer_server().await;
    let (b, a) = imported(&server).await;
    // B withdraws P2: A's pass switches it off.
    set_grants(&b.admin, &b.organisation, &[&b.p1], &[&b.flow]).await;
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(action_of(&report, P2_SKU), "DEACTIVATE", "{report:#}");
    // A's admin switches P1 off by hand.
    let p1 = local_products(&a.admin).await.into_iter().find(|p| p["sku"] == P1_SKU).unwrap()["id"].clone();
    a.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!) { updateProduct(input: {id: $id, product: {active: false}}) { product { id } userErrors { field message code } } }",
            json!({"id": p1}),
        )
        .await;

    // B grants P2 again: the pass switches it back on, and leaves the admin's choice alone.
    set_grants(&b.admin, &b.organisation, &[&b.p1, &b.p2], &[&b.flow]).await;
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(action_of(&report, P2_SKU), "REACTIVATE", "{report:#}");
    assert_eq!(action_of(&report, P1_SKU), "UNCHANGED", "{report:#}");
    let active = |sku: &str, products: &[Value]| products.iter().find(|p| p["sku"] == sku).unwrap()["active"].clone();
    let products = nodes(&a.admin.data("{ products { edges { node { sku active } } } }", json!({})).await["products"]);
    assert_eq!((active(P2_SKU, &products), active(P1_SKU, &products)), (json!(true), json!(false)));
    // And it settles.
    let again = a.admin.sync_report(&a.integration).await;
    assert_eq!(
        (again["unchanged"].as_i64(), action_of(&again, P2_SKU)),
        (Some(2), "UNCHANGED".to_owned()),
        "{again:#}"
    );
}

#[tokio::test]
async fn create_only_fields_are_written_on_import_and_never_overwritten_by_a_pass() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let field = "mutation($i: CreateExtraFieldInput!) { createExtraField(input: $i) { extraField { id } userErrors { field message code } } }";
    a.admin
        .mutate(
            "createExtraField",
            field,
            json!({"i": {"entity": "PRODUCT", "key": "bron", "label": "Bron", "fieldType": "TEXT"}}),
        )
        .await;
    // The name and the origin are A's own once imported; everything else follows B.
    let mapping = json!({"i": {"integrationId": a.integration, "entity": "product", "mappings": [
        {"remoteField": "origin", "targetKind": "EXTRA_FIELD", "target": "bron", "createOnly": true},
        {"remoteField": "name", "targetKind": "ATTRIBUTE", "target": "name", "createOnly": true}]}});
    let set = a.admin.mutate("setFieldMappings", FIELD_MAPPINGS, mapping).await;
    assert!(set.to_string().contains("\"createOnly\":true"), "{set:#}");
    let remote: Vec<Value> =
        remote_products(&a.admin, &a.integration).await.iter().map(|p| p["remoteId"].clone()).collect();
    a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": remote})).await;
    let p1 = |products: &Value| nodes(products).into_iter().find(|p| p["sku"] == P1_SKU).expect("P1 is imported");
    let query = "{ products { edges { node { sku name tariffs { amount } extraFields { key value } } } } }";
    let imported = p1(&a.admin.data(query, json!({})).await["products"]);
    assert!(imported["extraFields"].as_array().unwrap().iter().any(|f| f["key"] == "bron"), "{imported:#}");

    // B renames P1, changes its origin and its tariff: the pass takes the tariff only.
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!, $t: [TariffInput!]) { updateProduct(input: {id: $id, product: {name: \"Renamed at B\", tariffs: $t, extraFields: [{key: \"origin\", value: \"green\"}]}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1, "t": tariffs("0.27182", "6.99")}),
        )
        .await;
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(action_of(&report, P1_SKU), "UPDATE", "{report:#}");
    let synced = p1(&a.admin.data(query, json!({})).await["products"]);
    assert_eq!(synced["name"], imported["name"], "the name is create-only");
    assert_eq!(synced["extraFields"], imported["extraFields"], "the origin is create-only");
    assert!(synced["tariffs"].to_string().contains("0.27182"), "the tariff follows B: {synced:#}");
}

#[tokio::test]
async fn the_brake_is_a_setting_of_the_integration() {
    let server = peer_server().await;
    let (b, a) = imported(&server).await;
    // Both products gone at once: held back at the default 50 %.
    set_grants(&b.admin, &b.organisation, &[], &[&b.flow]).await;
    let held = a.admin.sync_report(&a.integration).await;
    assert!(held["heldBack"].as_str().unwrap_or_default().contains("2 of 2"), "{held:#}");
    // A bad share is refused by name and changes nothing.
    let bad = json!({"i": {"id": a.integration, "settings": {"accountName": "provider", "maxRemovalPercent": 0}}});
    let (_, errors) = a.admin.refused("updateIntegration", UPDATE_INTEGRATION, bad).await;
    assert_eq!(errors[0].0, "settings.maxRemovalPercent", "{errors:?}");
    // 100 % turns the brake off: the pass follows the policy for both.
    let off = json!({"i": {"id": a.integration, "settings": {"accountName": "provider", "maxRemovalPercent": 100}}});
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, off).await;
    let report = a.admin.sync_report(&a.integration).await;
    assert!(report["heldBack"].is_null(), "{report:#}");
    assert_eq!(report["deactivated"], 2, "{report:#}");
}
