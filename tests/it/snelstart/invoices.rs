//! Seed 004's invoices and payments end to end: verkoopfacturen pulled after the customers (first full,
//! then only what changed), a payment at SnelStart (a lower `openstaandSaldo`) shown as paid, and
//! another account never seeing them. Real HTTP to the fake, through the daemon's runs.

use super::setup::Setup;
use super::{factuur, relatie};
use serde_json::{Value, json};
use std::time::Duration;

const SYNC_NOW: &str = "mutation($id: ID!, $entities: [SyncEntity!]) {
  syncNow(input: {integrationId: $id, entities: $entities}) { runs { id entity } userErrors { field message } } }";
const RUN: &str = "query($id: ID!) { syncRun(id: $id) { id entity state error heldBack
  counts { created updated unchanged deactivated deleted ignored failed } } }";
const INVOICES: &str =
    "query($open: Boolean, $customer: ID) { invoices(first: 100, open: $open, customerId: $customer) {
  edges { node { id customerId number invoiceDate dueDate amount openAmount paidAmount paymentState
  removedAtRemote } } } }";
const CUSTOMER_INVOICES: &str = "{ customers(first: 100) { edges { node { id email
  invoices(first: 10) { edges { node { number paymentState } } } } } } }";
const EVENTS: &str = "query($id: ID!, $run: ID) { syncEvents(integrationId: $id, runId: $run, first: 100) {
  edges { node { entity action remoteId message payload } } } }";

fn counts(created: i64, updated: i64, unchanged: i64) -> Value {
    json!({"created": created, "updated": updated, "unchanged": unchanged, "deactivated": 0, "deleted": 0,
           "ignored": 0, "failed": 0})
}

impl Setup {
    /// Syncs `entities` (all the kind syncs when null) and returns every run once all finished.
    pub(super) async fn sync_entities(&self, entities: Value) -> Vec<Value> {
        let queued = self.ok(SYNC_NOW, json!({"id": self.integration, "entities": entities})).await;
        assert_eq!(queued["syncNow"]["userErrors"], json!([]), "{queued:#}");
        let mut done = Vec::new();
        for run in queued["syncNow"]["runs"].as_array().unwrap() {
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            loop {
                let found = self.ok(RUN, json!({"id": run["id"]})).await["syncRun"].clone();
                if found["state"] == "SUCCEEDED" || found["state"] == "FAILED" {
                    assert_eq!(found["state"], "SUCCEEDED", "{found:#}");
                    done.push(found);
                    break;
                }
                assert!(std::time::Instant::now() < deadline, "the run did not finish: {found:#}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        done
    }

    /// Syncs invoices only; returns the run's counts.
    async fn invoices_synced(&self) -> Value {
        let runs = self.sync_entities(json!(["INVOICE"])).await;
        runs[0]["counts"].clone()
    }

    async fn invoices(&self, open: Option<bool>) -> Vec<Value> {
        let data = self.ok(INVOICES, json!({"open": open})).await;
        data["invoices"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
    }
}

fn by_number(invoices: &[Value], number: &str) -> Value {
    invoices.iter().find(|i| i["number"] == number).cloned().unwrap_or_else(|| panic!("{number} in {invoices:#?}"))
}

/// Two relaties with an invoice each, one paid, and one invoice older than the start date.
async fn with_invoices() -> Setup {
    let setup = Setup::new(json!({"unmatchedCustomers": "create"})).await;
    let fake = &setup.fake;
    fake.put_relatie(relatie("r1", 1001, "Bakkerij De Korenschoof", "info@korenschoof.nl", "69599068"));
    fake.put_relatie(relatie("r2", 1002, "De Molen", "inkoop@demolen.nl", "68750110"));
    fake.put_factuur(factuur("f1", 2024001, "r1", 121.0, 121.0));
    fake.put_factuur(factuur("f2", 2024002, "r2", 60.5, 0.0));
    let mut old = factuur("f0", 2018001, "r1", 10.0, 10.0);
    old["modifiedOn"] = "2018-01-01T00:00:00.000".into();
    fake.put_factuur(old);
    setup
}

#[tokio::test]
async fn the_first_sync_pulls_customers_then_invoices_and_then_only_what_changed_moves() {
    let setup = with_invoices().await;
    let fake = &setup.fake;
    // "Sync all": customers and invoices.
    let runs = setup.sync_entities(Value::Null).await;
    let entities: Vec<&Value> = runs.iter().map(|r| &r["entity"]).collect();
    assert_eq!(entities, [&json!("CUSTOMER"), &json!("INVOICE")]);
    let invoice_run = &runs[1];
    assert_eq!(invoice_run["counts"], counts(2, 0, 0), "the invoice of 2018 is older than the start date");
    // The customer pass may still have been linking when the invoices came: a later pass fills them in.
    assert_eq!(setup.invoices_synced().await, counts(0, 0, 0), "nothing changed");

    let invoices = setup.invoices(None).await;
    assert_eq!(invoices.len(), 2, "{invoices:#?}");
    let f1 = by_number(&invoices, "2024001");
    assert_eq!((f1["amount"].clone(), f1["openAmount"].clone()), (json!("121.00"), json!("121.00")));
    assert_eq!((f1["paidAmount"].clone(), f1["paymentState"].clone()), (json!("0.00"), json!("OPEN")));
    assert_eq!((f1["invoiceDate"].clone(), f1["dueDate"].clone()), (json!("2024-03-01"), json!("2024-03-31")));
    assert_eq!(by_number(&invoices, "2024002")["paymentState"], "PAID");
    let customers = setup.ok(CUSTOMER_INVOICES, json!({})).await;
    let customers = customers["customers"]["edges"].as_array().unwrap();
    let korenschoof = customers.iter().find(|c| c["node"]["email"] == "info@korenschoof.nl").unwrap();
    assert_eq!(f1["customerId"], korenschoof["node"]["id"], "the customer linked to the relatie");
    assert_eq!(
        korenschoof["node"]["invoices"]["edges"],
        json!([{"node": {"number": "2024001", "paymentState": "OPEN"}}])
    );

    // One invoice changes at SnelStart: only it is read and written.
    let mut changed = factuur("f2", 2024002, "r2", 60.5, 0.0);
    changed["vervalDatum"] = "2024-04-30T00:00:00".into();
    fake.put_factuur(changed);
    assert_eq!(setup.invoices_synced().await, counts(0, 1, 0));
    assert_eq!(by_number(&setup.invoices(None).await, "2024002")["dueDate"], "2024-04-30");
    let lists: Vec<String> = fake.requests().into_iter().filter(|r| r.starts_with("GET /v2/verkoopfacturen")).collect();
    assert!(lists[0].contains("$filter=ModifiedOn gt datetime'2019-05-27T23:59:59.999'"), "{lists:#?}");
    // Later passes ask for what changed since the highest modifiedOn seen; the listing from the start
    // date that finds deleted invoices (no deletion feed) keeps only their ids.
    let since_cursor = lists.iter().rev().find(|r| r.contains("$skip=0") && !r.contains("2019-05-27"));
    assert!(since_cursor.is_some_and(|r| r.contains("$filter=ModifiedOn gt datetime'20")), "{lists:#?}");
    assert!(lists.iter().all(|r| r.contains("$top=500")), "{lists:#?}");
}

#[tokio::test]
async fn a_payment_at_snelstart_lowers_the_open_balance_and_shows_as_paid() {
    let setup = with_invoices().await;
    setup.sync_entities(Value::Null).await;
    setup.fake.pay("f1", 21.0);
    assert_eq!(setup.invoices_synced().await, counts(0, 1, 0));
    let f1 = by_number(&setup.invoices(None).await, "2024001");
    assert_eq!((f1["openAmount"].clone(), f1["paidAmount"].clone()), (json!("100.00"), json!("21.00")));
    assert_eq!(f1["paymentState"], "PARTLY_PAID");
    let open: Vec<Value> = setup.invoices(Some(true)).await.into_iter().map(|i| i["number"].clone()).collect();
    assert_eq!(open, [json!("2024001")]);

    // The payment is told in the invoice's event.
    let runs = setup.ok(EVENTS, json!({"id": setup.integration})).await;
    let events = runs["syncEvents"]["edges"].as_array().unwrap();
    let paid = events.iter().rev().find(|e| e["node"]["remoteId"] == "f1").expect("an event of f1");
    assert_eq!(paid["node"]["entity"], "INVOICE");
    assert!(paid["node"]["payload"].to_string().contains("\"paymentCents\":2100"), "{paid:#}");

    setup.fake.pay("f1", 100.0);
    assert_eq!(setup.invoices_synced().await, counts(0, 1, 0));
    assert_eq!(by_number(&setup.invoices(None).await, "2024001")["paymentState"], "PAID");
    assert!(setup.invoices(Some(true)).await.is_empty());
    assert_eq!(setup.invoices(Some(false)).await.len(), 2);
}

#[tokio::test]
async fn another_account_never_sees_the_invoices() {
    let setup = with_invoices().await;
    setup.sync_entities(Value::Null).await;
    assert_eq!(setup.invoices(None).await.len(), 2);
    let other = setup.server.admin("molen").await;
    let seen = setup.server.gql_ok(Some(&other.token), INVOICES, json!({})).await;
    assert_eq!(seen["invoices"]["edges"], json!([]));
    // Not even when asking by one of the first account's customers.
    let customer = by_number(&setup.invoices(None).await, "2024001")["customerId"].clone();
    let seen = setup.server.gql_ok(Some(&other.token), INVOICES, json!({"customer": customer})).await;
    assert_eq!(seen["invoices"]["edges"], json!([]));
}

#[tokio::test]
async fn an_invoice_deleted_at_snelstart_follows_the_missing_record_policy() {
    let setup = with_invoices().await;
    let fake = &setup.fake;
    fake.put_factuur(factuur("f3", 2024003, "r2", 30.0, 30.0));
    fake.put_factuur(factuur("f4", 2024004, "r2", 40.0, 40.0));
    setup.sync_entities(Value::Null).await;
    assert!(setup.invoices(None).await.iter().all(|i| i["removedAtRemote"].is_null()));

    // Deactivate (the default): the invoice stays, marked as removed at SnelStart, and an event says so.
    fake.delete_factuur("f1");
    let runs = setup.sync_entities(json!(["INVOICE"])).await;
    let run = &runs[0];
    assert_eq!((run["counts"]["deactivated"].clone(), run["counts"]["updated"].clone()), (json!(1), json!(0)));
    let invoices = setup.invoices(None).await;
    assert!(by_number(&invoices, "2024001")["removedAtRemote"].is_string(), "{invoices:#?}");
    assert!(by_number(&invoices, "2024002")["removedAtRemote"].is_null());
    let events = setup.ok(EVENTS, json!({"id": setup.integration, "run": run["id"]})).await;
    let events = events["syncEvents"]["edges"].as_array().unwrap();
    let told = events.iter().find(|e| e["node"]["remoteId"] == "f1").expect("an event of f1");
    assert_eq!(
        (told["node"]["entity"].clone(), told["node"]["action"].clone()),
        (json!("INVOICE"), json!("deactivate"))
    );
    // Nothing else changed, and the next pass leaves the removed invoice as it is.
    assert_eq!(setup.invoices_synced().await, counts(0, 0, 0));

    // Back at SnelStart: no longer marked.
    fake.put_factuur(factuur("f1", 2024001, "r1", 121.0, 121.0));
    assert_eq!(setup.invoices_synced().await, counts(0, 1, 0));
    assert!(by_number(&setup.invoices(None).await, "2024001")["removedAtRemote"].is_null());

    // The brake: three of four gone is more than the 50 % one pass may remove: nothing is, and the run
    // says why.
    for id in ["f1", "f2", "f3"] {
        fake.delete_factuur(id);
    }
    let runs = setup.sync_entities(json!(["INVOICE"])).await;
    assert_eq!(runs[0]["counts"]["deactivated"], 0, "{:#}", runs[0]);
    assert!(runs[0]["heldBack"].as_str().unwrap().contains("3 of 4"), "{:#}", runs[0]);
    assert!(setup.invoices(None).await.iter().all(|i| i["removedAtRemote"].is_null()));

    // Delete: the invoice goes.
    let policies = json!([{"entity": "invoice", "policy": "DELETE"}]);
    let update = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) { userErrors { field } } }";
    let settings = json!({"startDate": "2019-05-28", "unmatchedCustomers": "create", "maxRemovalPercent": 100});
    let input = json!({"i": {"id": setup.integration, "missingRecordPolicies": policies, "settings": settings}});
    assert_eq!(setup.ok(update, input).await["updateIntegration"]["userErrors"], json!([]));
    let runs = setup.sync_entities(json!(["INVOICE"])).await;
    assert_eq!(runs[0]["counts"]["deleted"], 3, "{:#}", runs[0]);
    let left: Vec<Value> = setup.invoices(None).await.into_iter().map(|i| i["number"].clone()).collect();
    assert_eq!(left, [json!("2024004")]);
}

const CUSTOMER_PAGE: &str = "query($first: Int, $per: Int) { customers(first: $first) { nodes { email
  invoices(first: $per) { nodes { number } pageInfo { hasNextPage } } } } }";

#[tokio::test]
async fn a_page_of_customers_with_their_invoices_costs_a_constant_number_of_statements() {
    let setup = Setup::new(json!({"unmatchedCustomers": "create"})).await;
    // Relatie i has i invoices.
    for i in 0..12i64 {
        let relatie_id = format!("r{i:02}");
        setup.fake.put_relatie(relatie(
            &relatie_id,
            1000 + i,
            &format!("Klant {i:02}"),
            &format!("k{i:02}@example.nl"),
            "",
        ));
        for k in 0..i {
            let number = 20240000 + i * 100 + k;
            setup.fake.put_factuur(factuur(&format!("f{i:02}-{k:02}"), number, &relatie_id, 10.0, 10.0));
        }
    }
    setup.sync_entities(json!(["CUSTOMER"])).await;
    setup.sync_entities(json!(["INVOICE"])).await;

    let data = setup.ok(CUSTOMER_PAGE, json!({"first": 12, "per": 3})).await;
    let customers = data["customers"]["nodes"].as_array().unwrap();
    assert_eq!(customers.len(), 12);
    for customer in customers {
        let i: i64 = customer["email"].as_str().unwrap()[1..3].parse().unwrap();
        let numbers: Vec<String> = customer["invoices"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["number"].as_str().unwrap().to_owned())
            .collect();
        let expected: Vec<String> = (0..i.min(3)).map(|k| (20240000 + i * 100 + k).to_string()).collect();
        assert_eq!(numbers, expected, "customer {i}: the first three by id (the order they were written)");
        assert_eq!(customer["invoices"]["pageInfo"]["hasNextPage"], i > 3, "customer {i}");
    }
    // Open and paid ones narrow per customer too, in the same one statement.
    let open = "{ customers(first: 12) { nodes { paid: invoices(open: false) { nodes { number } }
      open: invoices(open: true, first: 1) { nodes { number } } } } }";
    let data = setup.ok(open, json!({})).await;
    assert!(data["customers"]["nodes"].as_array().unwrap().iter().all(|c| c["paid"]["nodes"] == json!([])));

    let mut counts = Vec::new();
    for variables in [json!({"first": 2, "per": 1}), json!({"first": 12, "per": 10})] {
        let before = setup.server.metrics_statements().await;
        setup.ok(CUSTOMER_PAGE, variables).await;
        counts.push(setup.server.metrics_statements().await - before);
    }
    // The customers, then their invoices: two statements however many customers and invoices.
    assert_eq!(counts, [2, 2], "statements per request: {counts:?}");
}
