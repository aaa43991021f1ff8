//! Crash safety, tested by crashing: a `koppel daemon` killed with SIGKILL in the middle of a pass
//! loses nothing. Its job is taken again by another daemon once the lease runs out, the pass runs to the
//! end, and it is recorded once.

use super::client::Client;
use super::fixtures::{IMPORT, P1_SKU, create_integration, provider, set_token, tariffs};
use crate::common::TestServer;
use crate::fakes::held_proxy;
use koppel_entity::enums::JobState;
use koppel_entity::job;
use sea_orm::{ColumnTrait, Database, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `koppel daemon` on the server's database and data directory, with a 2-second lease. Killed with
/// SIGKILL when dropped (or by the test).
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn daemon(server: &TestServer) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_koppel"))
        .arg("daemon")
        .env("KOPPEL_DATABASE_URL", server.database_url())
        .env("KOPPEL_DATA_DIR", server.data_dir())
        .env("KOPPEL_ALLOW_PRIVATE_REMOTES", "true")
        .env("KOPPEL_JOB_LEASE_SECONDS", "2")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("koppel daemon starts");
    Daemon(child)
}

#[tokio::test]
async fn a_daemon_killed_mid_pass_loses_nothing_and_the_pass_completes_once() {
    // No daemon inside the server: the two `koppel daemon` processes do the work.
    let server = TestServer::start_with(|c| c.allow_private_remotes = true).await;
    let b = provider(&server, "provider").await;
    // A reaches B through a proxy that can hold a request: the daemon is then certainly mid-pass.
    let proxy = held_proxy(&format!("http://{}", server.addr)).await;
    let session = server.admin("consumer").await;
    let admin = Client::new(&server, &session.token);
    let integration = create_integration(&admin, "Provider B", &proxy.remote.base_url(), &b.account).await;
    set_token(&admin, &integration, "TEST", &b.secret).await;
    let remote: Vec<Value> = admin
        .data(
            "query($id: ID!) { remoteProducts(integrationId: $id) { nodes { remoteId } } }",
            json!({"id": integration}),
        )
        .await["remoteProducts"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["remoteId"].clone())
        .collect();
    admin.mutate("importProducts", IMPORT, json!({"id": integration, "r": remote})).await;
    // B changes P1's tariff: the pass has something to write.
    b.admin
        .mutate(
            "updateProduct",
            "mutation($id: ID!, $t: [TariffInput!]) { updateProduct(input: {id: $id, product: {tariffs: $t}}) { product { id } userErrors { field message code } } }",
            json!({"id": b.p1, "t": tariffs("0.31415", "6.99")}),
        )
        .await;

    // The first daemon takes the pass and is killed while it reads B's catalogue.
    proxy.hold_next("providerProducts");
    let mut first = daemon(&server);
    let queued = admin
        .mutate(
            "syncNow",
            "mutation($id: ID!) { syncNow(input: {integrationId: $id}) { runs { id } userErrors { field message code } } }",
            json!({"id": integration}),
        )
        .await;
    let run_id = queued["runs"][0]["id"].clone();
    tokio::time::timeout(Duration::from_secs(30), proxy.held()).await.expect("the daemon started the pass");
    first.0.kill().expect("SIGKILL");
    first.0.wait().unwrap();
    let run = admin.data("query($id: ID!) { syncRun(id: $id) { state } }", json!({"id": run_id})).await;
    assert_eq!(run["syncRun"]["state"], "RUNNING", "the pass was cut off mid-way");

    // A second daemon takes the job again once the lease ran out, and the pass completes.
    let _second = daemon(&server);
    let run = admin.finished_run(&run_id).await;
    assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["updated"], 1, "{run:#}");
    let products =
        admin.data("{ products { edges { node { sku tariffs { code amount } } } } }", json!({})).await["products"]
            .clone();
    let p1 = products["edges"].as_array().unwrap().iter().find(|e| e["node"]["sku"] == P1_SKU).unwrap().clone();
    assert!(p1.to_string().contains("0.31415"), "the change arrived: {p1:#}");

    // Once: one run, one job, claimed twice (the killed attempt and the one that finished).
    let runs = admin
        .data(
            "query($id: ID!) { syncRuns(integrationId: $id) { edges { node { id state } } } }",
            json!({"id": integration}),
        )
        .await;
    assert_eq!(runs["syncRuns"]["edges"].as_array().unwrap().len(), 1, "{runs:#}");
    let db = Database::connect(server.database_url()).await.unwrap();
    // (The daemons also queue the nightly retention job: only the passes count here.)
    // The run is finished before the worker marks its job done: wait for that too.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let jobs = loop {
        let jobs = job::Entity::find().filter(job::Column::Kind.eq("reconcile")).all(&db).await.unwrap();
        if jobs.iter().all(|j| j.state != JobState::Running) || std::time::Instant::now() > deadline {
            break jobs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    assert_eq!((jobs[0].state, jobs[0].attempts), (JobState::Done, 2), "{jobs:#?}");
}
