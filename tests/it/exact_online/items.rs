//! Exact Online's items as Koppel's products end to end (seed 002): the first pass reads the whole
//! catalogue through the Sync API, the next ones ask only `Timestamp gt <the highest seen>` and rewrite
//! only what changed; an item deleted at Exact (`sync/Deleted`, EntityType 9) or no longer sold follows
//! the missing-record policy and the removal brake; a rate limit hit while paging slows the pass down
//! instead of failing it; fields mapped create-only keep what the import wrote, and a change of the
//! mappings makes the next pass a full read. Real HTTP to the fake,
//! through the daemon's runs.

use super::setup::Setup;
use crate::fakes::exact_online::exact_online;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const IMPORT: &str = "mutation($id: ID!, $r: [String!]!) { importProducts(input: {integrationId: $id, remoteIds: $r}) {
  products { id sku } userErrors { field message code } } }";
const UPDATE: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const SYNC_NOW: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id, entities: [PRODUCT]}) {
  runs { id entity } userErrors { field message code } } }";
const RUN: &str = "query($id: ID!) { syncRun(id: $id) { id state error heldBack
  counts { created updated unchanged deactivated deleted ignored failed } } }";
const PRODUCTS: &str = "{ products(first: 100) { edges { node { id sku name active updatedAt tariffs { amount }
  extraFields { key value } } } } }";
const FIELD_MAPPINGS: &str = "mutation($i: SetFieldMappingsInput!) { setFieldMappings(input: $i) {
  fieldMappings { remoteField createOnly } userErrors { field message code } } }";
const EXTRA_FIELD: &str = "mutation($i: CreateExtraFieldInput!) { createExtraField(input: $i) {
  extraField { id } userErrors { field message code } } }";

/// An item id of the tests: `…0001`, `…0002`, ….
fn id(n: u32) -> String {
    format!("7b3e0c1a-0000-4000-8000-{n:012}")
}

fn item(n: u32, price: f64) -> Value {
    json!({
        "ID": id(n), "Code": format!("BROOD-{n:02}"), "Description": format!("Brood {n}"), "ExtraDescription": null,
        "IsSalesItem": true, "IsStockItem": 1, "StandardSalesPrice": price, "SalesVatCode": "1  ", "Unit": "stuk",
        "ItemGroupCode": "BROOD     ", "Barcode": format!("87100000000{n:02}"),
        "Created": "/Date(1641038400000)/", "Modified": "/Date(1656676800000)/",
    })
}

impl Setup {
    /// Puts the items `1..=count` at Exact and imports them; the products by SKU.
    async fn import_items(&self, count: u32) -> Vec<Value> {
        for n in 1..=count {
            self.fake.put_item(item(n, 2.5));
        }
        let ids: Vec<String> = (1..=count).map(id).collect();
        let imported = self.ok(IMPORT, json!({"id": self.integration, "r": ids})).await;
        assert_eq!(imported["importProducts"]["userErrors"], json!([]), "{imported:#}");
        self.product_list().await
    }

    /// Runs a product pass and returns the finished run, which must succeed.
    async fn product_run(&self) -> Value {
        let queued = self.ok(SYNC_NOW, json!({"id": self.integration})).await;
        assert_eq!(queued["syncNow"]["userErrors"], json!([]), "{queued:#}");
        let run = queued["syncNow"]["runs"][0]["id"].clone();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = self.ok(RUN, json!({"id": run})).await["syncRun"].clone();
            if found["state"] == "SUCCEEDED" {
                return found;
            }
            assert_ne!(found["state"], "FAILED", "{found:#}");
            assert!(Instant::now() < deadline, "the run did not finish: {found:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The counts of a product pass that was not held back.
    async fn sync_products(&self) -> Value {
        let run = self.product_run().await;
        assert!(run["heldBack"].is_null(), "{run:#}");
        run["counts"].clone()
    }

    async fn product_list(&self) -> Vec<Value> {
        let mut products: Vec<Value> = self.ok(PRODUCTS, json!({})).await["products"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].clone())
            .collect();
        products.sort_by(|a, b| a["sku"].as_str().cmp(&b["sku"].as_str()));
        products
    }

    async fn product(&self, sku: &str) -> Option<Value> {
        self.product_list().await.into_iter().find(|p| p["sku"] == sku)
    }

    /// The Sync API calls of items made so far.
    fn item_syncs(&self) -> Vec<String> {
        self.fake.requests().into_iter().filter(|r| r.contains("sync/Logistics/Items")).collect()
    }

    async fn set_product_policy(&self, policy: &str, max_removal_percent: u32) {
        let input = json!({"i": {"id": self.integration, "settings": {"maxRemovalPercent": max_removal_percent},
                                 "missingRecordPolicies": [{"entity": "product", "policy": policy}]}});
        let updated = self.ok(UPDATE, input).await;
        assert_eq!(updated["updateIntegration"]["userErrors"], json!([]), "{updated:#}");
    }
}

async fn connected() -> Setup {
    Setup::connected(exact_online().await).await
}

#[tokio::test]
async fn items_sync_incrementally_by_timestamp_and_a_deleted_or_no_longer_sold_one_is_deactivated() {
    let setup = connected().await;
    let imported = setup.import_items(4).await;
    assert_eq!(imported.len(), 4);
    // Pages of 2: the first pass reads more than one page.
    setup.fake.set_sync_page(2);

    // The first pass reads the whole catalogue from the start.
    let first = setup.sync_products().await;
    assert_eq!(first["unchanged"], 4, "{first:#}");
    let syncs = setup.item_syncs();
    assert!(syncs.iter().any(|r| r.contains("$filter=Timestamp gt 1L")), "{syncs:?}");

    // A changed price arrives, asked for after the highest Timestamp seen; the others are not rewritten.
    let highest = setup.fake.last_timestamp();
    setup.fake.put_item(item(2, 3.75));
    let before = setup.item_syncs().len();
    let second = setup.sync_products().await;
    assert_eq!((second["updated"].clone(), second["unchanged"].clone()), (json!(1), json!(0)), "{second:#}");
    let asked = &setup.item_syncs()[before..];
    assert_eq!(asked.len(), 1, "one page of changes: {asked:?}");
    assert!(asked[0].contains(&format!("$filter=Timestamp gt {highest}L")), "{asked:?}");
    let now = setup.product_list().await;
    assert_eq!(now[1]["tariffs"][0]["amount"], "3.75", "{now:#?}");
    for n in [0, 2, 3] {
        assert_eq!(now[n]["updatedAt"], imported[n]["updatedAt"], "untouched: {:#}", now[n]);
    }

    // Deleted at Exact: read from sync/Deleted and deactivated (the default policy).
    setup.fake.remove_item(&id(3));
    let third = setup.sync_products().await;
    assert_eq!(third["deactivated"], 1, "{third:#}");
    assert_eq!(setup.product("BROOD-03").await.unwrap()["active"], false);
    assert!(setup.fake.requests().iter().any(|r| r.contains("sync/Deleted")));

    // No longer a sales item (purchase-only now): gone for Koppel, deactivated too.
    let mut purchase_only = item(4, 2.5);
    purchase_only["IsSalesItem"] = json!(0);
    setup.fake.put_item(purchase_only);
    let fourth = setup.sync_products().await;
    assert_eq!(fourth["deactivated"], 1, "{fourth:#}");
    assert_eq!(setup.product("BROOD-04").await.unwrap()["active"], false);

    // Nothing new: nothing moves, the deactivated stay off, and no deletion is applied twice.
    let fifth = setup.sync_products().await;
    assert_eq!(
        fifth,
        json!({"created": 0, "updated": 0, "unchanged": 0, "deactivated": 0, "deleted": 0, "ignored": 0, "failed": 0})
    );
    let products = setup.product_list().await;
    let active: Vec<&Value> = products.iter().map(|p| &p["active"]).collect();
    assert_eq!(active, [true, true, false, false], "{products:#?}");

    // Sold again: listed again, switched on again.
    setup.fake.put_item(item(4, 2.5));
    setup.sync_products().await;
    assert_eq!(setup.product("BROOD-04").await.unwrap()["active"], true);
}

#[tokio::test]
async fn the_delete_policy_deletes_an_item_deleted_at_exact_and_the_brake_holds_until_released() {
    let setup = connected().await;
    setup.import_items(4).await;
    setup.set_product_policy("DELETE", 50).await;
    setup.sync_products().await;

    setup.fake.remove_item(&id(1));
    let deleted = setup.sync_products().await;
    assert_eq!(deleted["deleted"], 1, "{deleted:#}");
    assert!(setup.product("BROOD-01").await.is_none(), "deleted in Koppel too");

    // Three more at once: more than half of the linked products, the brake holds.
    for n in 2..=4 {
        setup.fake.remove_item(&id(n));
    }
    let held = setup.product_run().await;
    assert!(held["heldBack"].as_str().unwrap().contains("3 of 3"), "{held:#}");
    assert_eq!(held["counts"]["deleted"], 0, "{held:#}");
    assert_eq!(setup.product_list().await.len(), 3);

    // Released: the same deletions are read again (the feed's cursor did not move) and applied.
    setup.set_product_policy("DELETE", 100).await;
    let released = setup.sync_products().await;
    assert_eq!(released["deleted"], 3, "{released:#}");
    assert!(setup.product_list().await.is_empty());
}

#[tokio::test]
async fn a_rate_limit_hit_while_paging_the_items_slows_the_pass_down_instead_of_failing_it() {
    let setup = connected().await;
    setup.import_items(12).await;
    for n in 1..=12 {
        setup.fake.put_item(item(n, 4.0));
    }
    // Four pages of items and a page of deletions at two calls per 2-second window (Exact: 60 a minute):
    // three windows, so the pass waits at least one whole window.
    setup.fake.set_sync_page(3);
    setup.fake.limit_rate(2, 5000, Duration::from_secs(2));
    let started = Instant::now();
    let counts = setup.sync_products().await;
    assert_eq!(counts["updated"], 12, "every page was read: {counts:#}");
    assert!(started.elapsed() >= Duration::from_secs(2), "waited for the window: {:?}", started.elapsed());
    assert_eq!(setup.item_syncs().len(), 4, "{:?}", setup.item_syncs());
    assert!(setup.product_list().await.iter().all(|p| p["tariffs"][0]["amount"] == "4.00"));
}

#[tokio::test]
async fn a_field_mapped_create_only_is_written_on_import_and_not_overwritten_when_exact_changes_it() {
    let setup = connected().await;
    let field = json!({"i": {"entity": "PRODUCT", "key": "ean", "label": "EAN", "fieldType": "TEXT"}});
    let created = setup.ok(EXTRA_FIELD, field).await;
    assert_eq!(created["createExtraField"]["userErrors"], json!([]), "{created:#}");
    // The name and the barcode are Koppel's own once imported (seed 002's "update product info" off for
    // them); the price follows Exact.
    let mappings = json!({"i": {"integrationId": setup.integration, "entity": "product", "mappings": [
        {"remoteField": "barcode", "targetKind": "EXTRA_FIELD", "target": "ean", "createOnly": true},
        {"remoteField": "name", "targetKind": "ATTRIBUTE", "target": "name", "createOnly": true}]}});
    let set = setup.ok(FIELD_MAPPINGS, mappings).await;
    assert_eq!(set["setFieldMappings"]["userErrors"], json!([]), "{set:#}");
    let imported = setup.import_items(1).await.remove(0);
    assert_eq!(imported["name"], "Brood 1");
    assert_eq!(imported["extraFields"], json!([{"key": "ean", "value": "8710000000001"}]), "{imported:#}");
    setup.sync_products().await;

    let mut changed = item(1, 2.95);
    changed["Description"] = json!("Volkorenbrood");
    changed["Barcode"] = json!("8710000009999");
    setup.fake.put_item(changed);
    let counts = setup.sync_products().await;
    assert_eq!(counts["updated"], 1, "{counts:#}");
    let synced = setup.product("BROOD-01").await.unwrap();
    assert_eq!(synced["name"], "Brood 1", "the name is create-only");
    assert_eq!(synced["extraFields"], imported["extraFields"], "the barcode is create-only");
    assert_eq!(synced["tariffs"][0]["amount"], "2.95", "the price follows Exact");

    // The name follows Exact again: the next pass reads the whole catalogue (the item did not change
    // since the last pass, but every product's content did) and brings Exact's name.
    let mappings = json!({"i": {"integrationId": setup.integration, "entity": "product", "mappings": [
        {"remoteField": "barcode", "targetKind": "EXTRA_FIELD", "target": "ean", "createOnly": true}]}});
    setup.ok(FIELD_MAPPINGS, mappings).await;
    let before = setup.item_syncs().len();
    let counts = setup.sync_products().await;
    assert_eq!(counts["updated"], 1, "{counts:#}");
    assert!(setup.item_syncs()[before].contains("$filter=Timestamp gt 1L"), "{:?}", setup.item_syncs());
    assert_eq!(setup.product("BROOD-01").await.unwrap()["name"], "Volkorenbrood");
}
