//! Attachments travel with the product (seed 001: "the tariff, the name or the attachments"): B's
//! provider surface lists them with a download link; A's import brings them in, and every pass follows
//! B adding, replacing and removing them, downloading only content it does not have.

use super::client::Client;
use super::fixtures::{P1_SKU, connected, import};
use super::peer_server;
use crate::common::TestServer;
use crate::common::upload::FilePart;
use serde_json::{Value, json};

const ADD: &str = "mutation($input: AddProductAttachmentInput!) {
  addProductAttachment(input: $input) { attachment { id sha256 } userErrors { field message code } } }";
const REMOVE: &str = "mutation($id: ID!) { removeProductAttachment(input: {id: $id}) { deletedId } }";
const ATTACHMENTS: &str =
    "query($id: ID!) { product(id: $id) { updatedAt attachments { title kind size sha256 fileName url } } }";
const PROVIDER: &str = "{ providerProducts { edges { node { sku attachments { title kind size sha256 url } } } } }";
const EVENTS: &str = "query($id: ID!, $run: ID) {
  syncEvents(integrationId: $id, runId: $run, first: 100) { edges { node { action message payload } } } }";

fn pdf(version: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {version}\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").into_bytes()
}

/// B attaches a file to one of its products; returns the attachment's id.
async fn add(server: &TestServer, admin: &Client<'_>, product: &str, title: &str, kind: &str, bytes: &[u8]) -> String {
    let input = json!({"input": {"productId": product, "title": title, "kind": kind, "file": null}});
    let file = FilePart {
        variable: "variables.input.file",
        name: &format!("{title}.pdf"),
        content_type: "application/pdf",
        bytes,
    };
    let (status, body) = server.upload(Some(admin.token()), ADD, input, &[file]).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["data"]["addProductAttachment"]["userErrors"], json!([]), "{body:#}");
    body["data"]["addProductAttachment"]["attachment"]["id"].as_str().unwrap().to_owned()
}

async fn attachments(admin: &Client<'_>, product: &str) -> Vec<Value> {
    admin.data(ATTACHMENTS, json!({"id": product})).await["product"]["attachments"].as_array().cloned().unwrap()
}

fn titles(attachments: &[Value]) -> Vec<(String, String)> {
    attachments
        .iter()
        .map(|a| (a["title"].as_str().unwrap().to_owned(), a["sha256"].as_str().unwrap().to_owned()))
        .collect()
}

async fn bytes_at(server: &TestServer, url: &str) -> Vec<u8> {
    let response = server.http.get(format!("http://{}{url}", server.addr)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.bytes().await.unwrap().to_vec()
}

/// The note of P1's change in a sync report.
fn note_of(report: &Value) -> Value {
    let changes = report["changes"].as_array().unwrap();
    changes.iter().find(|c| c["sku"] == P1_SKU).unwrap_or_else(|| panic!("P1 did not change: {report:#}"))["note"]
        .clone()
}

/// The `attachments` part of the payload of the run's update event for P1.
async fn attachment_changes(a: &Client<'_>, integration: &str, run: &Value) -> Value {
    let events = a.data(EVENTS, json!({"id": integration, "run": run["id"]})).await;
    let update = events["syncEvents"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"].clone())
        .find(|e| e["action"] == "update")
        .unwrap_or_else(|| panic!("no update event: {events:#}"));
    update["payload"]["attachments"].clone()
}

#[tokio::test]
async fn attachments_follow_the_provider_and_unchanged_files_are_not_downloaded_again() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let v1 = pdf("voorwaarden 2026");
    add(&server, &b.admin, &b.p1, "Voorwaarden", "CONDITIONS", &v1).await;

    // B's provider surface lists the granted product's attachments, with a link that downloads.
    let partner = Client::new(&server, &b.secret);
    let listed = partner.data(PROVIDER, json!({})).await;
    let p1 = listed["providerProducts"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["node"]["sku"] == P1_SKU)
        .map(|e| e["node"].clone())
        .unwrap();
    assert_eq!(p1["attachments"][0]["title"], "Voorwaarden");
    assert_eq!(p1["attachments"][0]["kind"], "CONDITIONS");
    assert_eq!(p1["attachments"][0]["size"], v1.len());
    assert_eq!(p1["attachments"][0]["sha256"], koppel_daemon::files::sha256_hex(&v1));
    assert_eq!(bytes_at(&server, p1["attachments"][0]["url"].as_str().unwrap()).await, v1);

    // A imports P1: the attachment comes with it, and downloads from A's own link.
    let imported = import(&a, &[&b.p1]).await;
    let local = imported[0]["id"].as_str().unwrap().to_owned();
    let at_a = attachments(&a.admin, &local).await;
    assert_eq!(titles(&at_a), [("Voorwaarden".to_owned(), koppel_daemon::files::sha256_hex(&v1))]);
    assert_eq!(at_a[0]["kind"], "CONDITIONS");
    assert_eq!(at_a[0]["fileName"], "Voorwaarden.pdf");
    assert_eq!(bytes_at(&server, at_a[0]["url"].as_str().unwrap()).await, v1);

    // B adds a brochure: A's next pass adds it, and says so.
    let brochure = pdf("brochure");
    let brochure_id = add(&server, &b.admin, &b.p1, "Brochure", "BROCHURE", &brochure).await;
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(report["updated"], 1, "an attachment change is a product change: {report:#}");
    assert_eq!(note_of(&report), "attachments: added Brochure", "{report:#}");
    assert!(report["lastSyncedAt"].is_string());
    let changes = attachment_changes(&a.admin, &a.integration, &report["run"]).await;
    assert_eq!(changes["downloaded"], json!(["Brochure"]), "only the new file was downloaded: {changes:#}");
    let at_a = attachments(&a.admin, &local).await;
    assert_eq!(at_a.iter().map(|x| x["title"].as_str().unwrap()).collect::<Vec<_>>(), ["Voorwaarden", "Brochure"]);

    // B replaces the conditions with a new version: A's pass follows, and lets go of the old file.
    let b_attachments: Vec<Value> = b
        .admin
        .data("query($id: ID!) { product(id: $id) { attachments { id title } } }", json!({"id": b.p1}))
        .await["product"]["attachments"]
        .as_array()
        .cloned()
        .unwrap();
    let v1_id = b_attachments.iter().find(|x| x["title"] == "Voorwaarden").unwrap()["id"].as_str().unwrap().to_owned();
    b.admin.data(REMOVE, json!({"id": v1_id})).await;
    let v2 = pdf("voorwaarden 2027");
    add(&server, &b.admin, &b.p1, "Voorwaarden", "CONDITIONS", &v2).await;
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(report["updated"], 1, "{report:#}");
    let note = note_of(&report);
    let note = note.as_str().unwrap();
    assert!(note.contains("added Voorwaarden") && note.contains("removed Voorwaarden"), "{note}");
    let at_a = attachments(&a.admin, &local).await;
    let v2_hash = koppel_daemon::files::sha256_hex(&v2);
    assert_eq!(titles(&at_a)[1], ("Voorwaarden".to_owned(), v2_hash.clone()));
    assert_eq!(bytes_at(&server, at_a[1]["url"].as_str().unwrap()).await, v2);
    assert_eq!(at_a[0]["title"], "Brochure", "moved up");
    let v1_hash = koppel_daemon::files::sha256_hex(&v1);
    let stored = crate::files::stored_objects(&server);
    assert!(!stored.contains(&v1_hash), "neither B nor A uses the first version any more");

    // B removes the brochure: A removes it too.
    b.admin.data(REMOVE, json!({"id": brochure_id})).await;
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(note_of(&report), "attachments: updated Voorwaarden; removed Brochure", "{report:#}");
    assert_eq!(titles(&attachments(&a.admin, &local).await), [("Voorwaarden".to_owned(), v2_hash)]);

    // Nothing changed at B: nothing to do, and lastSyncedAt stays.
    let report_again = a.admin.sync_report(&a.integration).await;
    assert_eq!((report_again["updated"].as_i64(), report_again["unchanged"].as_i64()), (Some(0), Some(1)));
    assert_eq!(report_again["lastSyncedAt"], report["lastSyncedAt"]);

    // B renames the product: A's pass updates it, and downloads nothing (the file is unchanged).
    b.admin
        .data(
            "mutation($id: ID!) { updateProduct(input: {id: $id, product: {name: \"Groene stroom 1 jaar (2027)\"}}) { product { id } } }",
            json!({"id": b.p1}),
        )
        .await;
    let report = a.admin.sync_report(&a.integration).await;
    assert_eq!(report["updated"], 1, "{report:#}");
    assert!(note_of(&report).is_null(), "{report:#}");
    let changes = attachment_changes(&a.admin, &a.integration, &report["run"]).await;
    assert_eq!(changes["downloaded"], json!([]), "{changes:#}");
    assert_eq!(attachments(&a.admin, &local).await.len(), 1);
}
