//! Items and sales orders (seed 002): Exact's sales items listed through the Sync API and imported as
//! products; a sale of such a product goes to Exact as a sales order through the outbox — the customer
//! created (a company debtor with its contact person) or found again by the matching key, every item
//! checked by SKU, the order made once even when its answer is lost on the way back.

use super::setup::Setup;
use crate::fakes::exact_online::{ExactOnline, exact_online};
use serde_json::{Value, json};
use std::time::Duration;

const OVEN: &str = "6a1e4c0b-6f0e-4c35-9d63-0c6f6f1d2a01";
const MIXER: &str = "6a1e4c0b-6f0e-4c35-9d63-0c6f6f1d2a02";
const FLOUR: &str = "6a1e4c0b-6f0e-4c35-9d63-0c6f6f1d2a03";

const REMOTE_PRODUCTS: &str =
    "query($id: ID!, $after: String) { remoteProducts(integrationId: $id, first: 50, after: $after) {
  nodes { remoteId sku name category fields { key value } tariffs { code label amount unit } }
  pageInfo { hasNextPage endCursor } } }";
const IMPORT: &str = "mutation($id: ID!, $r: [String!]!) { importProducts(input: {integrationId: $id, remoteIds: $r}) {
  products { id sku name } userErrors { field message code } } }";
const AUTHORISE: &str = "mutation($id: ID!) { setProductAuthorised(input: {id: $id, authorised: true}) {
  product { id } userErrors { field message code } } }";
const UPDATE: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const CUSTOMER: &str = "mutation($c: CustomerFields!) { createCustomer(input: {customer: $c}) {
  customer { id } userErrors { field message code } } }";
const SALE: &str =
    "mutation($i: CreateSaleInput!) { createSale(input: $i) { sale { id } userErrors { field message code } } }";
const TRANSMISSIONS: &str =
    "query($id: ID!) { sale(id: $id) { transmissions { state remoteId attempts lastError failure } } }";

fn item(id: &str, code: &str, description: &str, sales: Value, price: f64) -> Value {
    json!({
        "ID": id, "Code": code, "Description": description, "ExtraDescription": null,
        "IsSalesItem": sales, "IsStockItem": 1, "StandardSalesPrice": price, "SalesVatCode": "2  ",
        "Unit": "stuk", "ItemGroupCode": "OVENS     ", "Barcode": null,
        "Created": "/Date(1641038400000)/", "Modified": "/Date(1656676800000)/",
    })
}

/// A connected Exact Online integration with a daemon that forwards sales, its sales items
/// (an oven and a mixer) and a purchase-only one (flour) at Exact.
async fn connected() -> Setup {
    let fake: ExactOnline = exact_online().await;
    fake.put_item(item(OVEN, "OVEN-1", "Heteluchtoven 60 cm", json!(true), 1499.0));
    fake.put_item(item(MIXER, "MIX-20", "Spiraalmixer 20 liter", json!(1), 899.5));
    fake.put_item(item(FLOUR, "BLOEM-25", "Tarwebloem 25 kg", json!(0), 0.0));
    // Two rows a page, to see the Sync API's paging.
    fake.set_sync_page(2);
    Setup::connected(fake).await
}

/// Imports and authorises the items, switches automatic order processing on; the local product ids.
async fn selling(setup: &Setup, remote_ids: &[&str]) -> Vec<String> {
    let imported = setup.mutate("importProducts", IMPORT, json!({"id": setup.integration, "r": remote_ids})).await;
    let ids: Vec<String> =
        imported["products"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
    for id in &ids {
        setup.mutate("setProductAuthorised", AUTHORISE, json!({"id": id})).await;
    }
    let settings = json!({"autoProcessing": "all", "matchingKey": "email"});
    setup
        .mutate(
            "updateIntegration",
            UPDATE,
            json!({"i": {"id": setup.integration, "enabled": true, "settings": settings}}),
        )
        .await;
    ids
}

async fn customer(setup: &Setup, fields: Value) -> String {
    setup.mutate("createCustomer", CUSTOMER, json!({"c": fields})).await["customer"]["id"].as_str().unwrap().to_owned()
}

async fn sell(setup: &Setup, product: &str, customer: &str) -> String {
    let input = json!({"productId": product, "customerId": customer});
    setup.mutate("createSale", SALE, json!({"i": input})).await["sale"]["id"].as_str().unwrap().to_owned()
}

/// The sale's one transmission once it is no longer on its way.
async fn settled(setup: &Setup, sale: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found = setup.ok(TRANSMISSIONS, json!({"id": sale})).await["sale"]["transmissions"].clone();
        let all = found.as_array().unwrap();
        if all.len() == 1 && matches!(all[0]["state"].as_str(), Some("SENT" | "FAILED" | "DEAD")) {
            return all[0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "the sale did not settle: {found:#}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn company() -> Value {
    json!({"kind": "COMPANY", "companyName": "Bakkerij De Korenschoof", "firstName": "Anna", "lastName": "de Vries",
           "email": "anna@korenschoof.nl", "kvkNumber": "12345678"})
}

#[tokio::test]
async fn sales_items_are_listed_through_the_sync_api_and_imported_by_sku() {
    let setup = connected().await;
    let listed = setup.ok(REMOTE_PRODUCTS, json!({"id": setup.integration, "after": null})).await;
    let nodes = listed["remoteProducts"]["nodes"].as_array().unwrap().clone();
    let skus: Vec<&str> = nodes.iter().map(|n| n["sku"].as_str().unwrap()).collect();
    assert_eq!(skus, ["OVEN-1", "MIX-20"], "sales items only (flour is purchase-only): {listed:#}");
    let oven = &nodes[0];
    assert_eq!(oven["remoteId"], OVEN);
    assert_eq!(oven["name"], "Heteluchtoven 60 cm");
    assert_eq!(oven["category"], "OVENS", "the item group, without Exact's padding");
    assert_eq!(
        oven["tariffs"],
        json!([{"code": "standard", "label": "Standard sales price", "amount": "1499.00", "unit": "EUR/stuk"}])
    );
    assert!(oven["fields"].as_array().unwrap().contains(&json!({"key": "vatCode", "value": "2"})), "{oven:#}");

    // Exact's page held two rows; the next one (Exact's __next) holds only the purchase-only flour.
    let page = &listed["remoteProducts"]["pageInfo"];
    assert_eq!(page["hasNextPage"], true, "{listed:#}");
    let next = setup.ok(REMOTE_PRODUCTS, json!({"id": setup.integration, "after": page["endCursor"]})).await;
    assert_eq!(next["remoteProducts"]["nodes"], json!([]), "{next:#}");
    assert_eq!(next["remoteProducts"]["pageInfo"]["hasNextPage"], false, "{next:#}");
    let calls: Vec<String> = setup.fake.requests().into_iter().filter(|r| r.contains("sync/Logistics/Items")).collect();
    assert_eq!(calls.len(), 2, "three items, two a page: {calls:#?}");
    assert!(calls[0].contains("$filter=Timestamp gt 1") && calls[0].contains("$select=ID,Code,"), "{calls:#?}");
    assert!(calls[1].contains("$skiptoken="), "the next page follows __next: {calls:#?}");

    let imported = setup.mutate("importProducts", IMPORT, json!({"id": setup.integration, "r": [OVEN]})).await;
    assert_eq!(imported["products"][0]["sku"], "OVEN-1");
    assert_eq!(imported["products"][0]["name"], "Heteluchtoven 60 cm");
}

#[tokio::test]
async fn a_sale_becomes_a_sales_order_with_its_customer_made_first_and_found_again_next_time() {
    let setup = connected().await;
    let products = selling(&setup, &[OVEN, MIXER]).await;
    let anna = customer(&setup, company()).await;

    let first = sell(&setup, &products[0], &anna).await;
    let sent = settled(&setup, &first).await;
    assert_eq!(sent["state"], "SENT", "{sent:#}");
    let orders = setup.fake.sales_orders();
    assert_eq!(orders.len(), 1);
    assert_eq!(sent["remoteId"], orders[0]["OrderID"], "the transmission names Exact's order");
    let accounts = setup.fake.accounts();
    assert_eq!(accounts.len(), 1, "{accounts:#?}");
    assert_eq!(accounts[0]["Name"], "Bakkerij De Korenschoof", "a company debtor");
    assert_eq!(accounts[0]["ChamberOfCommerce"], "12345678");
    assert_eq!(orders[0]["OrderedBy"], accounts[0]["ID"], "the order is the new debtor's");
    assert_eq!(orders[0]["SalesOrderLines"]["results"], json!([{"Item": OVEN, "Quantity": 1.0}]));
    assert!(orders[0]["YourRef"].as_str().unwrap().starts_with("koppel-"), "{:#}", orders[0]);
    let contacts = setup.fake.contacts();
    assert_eq!(contacts.len(), 1, "with its contact person: {contacts:#?}");
    assert_eq!((contacts[0]["FirstName"].clone(), contacts[0]["LastName"].clone()), (json!("Anna"), json!("de Vries")));
    assert_eq!(contacts[0]["Account"], accounts[0]["ID"]);

    // The next sale of the same customer finds the debtor by e-mail: updated, not made again.
    let second = sell(&setup, &products[1], &anna).await;
    assert_eq!(settled(&setup, &second).await["state"], "SENT");
    assert_eq!(setup.fake.accounts().len(), 1, "found again by the matching key");
    assert_eq!(setup.fake.contacts().len(), 1, "the contact person is not made twice");
    let orders = setup.fake.sales_orders();
    assert_eq!(orders.len(), 2);
    assert_eq!(orders[1]["SalesOrderLines"]["results"][0]["Item"], MIXER);
    assert!(setup.fake.requests().iter().any(|r| r.starts_with("PUT ") && r.contains("crm/Accounts(guid'")), "updated");

    // A person (no company name) is a person debtor: an account in the person's name, no contact.
    let piet = customer(
        &setup,
        json!({"kind": "PERSON", "firstName": "Piet", "lastName": "Bakker", "email": "piet@example.nl"}),
    )
    .await;
    let third = sell(&setup, &products[0], &piet).await;
    assert_eq!(settled(&setup, &third).await["state"], "SENT");
    let accounts = setup.fake.accounts();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[1]["Name"], "Piet Bakker");
    assert_eq!(setup.fake.contacts().len(), 1, "a person debtor has no separate contact");
}

#[tokio::test]
async fn an_order_whose_answer_was_lost_is_found_by_its_reference_and_not_made_twice() {
    let setup = connected().await;
    let products = selling(&setup, &[OVEN]).await;
    let anna = customer(&setup, company()).await;
    setup.fake.lose_next_order_answer();
    let sale = sell(&setup, &products[0], &anna).await;
    let sent = settled(&setup, &sale).await;
    assert_eq!(sent["state"], "SENT", "{sent:#}");
    assert_eq!(sent["attempts"], 2, "the first attempt's answer was lost: {sent:#}");
    let orders = setup.fake.sales_orders();
    assert_eq!(orders.len(), 1, "one order at Exact: {orders:#?}");
    assert_eq!(sent["remoteId"], orders[0]["OrderID"]);
    let posts = setup
        .fake
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST ") && r.ends_with("salesorder/SalesOrders"))
        .count();
    assert_eq!(posts, 1, "the second attempt found the order by YourRef and did not post it again");
}

#[tokio::test]
async fn an_item_gone_at_exact_fails_the_order_by_name_and_writes_nothing_there() {
    let setup = connected().await;
    let products = selling(&setup, &[OVEN]).await;
    let anna = customer(&setup, company()).await;
    setup.fake.remove_item(OVEN);
    let sale = sell(&setup, &products[0], &anna).await;
    let failed = settled(&setup, &sale).await;
    assert_eq!((failed["state"].clone(), failed["failure"].clone()), (json!("FAILED"), json!("REMOTE")), "{failed:#}");
    assert!(failed["lastError"].as_str().unwrap().contains("no product with SKU OVEN-1"), "{failed:#}");
    assert!(setup.fake.sales_orders().is_empty());
    assert!(setup.fake.accounts().is_empty(), "no debtor made for an order that cannot be made");
}

const SYNC_PRODUCTS: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id, entities: [PRODUCT]}) {
  runs { id entity } userErrors { field message } } }";
const RUN: &str =
    "query($id: ID!) { syncRun(id: $id) { state error counts { created updated unchanged deactivated deleted } } }";
const PRODUCT: &str = "query($id: ID!) { product(id: $id) { sku name active tariffs { amount } } }";

/// A product pass, run by the daemon; the finished run.
async fn sync_products(setup: &Setup) -> Value {
    let queued = setup.mutate("syncNow", SYNC_PRODUCTS, json!({"id": setup.integration})).await;
    let run = queued["runs"][0]["id"].clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found = setup.ok(RUN, json!({"id": run})).await["syncRun"].clone();
        if found["state"] == "SUCCEEDED" || found["state"] == "FAILED" {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "the run did not finish: {found:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_item_changed_at_exact_is_updated_and_one_deleted_there_is_deactivated() {
    let setup = connected().await;
    let products = selling(&setup, &[OVEN, MIXER]).await;
    let run = sync_products(&setup).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["unchanged"], 2, "{run:#}");

    setup.fake.put_item(item(OVEN, "OVEN-1", "Heteluchtoven 60 cm (2027)", json!(true), 1549.0));
    setup.fake.remove_item(MIXER);
    let run = sync_products(&setup).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
    assert_eq!(
        (run["counts"]["updated"].clone(), run["counts"]["deactivated"].clone()),
        (json!(1), json!(1)),
        "{run:#}"
    );
    let oven = setup.ok(PRODUCT, json!({"id": products[0]})).await["product"].clone();
    assert_eq!(oven["name"], "Heteluchtoven 60 cm (2027)");
    assert_eq!(oven["tariffs"][0]["amount"], "1549.00");
    let mixer = setup.ok(PRODUCT, json!({"id": products[1]})).await["product"].clone();
    assert_eq!(mixer["active"], false, "gone at Exact: deactivated (the default policy)");
}
