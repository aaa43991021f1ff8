//! The sale-status pull (seed 000), end to end: A forwards a sale to B, B changes its status, and A's
//! `SALE_STATUS` pass brings the mapped status back — an event per change; an unmapped status changes
//! nothing and warns, naming it.

use super::fixtures::STATUS_MAPPINGS;
use super::forwarding::{Forwarding, forwarding};
use super::{id_of, nodes, peer_server, user_errors};
use serde_json::{Value, json};

const SYNC_STATUSES: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id, entities: [SALE_STATUS]}) {
  runs { id entity state } userErrors { field message code } } }";

const RUN_EVENTS: &str =
    "query($id: ID!, $run: ID) { syncEvents(integrationId: $id, runId: $run, minLevel: DEBUG, first: 100) {
  edges { node { level entity action direction localId remoteId message } } } }";

/// A's sale sent to B (B's id for it).
async fn sent(f: &Forwarding<'_>) -> (String, String) {
    let sale = f.sell("incasso", false).await;
    assert!(user_errors(&f.send(&sale).await).is_empty());
    let settled = f.settled(&sale).await;
    let transmission = &settled["transmissions"][0];
    assert_eq!(transmission["state"], "SENT", "{settled:#}");
    (sale, id_of(&transmission["remoteId"]))
}

/// B changes its sale `remote` to its status `key`.
async fn change_at_b(f: &Forwarding<'_>, remote: &str, key: &str) {
    let statuses = f.b.admin.data("{ statuses { edges { node { id key system } } } }", json!({})).await;
    let status = nodes(&statuses["statuses"]).into_iter().find(|s| s["key"] == key).expect("B has the status");
    f.b.admin
        .mutate(
            "changeSaleStatus",
            "mutation($id: ID!, $s: ID!) { changeSaleStatus(input: {id: $id, statusId: $s}) { sale { id } userErrors { field message code } } }",
            json!({"id": remote, "s": status["id"]}),
        )
        .await;
}

/// Runs A's status pull now and returns the finished run with its events.
async fn pull(f: &Forwarding<'_>) -> (Value, Vec<Value>) {
    let queued = f.a.admin.mutate("syncNow", SYNC_STATUSES, json!({"id": f.a.integration})).await;
    let runs = queued["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 1, "{queued:#}");
    assert_eq!(runs[0]["entity"], "SALE_STATUS");
    let run = f.a.admin.finished_run(&runs[0]["id"]).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
    let events = f.a.admin.data(RUN_EVENTS, json!({"id": f.a.integration, "run": run["id"]})).await;
    let events = nodes(&events["syncEvents"])
        .into_iter()
        .filter(|e| !["run_started", "run_finished", "progress"].contains(&e["action"].as_str().unwrap_or("")))
        .collect();
    (run, events)
}

async fn status_at_a(f: &Forwarding<'_>, sale: &str) -> String {
    f.sale(sale).await["status"]["key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_status_changed_at_the_provider_comes_back_through_the_status_mapping() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"checkStatusUpdates": true}), true).await;
    let mapped = json!({"i": {"integrationId": f.a.integration,
                              "mappings": [{"remoteStatus": "callback", "localStatusId": f.approved}]}});
    let payload = f.a.admin.mutate("setStatusMappings", STATUS_MAPPINGS, mapped).await;
    assert!(user_errors(&payload).is_empty(), "{payload:#}");
    let (called_back, called_back_at_b) = sent(&f).await;
    let (processed, processed_at_b) = sent(&f).await;
    assert_eq!(status_at_a(&f, &called_back).await, "sent", "the status after success");

    change_at_b(&f, &called_back_at_b, "callback").await;
    change_at_b(&f, &processed_at_b, "processed").await;
    let (run, events) = pull(&f).await;
    assert_eq!(status_at_a(&f, &called_back).await, "approved", "callback is mapped onto approved");
    assert_eq!(status_at_a(&f, &processed).await, "processed", "a system status maps by key");
    let counts = &run["counts"];
    assert_eq!(
        (counts["updated"].as_i64(), counts["unchanged"].as_i64(), counts["ignored"].as_i64()),
        (Some(2), Some(0), Some(0)),
        "{run:#}"
    );
    assert_eq!(events.len(), 2, "an event per change: {events:#?}");
    let told = events.iter().find(|e| e["localId"] == called_back.as_str()).expect("the change is told");
    assert_eq!(
        (told["entity"].as_str(), told["direction"].as_str(), told["level"].as_str()),
        (Some("SALE_STATUS"), Some("IN"), Some("INFO"))
    );
    assert_eq!(told["remoteId"], called_back_at_b.as_str());
    let message = told["message"].as_str().unwrap();
    assert!(message.contains("sent → approved") && message.contains("remote status callback"), "{message}");

    // Nothing changed since: the pull changes nothing and tells nothing.
    let (again, events) = pull(&f).await;
    assert_eq!(
        (again["counts"]["updated"].as_i64(), again["counts"]["unchanged"].as_i64()),
        (Some(0), Some(2)),
        "{again:#}"
    );
    assert!(events.is_empty(), "{events:#?}");
}

#[tokio::test]
async fn an_unmapped_status_at_the_provider_changes_nothing_and_warns_naming_it() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({"checkStatusUpdates": true}), true).await;
    let (sale, at_b) = sent(&f).await;
    change_at_b(&f, &at_b, "callback").await;
    let (run, events) = pull(&f).await;
    assert_eq!(status_at_a(&f, &sale).await, "sent", "only mapped statuses are synchronised");
    let counts = &run["counts"];
    assert_eq!((counts["updated"].as_i64(), counts["ignored"].as_i64()), (Some(0), Some(1)), "{run:#}");
    assert_eq!(events.len(), 1, "{events:#?}");
    let warning = &events[0];
    assert_eq!((warning["level"].as_str(), warning["action"].as_str()), (Some("WARN"), Some("unmapped")));
    assert_eq!(warning["localId"], sale.as_str());
    let message = warning["message"].as_str().unwrap();
    assert!(message.contains("callback") && message.contains(&sale), "names the status and the sale: {message}");
}

#[tokio::test]
async fn without_check_status_updates_the_pull_reads_nothing() {
    let server = peer_server().await;
    let f = forwarding(&server, json!({}), true).await;
    let (sale, at_b) = sent(&f).await;
    change_at_b(&f, &at_b, "processed").await;
    let (run, events) = pull(&f).await;
    assert_eq!(status_at_a(&f, &sale).await, "sent");
    assert_eq!(run["progress"]["total"], 0, "{run:#}");
    assert!(events.is_empty(), "{events:#?}");
}
