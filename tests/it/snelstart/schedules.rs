//! Customers and invoices on a schedule: an enabled SnelStart integration is synchronised by the daemon's
//! own schedule (hourly by default), without anyone asking, once per slot; the schedules are shown and
//! edited like the product schedule. Real HTTP to the fake, through the daemon's schedule and job queue.

use super::setup::Setup;
use super::{factuur, relatie};
use crate::common::TestServer;
use serde_json::{Value, json};
use std::time::Duration;

const UPDATE: &str = "mutation($i: UpdateIntegrationInput!) { updateIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const SCHEDULES: &str = "query($id: ID!) { integration(id: $id) {
  schedules { entity schedule setting timeZone nextRunAt } } }";
const RUNS: &str = "query($id: ID!) { syncRuns(integrationId: $id, first: 50) { edges { node {
  entity trigger state error counts { created } } } } }";
const COUNTS: &str =
    "{ customers(first: 100) { edges { node { id } } } invoices(first: 100) { edges { node { number customerId } } } }";

impl Setup {
    async fn runs(&self) -> Vec<Value> {
        let data = self.ok(RUNS, json!({"id": self.integration})).await;
        data["syncRuns"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
    }
}

#[tokio::test]
async fn an_enabled_integration_syncs_customers_and_invoices_on_its_schedule_without_sync_now() {
    let server = TestServer::start_with(|c| c.allow_private_remotes = true).await;
    let mut setup = Setup::on(server, json!({"unmatchedCustomers": "create"})).await;
    setup.fake.put_relatie(relatie("r1", 1001, "Bakkerij De Korenschoof", "info@korenschoof.nl", "69599068"));
    setup.fake.put_relatie(relatie("r2", 1002, "De Molen", "inkoop@demolen.nl", "68750110"));
    setup.fake.put_factuur(factuur("f1", 2024001, "r1", 121.0, 121.0));
    setup.fake.put_factuur(factuur("f2", 2024002, "r2", 60.5, 0.0));

    // Hourly by default, on Amsterdam's clock: customers on the hour, invoices ten minutes later.
    let shown = setup.ok(SCHEDULES, json!({"id": setup.integration})).await;
    let schedules = shown["integration"]["schedules"].as_array().unwrap().clone();
    let of = |entity: &str| schedules.iter().find(|s| s["entity"] == entity).unwrap_or_else(|| panic!("{entity}"));
    assert_eq!(
        (&of("customer")["schedule"], &of("customer")["setting"], &of("customer")["timeZone"]),
        (&json!("0 * * * *"), &json!("customerSyncSchedule"), &json!("Europe/Amsterdam"))
    );
    assert_eq!(
        (&of("invoice")["schedule"], &of("invoice")["setting"]),
        (&json!("10 * * * *"), &json!("invoiceSyncSchedule"))
    );
    assert_eq!(of("customer")["nextRunAt"], Value::Null, "a disabled integration is not scheduled");

    // A schedule that is not one is refused on its field and changes nothing.
    let settings = json!({"startDate": "2019-05-28", "customerSyncSchedule": "every hour"});
    let refused = setup.ok(UPDATE, json!({"i": {"id": setup.integration, "settings": settings}})).await;
    let errors = &refused["updateIntegration"]["userErrors"];
    assert_eq!(errors[0]["field"], "settings.customerSyncSchedule", "{refused:#}");
    assert_eq!(errors.as_array().unwrap().len(), 1, "{refused:#}");

    // Enabled, with the daemon's schedule running: the current slots are queued and run, nobody asks.
    let enabled = setup.ok(UPDATE, json!({"i": {"id": setup.integration, "enabled": true}})).await;
    assert_eq!(enabled["updateIntegration"]["userErrors"], json!([]), "{enabled:#}");
    setup.server.start_daemon(true).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let runs = setup.runs().await;
        let done = runs.iter().filter(|r| r["state"] == "SUCCEEDED" || r["state"] == "FAILED").count();
        if done >= 2 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the schedule ran no passes: {runs:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut runs = setup.runs().await;
    runs.sort_by_key(|r| r["entity"].to_string());
    assert_eq!(runs.len(), 2, "one pass per entity and slot: {runs:#?}");
    for (run, entity) in runs.iter().zip(["CUSTOMER", "INVOICE"]) {
        assert_eq!(
            (&run["entity"], &run["trigger"], &run["state"]),
            (&json!(entity), &json!("SCHEDULE"), &json!("SUCCEEDED")),
            "{run:#}"
        );
        assert_eq!(run["counts"]["created"], 2, "{run:#}");
    }
    let data = setup.ok(COUNTS, json!({})).await;
    assert_eq!(data["customers"]["edges"].as_array().unwrap().len(), 2, "{data:#}");
    let mut numbers: Vec<String> = data["invoices"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    assert_eq!(numbers, ["2024001", "2024002"]);

    // The next ticks find the same slots queued: nothing runs twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(setup.runs().await.len(), 2, "the slot is deduplicated");
    let shown = setup.ok(SCHEDULES, json!({"id": setup.integration})).await;
    let next: chrono::DateTime<chrono::Utc> =
        shown["integration"]["schedules"][0]["nextRunAt"].as_str().expect("scheduled now").parse().unwrap();
    assert!(next > chrono::Utc::now() && next <= chrono::Utc::now() + chrono::Duration::hours(1), "{next}");
}
