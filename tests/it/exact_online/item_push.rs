//! Koppel's products pushed to Exact Online as items end to end (seed 002: created or updated by SKU,
//! per-field "update on update"): `syncNow` with `PRODUCT_PUSH` queues a run the daemon works through
//! over real HTTP to the fake; the run's counts and events say what was created, updated, skipped and
//! failed, and the fake's items show what Exact would keep. With `productPushSchedule` set, the daemon's
//! schedule pushes on its own.

use super::setup::{Setup, free_addr};
use crate::common::TestServer;
use crate::fakes::exact_online::exact_online;
use koppel_entity::sync_state;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::time::Duration;

const CREATE_PRODUCT: &str = "mutation($p: ProductFields!) { createProduct(input: {product: $p}) {
  product { id sku } userErrors { field message code } } }";
const UPDATE_PRODUCT: &str = "mutation($id: ID!, $p: ProductFields!) { updateProduct(input: {id: $id, product: $p}) {
  product { id } userErrors { field message code } } }";
const UPDATE_INTEGRATION: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const IMPORT: &str = "mutation($id: ID!, $r: [String!]!) { importProducts(input: {integrationId: $id, remoteIds: $r}) {
  products { id sku } userErrors { field message code } } }";
const PUSH: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id, entities: [PRODUCT_PUSH]}) {
  runs { id entity } userErrors { field message code } } }";
const SCHEDULES: &str = "query($id: ID!) { integration(id: $id) { schedules { entity schedule setting } } }";
const RUNS: &str =
    "query($id: ID!) { syncRuns(integrationId: $id, first: 50) { edges { node { entity trigger state } } } }";
const PLAN: &str = "query($id: ID!) { reconcilePlan(integrationId: $id, entity: PRODUCT_PUSH) { applied created
  changes { sku action } } }";
const RUN: &str = "query($id: ID!) { syncRun(id: $id) { id entity state error
  counts { created updated unchanged ignored failed } } }";
const EVENTS: &str = "query($i: ID!, $r: ID!) { syncEvents(integrationId: $i, runId: $r, first: 100, minLevel: DEBUG) {
  nodes { action level direction entity message remoteId localId payload } } }";

/// A connected Exact Online integration with a daemon to run its pushes.
async fn pushing() -> Setup {
    Setup::connected(exact_online().await).await
}

async fn product(setup: &Setup, fields: Value) -> String {
    let made = setup.mutate("createProduct", CREATE_PRODUCT, json!({"p": fields})).await;
    made["product"]["id"].as_str().unwrap().to_owned()
}

async fn change(setup: &Setup, id: &str, fields: Value) {
    setup.mutate("updateProduct", UPDATE_PRODUCT, json!({"id": id, "p": fields})).await;
}

fn tariff(amount: &str) -> Value {
    json!([{"code": "standard", "label": "Standaardprijs", "amount": amount, "unit": "EUR"}])
}

/// Pushes now and waits for the run to finish (it must succeed); the run with its events.
async fn push(setup: &Setup) -> (Value, Vec<Value>) {
    let queued = setup.mutate("syncNow", PUSH, json!({"id": setup.integration})).await;
    assert_eq!(queued["runs"][0]["entity"], "PRODUCT_PUSH");
    let id = queued["runs"][0]["id"].clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let run = loop {
        let run = setup.ok(RUN, json!({"id": id})).await["syncRun"].clone();
        if matches!(run["state"].as_str(), Some("SUCCEEDED" | "FAILED")) {
            break run;
        }
        assert!(tokio::time::Instant::now() < deadline, "the push did not finish: {run:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
    let events = setup.ok(EVENTS, json!({"i": setup.integration, "r": id})).await["syncEvents"]["nodes"].clone();
    let events = events.as_array().unwrap().iter().filter(|e| !e["remoteId"].is_null()).cloned().collect();
    (run, events)
}

/// The item Exact keeps under `code`.
fn item(setup: &Setup, code: &str) -> Value {
    let items = setup.fake.stored_items();
    let found: Vec<&Value> = items.iter().filter(|i| i["Code"].as_str().map(str::trim) == Some(code)).collect();
    assert_eq!(found.len(), 1, "one item {code} at Exact: {items:#?}");
    found[0].clone()
}

/// How many calls of `method path` the fake answered so far (`GET` ones with any query).
fn calls(setup: &Setup, method: &str, path: &str) -> usize {
    setup.fake.requests().iter().filter(|r| r.starts_with(&format!("{method} ")) && r.contains(path)).count()
}

/// `(action, message)` of each event about a product.
fn told(events: &[Value]) -> Vec<(String, String)> {
    let mut told: Vec<(String, String)> = events
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_owned(), e["message"].as_str().unwrap().to_owned()))
        .collect();
    told.sort();
    told
}

#[tokio::test]
async fn new_products_arrive_as_items_with_their_group_made_once_and_nothing_is_made_twice() {
    let setup = pushing().await;
    let oven = product(
        &setup,
        json!({"sku": "OVEN-1", "name": "Heteluchtoven 60 cm", "description": "RVS, 230 V", "category": "OVENS",
               "productType": "SIMPLE", "tariffs": tariff("1499")}),
    )
    .await;
    product(
        &setup,
        json!({"sku": "MIX-20", "name": "Spiraalmixer 20 liter", "category": "OVENS",
                           "tariffs": tariff("899.5")}),
    )
    .await;
    product(
        &setup,
        json!({"sku": "ONDERHOUD", "name": "Onderhoudscontract", "productType": "VIRTUAL",
                           "tariffs": tariff("120")}),
    )
    .await;
    // Switched off: not pushed.
    product(&setup, json!({"sku": "OUD-1", "name": "Oude oven", "active": false})).await;

    // The dry run says what a push would do, and writes nothing at Exact.
    let plan = setup.ok(PLAN, json!({"id": setup.integration})).await["reconcilePlan"].clone();
    assert_eq!((plan["applied"].as_bool(), plan["created"].as_i64()), (Some(false), Some(3)), "{plan:#}");
    assert!(setup.fake.stored_items().is_empty() && setup.fake.item_groups().is_empty());

    let (run, events) = push(&setup).await;
    assert_eq!(run["counts"], json!({"created": 3, "updated": 0, "unchanged": 0, "ignored": 0, "failed": 0}));
    let oven_item = item(&setup, "OVEN-1");
    assert_eq!(oven_item["Description"], "Heteluchtoven 60 cm");
    assert_eq!(oven_item["ExtraDescription"], "RVS, 230 V");
    assert_eq!(oven_item["StandardSalesPrice"], 1499.0);
    assert_eq!((oven_item["IsStockItem"].clone(), oven_item["IsSalesItem"].clone()), (json!(true), json!(true)));
    assert_eq!(oven_item["ItemGroupCode"], "OVENS");
    assert_eq!(item(&setup, "MIX-20")["ItemGroup"], oven_item["ItemGroup"], "one group for both");
    let service = item(&setup, "ONDERHOUD");
    assert_eq!((service["IsStockItem"].clone(), service["ItemGroup"].clone()), (json!(false), Value::Null));
    assert!(setup.fake.stored_items().iter().all(|i| i["Code"] != "OUD-1"), "an inactive product stays here");
    assert_eq!(setup.fake.item_groups().len(), 1);
    assert_eq!(calls(&setup, "POST", "logistics/ItemGroups"), 1, "the group is made once");

    let oven_event = events.iter().find(|e| e["localId"] == oven.as_str()).expect("an event of the oven");
    assert_eq!((oven_event["action"].as_str(), oven_event["direction"].as_str()), (Some("create"), Some("OUT")));
    assert_eq!(oven_event["remoteId"], oven_item["ID"], "the event names the item made");
    assert_eq!(oven_event["payload"]["item"]["code"], "OVEN-1");
    assert_eq!(told(&events).iter().filter(|(action, _)| action == "create").count(), 3);

    // Nothing changed since: nothing is pushed, and nothing is even looked for.
    let posts = calls(&setup, "POST", "logistics/Items");
    let (again, events) = push(&setup).await;
    assert_eq!(again["counts"], json!({"created": 0, "updated": 0, "unchanged": 0, "ignored": 0, "failed": 0}));
    assert!(events.is_empty(), "{events:#?}");

    // A push cut off before it kept how far it got starts over: every item is found by its code, none is
    // made twice.
    sync_state::Entity::delete_many()
        .filter(sync_state::Column::Entity.eq(koppel_entity::enums::LinkedEntity::ProductPush))
        .exec(&setup.server.server.state.db)
        .await
        .unwrap();
    let (over, _) = push(&setup).await;
    assert_eq!(over["counts"], json!({"created": 0, "updated": 0, "unchanged": 3, "ignored": 0, "failed": 0}));
    assert_eq!(calls(&setup, "POST", "logistics/Items"), posts, "no second item");
    assert_eq!(calls(&setup, "PUT", "logistics/Items"), 0, "an item as it is needs no write");
    assert_eq!(setup.fake.stored_items().len(), 3);
}

#[tokio::test]
async fn a_second_push_writes_only_the_fields_updated_on_update() {
    let setup = pushing().await;
    let oven = product(
        &setup,
        json!({"sku": "OVEN-1", "name": "Heteluchtoven 60 cm", "description": "RVS", "category": "OVENS",
               "tariffs": tariff("1499")}),
    )
    .await;
    // An item made at Exact by hand before, its code space-padded as Exact may keep it.
    setup.fake.put_item(json!({"ID": "6a1e4c0b-6f0e-4c35-9d63-0c6f6f1d2a09", "Code": "     MIX-20",
                              "Description": "Mixer (named at Exact)", "ExtraDescription": null,
                              "IsSalesItem": true, "IsStockItem": true, "StandardSalesPrice": 850.0}));
    product(&setup, json!({"sku": "MIX-20", "name": "Spiraalmixer 20 liter", "tariffs": tariff("899.50")})).await;
    let (run, events) = push(&setup).await;
    assert_eq!(run["counts"], json!({"created": 1, "updated": 1, "unchanged": 0, "ignored": 0, "failed": 0}));
    let mixer = item(&setup, "MIX-20");
    assert_eq!(mixer["StandardSalesPrice"], 899.5, "the price is updated on update (the default)");
    assert_eq!(mixer["Description"], "Mixer (named at Exact)", "the name is create-only by default");
    assert_eq!(told(&events)[1], ("update".into(), "MIX-20: updated: price".into()));

    // Locally the name, the description and the price change: only the description and the price go.
    change(&setup, &oven, json!({"name": "Oven 60 (nieuw)", "description": "RVS, 230 V", "tariffs": tariff("1399")}))
        .await;
    let (run, events) = push(&setup).await;
    assert_eq!(run["counts"], json!({"created": 0, "updated": 1, "unchanged": 0, "ignored": 0, "failed": 0}));
    let oven_item = item(&setup, "OVEN-1");
    assert_eq!(
        (oven_item["Description"].as_str(), oven_item["ExtraDescription"].as_str()),
        (Some("Heteluchtoven 60 cm"), Some("RVS, 230 V"))
    );
    assert_eq!(oven_item["StandardSalesPrice"], 1399.0);
    assert_eq!(told(&events), [("update".into(), "OVEN-1: updated: description, price".into())]);
    assert_eq!(events[0]["payload"]["fields"], json!(["description", "price"]));

    // With the name ticked, the name goes too; an unticked price stays as Exact has it.
    let settings = json!({"itemUpdateFields": ["name", "category"]});
    setup
        .mutate("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": setup.integration, "settings": settings}}))
        .await;
    // The group exists at Exact already: it is found by its code, not made again.
    let groot = "6a1e4c0b-6f0e-4c35-9d63-0c6f6f1d2b01";
    setup.fake.put_item_group(json!({"ID": groot, "Code": "GROOT", "Description": "Grote ovens"}));
    change(&setup, &oven, json!({"category": "GROOT", "tariffs": tariff("1299")})).await;
    push(&setup).await;
    let oven_item = item(&setup, "OVEN-1");
    assert_eq!(oven_item["Description"], "Oven 60 (nieuw)");
    assert_eq!((oven_item["ItemGroup"].as_str(), oven_item["ItemGroupCode"].as_str()), (Some(groot), Some("GROOT")));
    assert_eq!(calls(&setup, "POST", "logistics/ItemGroups"), 1, "only OVENS was made");
    assert_eq!(oven_item["StandardSalesPrice"], 1399.0, "the price is create-only now");
    assert_eq!(item(&setup, "MIX-20")["Description"], "Mixer (named at Exact)", "not changed here: not pushed");

    // A setting that is not one of the fields is refused by name, and nothing changes.
    let refused = setup
        .ok(UPDATE_INTEGRATION, json!({"i": {"id": setup.integration, "settings": {"itemUpdateFields": ["colour"]}}}))
        .await;
    let errors = refused["updateIntegration"]["userErrors"].as_array().unwrap().clone();
    assert_eq!(errors.len(), 1, "{refused:#}");
    assert!(errors[0]["field"].as_str().unwrap().contains("itemUpdateFields"), "{errors:#?}");
    assert!(errors[0]["message"].as_str().unwrap().contains("\"colour\""), "{errors:#?}");
}

#[tokio::test]
async fn imported_products_stay_and_a_configurable_product_sends_its_variants() {
    let setup = pushing().await;
    let koffie = "6a1e4c0b-6f0e-4c35-9d63-0c6f6f1d2a05";
    setup.fake.put_item(json!({"ID": koffie, "Code": "KOFFIE-1", "Description": "Koffiebonen 1 kg",
                              "IsSalesItem": true, "IsStockItem": true, "StandardSalesPrice": 18.0,
                              "Modified": "/Date(1656676800000)/"}));
    let imported = setup.mutate("importProducts", IMPORT, json!({"id": setup.integration, "r": [koffie]})).await;
    let imported_id = imported["products"][0]["id"].as_str().unwrap().to_owned();
    change(&setup, &imported_id, json!({"name": "Koffiebonen (hier hernoemd)"})).await;
    let oven = product(
        &setup,
        json!({"sku": "OVEN", "name": "Heteluchtoven", "description": "RVS, 230 V", "category": "OVENS",
               "productType": "CONFIGURABLE"}),
    )
    .await;
    for (sku, name, price) in [("OVEN-60", "Heteluchtoven 60 cm", "1499"), ("OVEN-90", "Heteluchtoven 90 cm", "1899")] {
        product(
            &setup,
            json!({"sku": sku, "name": name, "productType": "VARIANT", "parentId": oven, "tariffs": tariff(price)}),
        )
        .await;
    }

    let (run, events) = push(&setup).await;
    assert_eq!(run["counts"], json!({"created": 2, "updated": 0, "unchanged": 0, "ignored": 1, "failed": 0}));
    for (sku, price) in [("OVEN-60", 1499.0), ("OVEN-90", 1899.0)] {
        let variant = item(&setup, sku);
        assert_eq!(variant["StandardSalesPrice"], price);
        assert_eq!(variant["ExtraDescription"], "RVS, 230 V", "from the configurable product");
        assert_eq!(variant["ItemGroupCode"], "OVENS", "from the configurable product");
        assert_eq!(variant["IsStockItem"], true);
    }
    assert!(setup.fake.stored_items().iter().all(|i| i["Code"] != "OVEN"), "no item of the configurable product");
    let skipped = events.iter().find(|e| e["action"] == "ignore").expect("the configurable product is told");
    assert_eq!(skipped["localId"], oven.as_str());
    assert!(skipped["message"].as_str().unwrap().contains("its variants are pushed"), "{skipped:#}");
    assert_eq!(item(&setup, "KOFFIE-1")["Description"], "Koffiebonen 1 kg", "what came from Exact does not go back");
    assert!(events.iter().all(|e| e["localId"] != imported_id.as_str()), "{events:#?}");
    assert_eq!(calls(&setup, "PUT", "logistics/Items"), 0);

    // A change of the configurable product takes its variants along.
    change(&setup, &oven, json!({"description": "RVS, 400 V"})).await;
    let (run, _) = push(&setup).await;
    assert_eq!(run["counts"], json!({"created": 0, "updated": 2, "unchanged": 0, "ignored": 1, "failed": 0}));
    assert_eq!(item(&setup, "OVEN-90")["ExtraDescription"], "RVS, 400 V");
}

#[tokio::test]
async fn a_product_exact_refuses_fails_alone_with_exacts_reason_and_is_tried_again() {
    let setup = pushing().await;
    product(&setup, json!({"sku": "OVEN-1", "name": "Heteluchtoven", "tariffs": tariff("1499")})).await;
    let long = product(
        &setup,
        json!({"sku": "HETELUCHTOVEN-60CM-RVS-230V-EXTRA", "name": "Heteluchtoven extra", "tariffs": tariff("1599")}),
    )
    .await;
    product(&setup, json!({"sku": "MIX-20", "name": "Spiraalmixer", "tariffs": tariff("899")})).await;

    let (run, events) = push(&setup).await;
    assert_eq!(run["counts"], json!({"created": 2, "updated": 0, "unchanged": 0, "ignored": 0, "failed": 1}));
    let failed = events.iter().find(|e| e["action"] == "failed").expect("a failed event");
    assert_eq!((failed["localId"].as_str(), failed["level"].as_str()), (Some(long.as_str()), Some("WARN")));
    assert_eq!(
        failed["message"],
        "HETELUCHTOVEN-60CM-RVS-230V-EXTRA: Exact Online refused logistics/Items: Code: Maximum length is 30 characters"
    );
    let codes: Vec<String> = setup.fake.stored_items().iter().map(|i| i["Code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(codes, ["OVEN-1", "MIX-20"], "the others arrived");

    // The refused one is tried again at the next push; the others are found as they were.
    let posts = calls(&setup, "POST", "logistics/Items");
    let (again, _) = push(&setup).await;
    assert_eq!(again["counts"]["failed"], 1, "{again:#}");
    assert_eq!(again["counts"]["created"], 0, "{again:#}");
    assert_eq!(calls(&setup, "POST", "logistics/Items"), posts + 1, "only the refused one is sent again");

    change(&setup, &long, json!({"sku": "OVEN-60-XL"})).await;
    let (fixed, _) = push(&setup).await;
    assert_eq!(fixed["counts"]["created"], 1, "{fixed:#}");
    assert_eq!(fixed["counts"]["failed"], 0, "{fixed:#}");
    assert_eq!(item(&setup, "OVEN-60-XL")["StandardSalesPrice"], 1599.0);
}

#[tokio::test]
async fn the_push_runs_on_its_schedule_only_once_one_is_set() {
    let fake = exact_online().await;
    let addr = free_addr();
    let server = TestServer::start_with(|c| {
        c.allow_private_remotes = true;
        c.bind = addr;
        c.public_url = Some(format!("http://{addr}"));
    })
    .await;
    let admin = server.admin("bakkerij").await;
    let integration = Setup::create(&server, &admin, &fake).await;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut setup = Setup { server, admin, fake, integration, browser };
    setup.connect().await;
    product(&setup, json!({"sku": "OVEN-1", "name": "Heteluchtoven", "tariffs": tariff("1499")})).await;
    let scheduled = |shown: Value| -> Vec<Value> {
        let all = shown["integration"]["schedules"].as_array().unwrap().clone();
        all.into_iter().filter(|s| s["entity"] == "product_push").collect()
    };
    let shown = setup.ok(SCHEDULES, json!({"id": setup.integration})).await;
    assert!(scheduled(shown).is_empty(), "no push unless a schedule is set");

    let settings = json!({"productPushSchedule": "*/5 * * * *"});
    let input = json!({"i": {"id": setup.integration, "enabled": true, "settings": settings}});
    setup.mutate("updateIntegration", UPDATE_INTEGRATION, input).await;
    let shown = scheduled(setup.ok(SCHEDULES, json!({"id": setup.integration})).await);
    assert_eq!(
        (shown[0]["schedule"].as_str(), shown[0]["setting"].as_str()),
        (Some("*/5 * * * *"), Some("productPushSchedule"))
    );

    // The daemon's schedule queues the current slot's push; nobody asks.
    setup.server.start_daemon(true).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let run = loop {
        let runs = setup.ok(RUNS, json!({"id": setup.integration})).await["syncRuns"]["edges"].clone();
        let push = runs.as_array().unwrap().iter().map(|e| e["node"].clone()).find(|r| r["entity"] == "PRODUCT_PUSH");
        if let Some(run) = push.filter(|r| matches!(r["state"].as_str(), Some("SUCCEEDED" | "FAILED"))) {
            break run;
        }
        assert!(tokio::time::Instant::now() < deadline, "the schedule pushed nothing: {runs:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((run["trigger"].as_str(), run["state"].as_str()), (Some("SCHEDULE"), Some("SUCCEEDED")), "{run:#}");
    assert_eq!(item(&setup, "OVEN-1")["StandardSalesPrice"], 1499.0);
}
