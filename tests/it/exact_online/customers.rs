//! Exact Online's accounts as Koppel's customers end to end: the first sync through the Sync API links
//! and creates, the next asks only `Timestamp gt <the highest seen>` and moves only what changed, and
//! an account deleted at Exact (`sync/Deleted`) is deactivated by the default missing-record policy.
//! Real HTTP to the fake, through the daemon's runs.

use super::setup::Setup;
use serde_json::{Value, json};
use std::time::Duration;

const UPDATE: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const SYNC_NOW: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id, entities: [CUSTOMER]}) {
  runs { id entity } userErrors { field message code } } }";
const RUN: &str = "query($id: ID!) { syncRun(id: $id) { id state error heldBack
  counts { created updated unchanged deactivated deleted ignored failed } } }";
const CUSTOMERS: &str = "{ customers(first: 100) { edges { node { id displayName email kvkNumber active } } } }";
const MATCHES: &str = "query($id: ID!) { customerMatches(integrationId: $id) { edges { node { remoteId label } } } }";
const CREATE_CUSTOMER: &str = "mutation($c: CustomerFields!) { createCustomer(input: {customer: $c}) {
  customer { id } userErrors { field message code } } }";

impl Setup {
    /// Syncs customers and returns the counts of the run, which must succeed.
    pub(super) async fn sync_customers(&self) -> Value {
        let run = self.customer_run().await;
        assert!(run["heldBack"].is_null(), "{run:#}");
        run["counts"].clone()
    }

    /// Syncs customers and returns the run, which must succeed.
    async fn customer_run(&self) -> Value {
        let queued = self.ok(SYNC_NOW, json!({"id": self.integration})).await;
        assert_eq!(queued["syncNow"]["userErrors"], json!([]), "{queued:#}");
        let run = queued["syncNow"]["runs"][0].clone();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let found = self.ok(RUN, json!({"id": run["id"]})).await["syncRun"].clone();
            if found["state"] == "SUCCEEDED" {
                return found;
            }
            assert_ne!(found["state"], "FAILED", "{found:#}");
            assert!(std::time::Instant::now() < deadline, "the run did not finish: {found:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn customer_list(&self) -> Vec<Value> {
        let data = self.ok(CUSTOMERS, json!({})).await;
        data["customers"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
    }

    /// The Sync API calls of accounts made so far.
    pub(super) fn account_syncs(&self) -> Vec<String> {
        self.fake.requests().into_iter().filter(|r| r.contains("sync/CRM/Accounts")).collect()
    }
}

pub(super) fn account(id: &str, code: u32, name: &str, email: &str) -> Value {
    json!({"ID": id, "Code": format!("{code:>18}"), "Name": name, "IsSales": 1, "Status": "C", "Email": email,
           "Phone": "030-1234567", "AddressLine1": "Dorpsstraat 1", "Postcode": "3511 AA", "City": "Utrecht",
           "Country": "NL", "VATNumber": "NL001234567B01", "ChamberOfCommerce": format!("1234{code:04}"),
           "Blocked": false, "Modified": "/Date(1764759600000)/"})
}

#[tokio::test]
async fn accounts_sync_incrementally_by_timestamp_and_a_deleted_one_is_deactivated() {
    let mut setup = Setup::new().await;
    setup.server.start_daemon(false).await;
    setup.connect().await;
    let settings = json!({"matchingKey": "email", "unmatchedCustomers": "create"});
    let updated = setup.ok(UPDATE, json!({"i": {"id": setup.integration, "settings": settings}})).await;
    assert_eq!(updated["updateIntegration"]["userErrors"], json!([]), "{updated:#}");
    let known = setup
        .ok(
            CREATE_CUSTOMER,
            json!({"c": {"kind": "COMPANY", "companyName": "Bakkerij Jansen", "email": "jan@bakkerij.nl"}}),
        )
        .await;
    let known = known["createCustomer"]["customer"]["id"].as_str().expect("a customer").to_owned();

    let fake = &setup.fake;
    fake.put_account(account("a-1", 1001, "Bakkerij Jansen", "jan@bakkerij.nl"));
    fake.put_account(account("a-2", 1002, "Slagerij De Vries", "info@devries.nl"));
    fake.put_account(account("a-3", 1003, "Groente Pieters", "piet@groente.nl"));
    // A supplier is no customer.
    fake.put_account(json!({"ID": "s-1", "Code": "              2001", "Name": "Meelfabriek", "IsSales": 0,
                            "Status": "A", "Email": "orders@meel.nl"}));
    // Pages of 2: the first sync reads more than one page.
    fake.set_sync_page(2);

    let first = setup.sync_customers().await;
    assert_eq!(first["created"], 2, "{first:#}");
    assert_eq!(first["updated"], 1, "the known customer is linked and refreshed: {first:#}");
    let customers = setup.customer_list().await;
    assert_eq!(customers.len(), 3, "{customers:?}");
    assert!(customers.iter().all(|c| c["email"] != "orders@meel.nl"), "no supplier: {customers:?}");
    let jansen = customers.iter().find(|c| c["email"] == "jan@bakkerij.nl").unwrap();
    assert_eq!(jansen["id"], known, "linked by e-mail, not duplicated");
    assert_eq!(jansen["kvkNumber"], "12341001");
    let syncs = setup.account_syncs();
    assert!(syncs[0].contains("$filter=Timestamp gt 1L") && syncs[0].contains("$select="), "{syncs:?}");

    // Only what changed moves, asked after the highest Timestamp seen.
    let highest = fake.last_timestamp();
    fake.put_account(account("a-2", 1002, "Slagerij De Vries & Zn", "info@devries.nl"));
    let before = setup.account_syncs().len();
    let second = setup.sync_customers().await;
    assert_eq!(second["updated"], 1, "{second:#}");
    assert_eq!(second["created"], 0, "{second:#}");
    assert_eq!(second["unchanged"], 0, "only the changed account is read: {second:#}");
    let asked = &setup.account_syncs()[before];
    assert!(asked.contains(&format!("Timestamp gt {highest}L")), "{asked}");
    let customers = setup.customer_list().await;
    assert!(customers.iter().any(|c| c["displayName"] == "Slagerij De Vries & Zn"), "{customers:?}");

    // Deleted at Exact: deactivated (the default policy), read from sync/Deleted.
    fake.delete_account("a-3");
    let third = setup.sync_customers().await;
    assert_eq!(third["deactivated"], 1, "{third:#}");
    let customers = setup.customer_list().await;
    let pieters = customers.iter().find(|c| c["email"] == "piet@groente.nl").unwrap();
    assert_eq!(pieters["active"], false, "{customers:?}");
    assert!(setup.fake.requests().iter().any(|r| r.contains("sync/Deleted")));

    // Nothing new: nothing moves, and the deletion is not applied twice.
    let fourth = setup.sync_customers().await;
    assert_eq!(
        fourth,
        json!({"created": 0, "updated": 0, "unchanged": 0, "deactivated": 0, "deleted": 0,
                              "ignored": 0, "failed": 0})
    );
}

#[tokio::test]
async fn the_brake_holds_deletions_back_and_they_are_read_again_once_released() {
    let mut setup = Setup::new().await;
    setup.server.start_daemon(false).await;
    setup.connect().await;
    let settings = |percent: u32| json!({"i": {"id": setup.integration, "settings": {"unmatchedCustomers": "create", "maxRemovalPercent": percent}}});
    setup.ok(UPDATE, settings(50)).await;
    setup.fake.put_account(account("a-1", 1001, "Bakkerij Jansen", "jan@bakkerij.nl"));
    setup.fake.put_account(account("a-2", 1002, "Slagerij De Vries", "info@devries.nl"));
    assert_eq!(setup.sync_customers().await["created"], 2);

    // Both accounts deleted at once: more than half of the linked customers, the brake holds.
    setup.fake.delete_account("a-1");
    setup.fake.delete_account("a-2");
    let held = setup.customer_run().await;
    assert!(held["heldBack"].is_string(), "{held:#}");
    assert_eq!(held["counts"]["deactivated"], 0, "{held:#}");
    assert!(setup.customer_list().await.iter().all(|c| c["active"] == true));

    // Released: the same deletions are read again (the feed's cursor did not move) and applied.
    setup.ok(UPDATE, settings(100)).await;
    let released = setup.sync_customers().await;
    assert_eq!(released["deactivated"], 2, "{released:#}");
    assert!(setup.customer_list().await.iter().all(|c| c["active"] == false));
}

#[tokio::test]
async fn an_account_left_for_review_is_forgotten_once_deleted_at_exact() {
    let mut setup = Setup::new().await;
    setup.server.start_daemon(false).await;
    setup.connect().await;
    setup.fake.put_account(account("a-1", 1001, "Bakkerij Jansen", "jan@bakkerij.nl"));
    assert_eq!(setup.sync_customers().await["created"], 0, "review is the default");
    let matches = setup.ok(MATCHES, json!({"id": setup.integration})).await;
    let edges = matches["customerMatches"]["edges"].as_array().unwrap().clone();
    assert_eq!(edges.len(), 1, "{matches:#}");
    assert_eq!(edges[0]["node"]["label"], "1001 Bakkerij Jansen", "the code without Exact's padding");

    setup.fake.delete_account("a-1");
    setup.sync_customers().await;
    let matches = setup.ok(MATCHES, json!({"id": setup.integration})).await;
    assert_eq!(matches["customerMatches"]["edges"], json!([]), "{matches:#}");
}
