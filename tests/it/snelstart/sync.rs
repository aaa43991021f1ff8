//! Seed 004's customer sync end to end: sync customers (first full, then incremental), match by the
//! matching key, link by hand, and what happens when SnelStart deletes a relatie, limits the rate or
//! lets the token expire. Real HTTP to the fake, through the daemon's runs.

use super::relatie;
use super::setup::Setup;
use serde_json::{Value, json};
use std::time::Duration;

const UPDATE: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const SYNC_NOW: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id, entities: [CUSTOMER]}) {
  runs { id entity } userErrors { field message code } } }";
const RUN: &str = "query($id: ID!) { syncRun(id: $id) { id state error
  counts { created updated unchanged deactivated deleted ignored failed } } }";
const CUSTOMERS: &str = "{ customers(first: 100) { edges { node { id displayName email kvkNumber active } } } }";
const CREATE_CUSTOMER: &str = "mutation($c: CustomerFields!) { createCustomer(input: {customer: $c}) {
  customer { id } userErrors { field message code } } }";
const MATCHES: &str = "query($id: ID!) { customerMatches(integrationId: $id) { edges { node {
  remoteId label email kvkNumber unlinkedByHand suggestions { reason customer { id displayName } } } } } }";
const LINK: &str = "mutation($i: LinkCustomerInput!) { linkCustomer(input: $i) {
  customer { id } userErrors { field message code } } }";
const UNLINK: &str = "mutation($i: UnlinkCustomerInput!) { unlinkCustomer(input: $i) {
  customer { id } userErrors { field message code } } }";

impl Setup {
    /// Syncs customers (`invoices.rs` syncs them with the invoices, seed 004's "Sync All") and returns the
    /// customer run once it finished.
    async fn sync(&self) -> Value {
        let queued = self.ok(SYNC_NOW, json!({"id": self.integration})).await;
        let runs = queued["syncNow"]["runs"].as_array().unwrap().clone();
        let run = runs.iter().find(|r| r["entity"] == "CUSTOMER").expect("a customer run").clone();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let found = self.ok(RUN, json!({"id": run["id"]})).await["syncRun"].clone();
            if found["state"] == "SUCCEEDED" || found["state"] == "FAILED" {
                return found;
            }
            assert!(std::time::Instant::now() < deadline, "the run did not finish: {found:#}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Syncs and asserts the run succeeded; returns its counts.
    async fn synced(&self) -> Value {
        let run = self.sync().await;
        assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
        run["counts"].clone()
    }

    async fn customers(&self) -> Vec<Value> {
        let data = self.ok(CUSTOMERS, json!({})).await;
        data["customers"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
    }

    async fn customer_by_email(&self, email: &str) -> Option<Value> {
        self.customers().await.into_iter().find(|c| c["email"] == email)
    }

    async fn create_customer(&self, fields: Value) -> String {
        let created = self.ok(CREATE_CUSTOMER, json!({"c": fields})).await;
        created["createCustomer"]["customer"]["id"].as_str().expect("a customer").to_owned()
    }

    async fn matches(&self) -> Vec<Value> {
        let data = self.ok(MATCHES, json!({"id": self.integration})).await;
        data["customerMatches"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
    }
}

fn counts(created: i64, updated: i64, unchanged: i64, ignored: i64) -> Value {
    json!({"created": created, "updated": updated, "unchanged": unchanged, "deactivated": 0, "deleted": 0,
           "ignored": ignored, "failed": 0})
}

#[tokio::test]
async fn the_first_sync_matches_links_and_leaves_the_rest_for_review_then_only_what_changed_moves() {
    let setup = Setup::new(json!({})).await;
    let fake = &setup.fake;
    let known = setup
        .create_customer(json!({"kind": "COMPANY", "companyName": "Korenschoof", "email": "INFO@korenschoof.nl"}))
        .await;
    let similar = setup
        .create_customer(json!({"kind": "COMPANY", "companyName": "De Molen BV", "email": "molen@example.nl"}))
        .await;
    fake.put_relatie(relatie("r1", 1001, "Bakkerij De Korenschoof", "info@korenschoof.nl", "69599068"));
    fake.put_relatie(relatie("r2", 1002, "De Molen", "inkoop@demolen.nl", "68750110"));
    let mut old = relatie("r0", 1000, "Oude Klant", "oud@example.nl", "69599084");
    old["modifiedOn"] = "2018-01-01T00:00:00.000".into();
    fake.put_relatie(old);
    let mut supplier = relatie("s1", 2001, "Meelfabriek", "meel@example.nl", "90004973");
    supplier["relatiesoort"] = json!(["Leverancier"]);
    fake.put_relatie(supplier);

    // r1 matches by e-mail (case aside) and is linked; r2 waits for review; r0 is older than the start
    // date; a supplier is no customer.
    assert_eq!(setup.synced().await, counts(0, 1, 0, 1));
    let linked = setup.customer_by_email("info@korenschoof.nl").await.expect("linked and refreshed");
    assert_eq!(linked["id"], known.as_str());
    assert_eq!(linked["displayName"], "Bakkerij De Korenschoof", "SnelStart's data wins on a linked customer");
    assert_eq!(setup.customers().await.len(), 2, "nothing created");
    let matches = setup.matches().await;
    assert_eq!(matches.len(), 1, "{matches:#?}");
    assert_eq!(matches[0]["remoteId"], "r2");
    assert_eq!(matches[0]["label"], "1002 De Molen");
    assert_eq!(matches[0]["suggestions"][0]["customer"]["id"], similar.as_str());
    assert_eq!(matches[0]["suggestions"][0]["reason"], "similar name");

    // Nothing changed: nothing moves.
    assert_eq!(setup.synced().await, counts(0, 0, 0, 0));
    // One change at SnelStart: only it is read and written.
    fake.edit_relatie("r1", |r| r["telefoon"] = "06-11112222".into());
    assert_eq!(setup.synced().await, counts(0, 1, 0, 0));
    let lists: Vec<String> = fake.requests().into_iter().filter(|r| r.starts_with("GET /v2/relaties")).collect();
    assert!(lists[0].contains("$filter=ModifiedOn gt datetime'2019-05-27T23:59:59.999'"), "{lists:#?}");
    // After the first pass, changes are asked for since the highest modifiedOn seen; the listing from
    // the start date that finds deleted relaties (no deletion feed) keeps only their ids.
    let since_cursor: Vec<&String> = lists.iter().filter(|r| !r.contains("2019-05-27")).collect();
    assert!(!since_cursor.is_empty() && since_cursor.iter().all(|r| r.contains("$filter=ModifiedOn gt datetime'20")));
    assert!(lists.iter().all(|r| r.contains("$top=500")), "{lists:#?}");
    assert_eq!(fake.token_requests(), 1, "one token for every pass while it lives");
}

#[tokio::test]
async fn unmatched_relaties_are_created_when_the_setting_says_so() {
    let setup = Setup::new(json!({"unmatchedCustomers": "create", "matchingKey": "kvk_number"})).await;
    setup.create_customer(json!({"kind": "COMPANY", "companyName": "Korenschoof", "kvkNumber": "69599068"})).await;
    setup.fake.put_relatie(relatie("r1", 1001, "Bakkerij De Korenschoof", "info@korenschoof.nl", "69599068"));
    setup.fake.put_relatie(relatie("r2", 1002, "De Molen", "inkoop@demolen.nl", "68750110"));
    assert_eq!(setup.synced().await, counts(1, 1, 0, 0));
    let molen = setup.customer_by_email("inkoop@demolen.nl").await.expect("created");
    assert_eq!((molen["displayName"].clone(), molen["kvkNumber"].clone()), (json!("De Molen"), json!("68750110")));
    assert!(setup.matches().await.is_empty());
}

#[tokio::test]
async fn links_made_by_hand_win_over_matching_also_to_merge_duplicates() {
    let setup = Setup::new(json!({})).await;
    let fake = &setup.fake;
    let keep =
        setup.create_customer(json!({"kind": "COMPANY", "companyName": "De Molen", "email": "molen@example.nl"})).await;
    let duplicate = setup
        .create_customer(json!({"kind": "COMPANY", "companyName": "Molen, De", "email": "inkoop@demolen.nl"}))
        .await;
    fake.put_relatie(relatie("r2", 1002, "De Molen", "inkoop@demolen.nl", "68750110"));
    // Matched by e-mail to the duplicate.
    assert_eq!(setup.synced().await, counts(0, 1, 0, 0));

    // The person merges: the relatie belongs to the customer they keep.
    let linked =
        setup.ok(LINK, json!({"i": {"integrationId": setup.integration, "customerId": keep, "remoteId": "r2"}})).await;
    assert_eq!(linked["linkCustomer"]["userErrors"], json!([]), "{linked:#}");
    fake.edit_relatie("r2", |r| r["naam"] = "Bakkerij De Molen".into());
    assert_eq!(setup.synced().await, counts(0, 1, 0, 0));
    let customers = setup.customers().await;
    let kept = customers.iter().find(|c| c["id"] == keep.as_str()).unwrap();
    assert_eq!(kept["displayName"], "Bakkerij De Molen", "SnelStart's data now goes to the customer kept");
    let other = customers.iter().find(|c| c["id"] == duplicate.as_str()).unwrap();
    assert_eq!(other["displayName"], "De Molen", "the duplicate is no longer written");

    // Unlinked by hand: it waits for review and is never matched automatically again, even when its
    // e-mail address now matches exactly one customer.
    let unlinked = setup.ok(UNLINK, json!({"i": {"integrationId": setup.integration, "customerId": keep}})).await;
    assert_eq!(unlinked["unlinkCustomer"]["userErrors"], json!([]), "{unlinked:#}");
    setup.create_customer(json!({"kind": "COMPANY", "companyName": "Molen", "email": "nieuw@demolen.nl"})).await;
    fake.edit_relatie("r2", |r| r["email"] = "nieuw@demolen.nl".into());
    assert_eq!(setup.synced().await, counts(0, 0, 0, 1));
    let matches = setup.matches().await;
    assert_eq!((matches[0]["remoteId"].clone(), matches[0]["unlinkedByHand"].clone()), (json!("r2"), json!(true)));
    assert_eq!(matches[0]["email"], "nieuw@demolen.nl");
    assert_eq!(matches[0]["suggestions"][0]["reason"], "same e-mail address");

    // A link to a customer or relatie that does not exist is a user error.
    let refused = setup
        .ok(LINK, json!({"i": {"integrationId": setup.integration, "customerId": keep, "remoteId": "onbekend"}}))
        .await;
    assert_eq!(refused["linkCustomer"]["userErrors"][0]["field"], "remoteId", "{refused:#}");
}

#[tokio::test]
async fn a_relatie_deleted_at_snelstart_follows_the_missing_record_policy() {
    let setup = Setup::new(json!({"unmatchedCustomers": "create", "maxRemovalPercent": 100})).await;
    let fake = &setup.fake;
    for (n, email) in ["a@example.nl", "b@example.nl", "c@example.nl"].iter().enumerate() {
        fake.put_relatie(relatie(&format!("r{n}"), 1000 + n as i64, &format!("Klant {n}"), email, ""));
    }
    assert_eq!(setup.synced().await, counts(3, 0, 0, 0));

    // Deactivate (the default): the customer stays, switched off.
    fake.delete_relatie("r0");
    let run = setup.synced().await;
    assert_eq!(run["deactivated"], 1, "{run:#}");
    assert_eq!(setup.customer_by_email("a@example.nl").await.unwrap()["active"], false);
    assert_eq!(setup.customer_by_email("b@example.nl").await.unwrap()["active"], true);

    // Delete.
    let policies = json!([{"entity": "customer", "policy": "DELETE"}]);
    setup.ok(UPDATE, json!({"i": {"id": setup.integration, "missingRecordPolicies": policies}})).await;
    fake.delete_relatie("r1");
    let run = setup.synced().await;
    assert_eq!(run["deleted"], 2, "the one switched off before goes too: {run:#}");
    assert!(setup.customer_by_email("b@example.nl").await.is_none());

    // Ignore: it stays as it is.
    let policies = json!([{"entity": "customer", "policy": "IGNORE"}]);
    setup.ok(UPDATE, json!({"i": {"id": setup.integration, "missingRecordPolicies": policies}})).await;
    fake.delete_relatie("r2");
    assert_eq!(setup.synced().await, counts(0, 0, 0, 0));
    assert_eq!(setup.customer_by_email("c@example.nl").await.unwrap()["active"], true);
}

#[tokio::test]
async fn a_rate_limit_mid_sync_slows_the_sync_down_instead_of_failing_it() {
    let setup = Setup::new(json!({"unmatchedCustomers": "create"})).await;
    for n in 0..3 {
        setup.fake.put_relatie(relatie(
            &format!("r{n}"),
            1000 + n,
            &format!("Klant {n}"),
            &format!("k{n}@example.nl"),
            "",
        ));
    }
    // One call a second: the first page passes, the empty page that ends the listing hits the limit.
    setup.fake.limit_rate(1, Duration::from_secs(2));
    let started = std::time::Instant::now();
    assert_eq!(setup.synced().await, counts(3, 0, 0, 0));
    assert!(setup.fake.refused_for_rate() >= 1, "the limit was hit");
    assert!(started.elapsed() >= Duration::from_secs(1), "and waited out");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_and_the_sync_goes_on() {
    let setup = Setup::new(json!({"unmatchedCustomers": "create"})).await;
    setup.fake.put_relatie(relatie("r1", 1001, "Klant 1", "k1@example.nl", ""));
    assert_eq!(setup.synced().await, counts(1, 0, 0, 0));
    assert_eq!(setup.fake.token_requests(), 1);
    // SnelStart lets the token expire before Koppel expected: refused once, then a new one.
    setup.fake.expire_tokens();
    setup.fake.edit_relatie("r1", |r| r["naam"] = "Klant Een".into());
    assert_eq!(setup.synced().await, counts(0, 1, 0, 0));
    assert_eq!(setup.fake.token_requests(), 2);
    // A token that lives a second is renewed before it runs out, without a refusal.
    setup.fake.set_token_lifetime(Duration::from_secs(1));
    setup.fake.expire_tokens();
    assert_eq!(setup.synced().await, counts(0, 0, 0, 0));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(setup.synced().await, counts(0, 0, 0, 0));
    assert_eq!(setup.fake.token_requests(), 4);
}
