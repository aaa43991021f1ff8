//! Crash safety, tested by crashing: a `koppel daemon` killed with SIGKILL in the middle of a pass
//! loses nothing. Its job is taken again by another daemon once the lease runs out, the pass runs to the
//! end, and it is recorded once.

use super::client::Client;
use super::fixtures::{
    IMPORT, P1_SKU, Provider, create_integration, provider, provider_product, set_grants, set_token, tariffs,
};
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
pub(super) struct Daemon(pub(super) Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Account `consumer` on `server` with a peer integration to B through `base_url`.
async fn consumer_via<'a>(server: &'a TestServer, b: &Provider<'_>, base_url: &str) -> (Client<'a>, String) {
    let session = server.admin("consumer").await;
    let admin = Client::new(server, &session.token);
    let integration = create_integration(&admin, "Provider B", base_url, &b.account).await;
    set_token(&admin, &integration, "TEST", &b.secret).await;
    (admin, integration)
}

pub(super) fn daemon(server: &TestServer) -> Daemon {
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
    let (admin, integration) = consumer_via(&server, &b, &proxy.remote.base_url()).await;
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
    let run_id = admin.queue_sync(&integration).await;
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

/// How many times the crash loop kills a daemon, and over how many products: small in CI, larger as its
/// own command (`KOPPEL_CRASH_KILLS=20 KOPPEL_CRASH_PRODUCTS=300 cargo test --test it crash_loop`, see
/// docs/BENCHMARKS.md).
pub(super) fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A pseudo-random delay in `0..max` ms (no seed to keep: the moments differ from run to run).
pub(super) fn some_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64;
    (nanos ^ (nanos >> 7)).wrapping_mul(0x9E37_79B9_7F4A_7C15) % max.max(1)
}

#[tokio::test]
async fn crash_loop_a_daemon_killed_at_random_moments_of_a_pass_loses_nothing() {
    let (kills, count) = (setting("KOPPEL_CRASH_KILLS", 2), setting("KOPPEL_CRASH_PRODUCTS", 250));
    let server = TestServer::start_with(|c| c.allow_private_remotes = true).await;
    let b = provider(&server, "provider").await;
    let mut ids = vec![b.p1.clone(), b.p2.clone()];
    for n in 0..count {
        ids.push(
            provider_product(&b.admin, &format!("CRASH-{n:04}"), &format!("Crash {n}"), "green", &b.supplier).await,
        );
    }
    set_grants(&b.admin, &b.organisation, &ids.iter().map(String::as_str).collect::<Vec<_>>(), &[&b.flow]).await;
    let (admin, integration) = consumer_via(&server, &b, &format!("http://{}", server.addr)).await;
    let mut remote = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = admin
            .data(
                "query($id: ID!, $after: String) { remoteProducts(integrationId: $id, first: 100, after: $after) { nodes { remoteId } pageInfo { hasNextPage endCursor } } }",
                json!({"id": integration, "after": after}),
            )
            .await["remoteProducts"]
            .clone();
        remote.extend(page["nodes"].as_array().unwrap().iter().map(|p| p["remoteId"].clone()));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    for chunk in remote.chunks(100) {
        admin.mutate("importProducts", IMPORT, json!({"id": integration, "r": chunk})).await;
    }
    // B changes every tariff: the pass has `count + 2` products to write.
    for id in &ids {
        b.admin
            .mutate(
                "updateProduct",
                "mutation($id: ID!, $t: [TariffInput!]) { updateProduct(input: {id: $id, product: {tariffs: $t}}) { product { id } userErrors { field message code } } }",
                json!({"id": id, "t": tariffs("0.41421", "6.99")}),
            )
            .await;
    }

    let run_id = admin.queue_sync(&integration).await;
    let (mut killed, mut mid_pass) = (0, 0);
    let mut lease_held = false;
    for _ in 0..kills {
        if run_state(&admin, &run_id).await == "SUCCEEDED" {
            break;
        }
        let mut daemon = daemon(&server);
        // A daemon killed mid-pass holds its lease for 2 s more; then the pass takes a moment of its own.
        let wait = if lease_held { 2000 } else { 0 };
        tokio::time::sleep(Duration::from_millis(200 + wait + some_ms(800))).await;
        let at_kill = run_state(&admin, &run_id).await;
        daemon.0.kill().expect("SIGKILL");
        daemon.0.wait().unwrap();
        killed += 1;
        lease_held = at_kill == "RUNNING";
        mid_pass += usize::from(lease_held);
    }
    let _last = daemon(&server);
    let run = admin.finished_run(&run_id).await;
    eprintln!("crash loop: {killed} kills, {mid_pass} of them while the pass was running; {} products", count + 2);
    assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["counts"]["updated"], count + 2, "every product once: {run:#}");

    // Everything arrived, once: each product has B's tariff, and the run tells each update once.
    let mut products = Vec::new();
    let mut after = Value::Null;
    loop {
        let page = admin
            .data(
                "query($after: String) { products(first: 100, after: $after) { edges { node { sku tariffs { amount } } } pageInfo { hasNextPage endCursor } } }",
                json!({"after": after}),
            )
            .await["products"]
            .clone();
        products.extend(page["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(products.len(), count + 2);
    assert!(products.iter().all(|p| p["tariffs"].to_string().contains("0.41421")), "{products:#?}");
    let report = admin.sync_report_of(&integration, &run_id).await;
    let updates = report["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "UPDATE").count();
    assert_eq!(updates, count + 2, "one update event per product, however often the pass was cut off");
}

async fn run_state(admin: &Client<'_>, run_id: &Value) -> String {
    let run = admin.data("query($id: ID!) { syncRun(id: $id) { state } }", json!({"id": run_id})).await;
    run["syncRun"]["state"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_running_pass_shows_how_far_it_is() {
    // The in-process daemon runs the pass; the proxy holds its second page, so it stays mid-read.
    let server = TestServer::with_daemon(|c| c.allow_private_remotes = true).await;
    let b = provider(&server, "provider").await;
    let mut ids = vec![b.p1.clone(), b.p2.clone()];
    for n in 0..120 {
        ids.push(provider_product(&b.admin, &format!("MANY-{n:04}"), &format!("Many {n}"), "green", &b.supplier).await);
    }
    set_grants(&b.admin, &b.organisation, &ids.iter().map(String::as_str).collect::<Vec<_>>(), &[&b.flow]).await;
    let proxy = held_proxy(&format!("http://{}", server.addr)).await;
    let (admin, integration) = consumer_via(&server, &b, &proxy.remote.base_url()).await;

    proxy.hold_next("\"after\":\"");
    let run_id = admin.queue_sync(&integration).await;
    tokio::time::timeout(Duration::from_secs(30), proxy.held()).await.expect("the pass asked for the second page");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let run = loop {
        let run = admin
            .data("query($id: ID!) { syncRun(id: $id) { state progress { done total } } }", json!({"id": run_id}))
            .await["syncRun"]
            .clone();
        if run["progress"]["done"] != 0 || std::time::Instant::now() > deadline {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(run, json!({"state": "RUNNING", "progress": {"done": 100, "total": null}}), "the first page is read");
    let events = admin
        .data(
            "query($id: ID!, $run: ID) { syncEvents(integrationId: $id, runId: $run, minLevel: DEBUG) { edges { node { action message } } } }",
            json!({"id": integration, "run": run_id}),
        )
        .await;
    assert!(events.to_string().contains("100 records read"), "a progress event for followers: {events:#}");
}
