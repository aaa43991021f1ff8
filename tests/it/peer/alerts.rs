//! Alerts reach the operator at once: a pass held back by the brake is an ALERT event, POSTed to the
//! account's alert webhook signed the Standard Webhooks way (checked with the reference library, not
//! with Koppel's own code), retried when the receiver is down, delivered once; and `/metrics` shows
//! the engine's figures.

use super::fixtures::{Consumer, IMPORT, Provider, UPDATE_INTEGRATION, connected, remote_products, set_grants};
use super::{nodes, peer_server};
use crate::common::TestServer;
use crate::fakes::{self, Received};
use axum::http::StatusCode;
use koppel_daemon::jobs::worker::{self, WorkerConfig};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const SET_WEBHOOK: &str = "mutation($url: String!) { setAlertWebhook(input: {url: $url}) {
  created { secret alertWebhook { url createdAt lastDeliveredAt lastError } } userErrors { field message code } } }";
const WEBHOOK: &str = "{ alertWebhook { url createdAt updatedAt lastDeliveredAt lastError } }";
const ALERTS: &str = "query($id: ID!) { syncEvents(integrationId: $id, minLevel: ALERT) { edges { node {
  id runId level entity action message } } } }";

/// A and B connected, with P1 and P2 imported by A, and A's integration enabled.
async fn imported(server: &TestServer) -> (Provider<'_>, Consumer<'_>) {
    let (b, a) = connected(server).await;
    let remote: Vec<Value> =
        remote_products(&a.admin, &a.integration).await.iter().map(|p| p["remoteId"].clone()).collect();
    a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": remote})).await;
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": a.integration, "enabled": true}})).await;
    (b, a)
}

/// Queues a product pass of the integration as the engine does (the one place this test starts a pass;
/// the workers below run it). Returns the run's id.
async fn queue_pass(server: &TestServer, integration_id: &str) -> String {
    use koppel_entity::enums::{LinkedEntity, RunTrigger};
    use sea_orm::EntityTrait;
    let db = &server.server.state.db;
    let id = uuid::Uuid::parse_str(integration_id).unwrap();
    let integration = koppel_entity::integration::Entity::find_by_id(id).one(db).await.unwrap().unwrap();
    let run = koppel_daemon::reconcile::job::queue_pass(db, &integration, LinkedEntity::Product, RunTrigger::Api, None)
        .await
        .unwrap()
        .expect("a queued run");
    run.id.to_string()
}

/// The daemon's job workers in this process (not its schedule: no pass runs but the test's), until dropped.
struct Workers(tokio::sync::watch::Sender<bool>);

impl Workers {
    fn start(server: &TestServer) -> Self {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let config = WorkerConfig {
            owner: format!("alerts-test:{}", uuid::Uuid::now_v7()),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_millis(100),
            max_batch: worker::DEFAULT_MAX_BATCH,
        };
        let ctx = server.server.state.engine.clone();
        tokio::spawn(worker::run(ctx, config, Arc::new(koppel_daemon::process::Dispatch::default()), stopped));
        Self(stop)
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

/// Verifies a delivery with the Standard Webhooks reference library.
fn verify(secret: &str, delivery: &Received) -> Result<(), standardwebhooks::WebhookError> {
    standardwebhooks::Webhook::new(secret).expect("a whsec_ secret").verify(&delivery.body, &delivery.headers)
}

async fn metrics(server: &TestServer) -> String {
    let url = format!("http://{}/metrics", server.addr);
    server.http.get(url).send().await.unwrap().text().await.unwrap()
}

/// The value of the first series line that starts with `prefix` (name and the labels given).
fn series(metrics: &str, prefix: &str) -> Option<f64> {
    metrics.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn a_held_back_pass_is_posted_signed_to_the_alert_webhook_retried_and_delivered_once() {
    let server = peer_server().await;
    let (b, a) = imported(&server).await;
    // The receiver is down at first: 503 with Retry-After, then it takes the alert.
    let receiver = fakes::receiver(vec![(StatusCode::SERVICE_UNAVAILABLE, &[("retry-after", "1")])]).await;

    let created =
        a.admin.mutate("setAlertWebhook", SET_WEBHOOK, json!({"url": receiver.url()})).await["created"].clone();
    let secret = created["secret"].as_str().expect("the secret, shown once").to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 6 + 32, "{secret}");
    assert_eq!(created["alertWebhook"]["url"], receiver.url());
    assert_eq!(created["alertWebhook"]["lastDeliveredAt"], Value::Null);
    let shown = a.admin.raw(WEBHOOK, json!({})).await;
    assert_eq!(shown["data"]["alertWebhook"]["url"], receiver.url());
    assert!(!shown.to_string().contains(&secret), "the secret is not shown again: {shown}");
    let asked = a.admin.raw("{ alertWebhook { url secret } }", json!({})).await;
    assert!(asked["errors"][0]["message"].as_str().unwrap().contains("secret"), "no such field: {asked}");

    // B withdraws every product: A's pass would deactivate all of them, and the brake holds it back.
    set_grants(&b.admin, &b.organisation, &[], &[&b.flow]).await;
    let run = queue_pass(&server, &a.integration).await;
    let workers = Workers::start(&server);
    let deliveries = receiver.wait_for(2, Duration::from_secs(45)).await;

    // One alert event, and its delivery: tried, refused with 503, tried again after the backoff.
    let alerts = nodes(&a.admin.data(ALERTS, json!({"id": a.integration})).await["syncEvents"]);
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!((alert["action"].as_str(), alert["runId"].as_str()), (Some("held_back"), Some(run.as_str())));
    for delivery in &deliveries {
        assert_eq!(delivery.header("webhook-id"), alert["id"].as_str().unwrap(), "the event's id, on every try");
        assert_eq!(delivery.header("content-type"), "application/json");
        verify(&secret, delivery).unwrap_or_else(|e| panic!("the signature does not verify: {e:?}"));
        assert!(verify("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", delivery).is_err(), "another secret fails");
    }
    let timestamps: Vec<i64> = deliveries.iter().map(|d| d.header("webhook-timestamp").parse().unwrap()).collect();
    assert!(timestamps[1] - timestamps[0] >= 1, "the retry waited (Retry-After: 1, and the backoff): {timestamps:?}");
    let body = deliveries[1].json();
    assert_eq!(body["type"], "alert.held_back");
    assert!(body["timestamp"].is_string());
    assert_eq!(
        body["data"],
        json!({"account": body["data"]["account"], "integration": a.integration, "run": run, "entity": "product",
               "action": "held_back", "message": alert["message"]})
    );
    let mut tampered = deliveries[1].clone();
    tampered.body = tampered.body.iter().map(|b| if *b == b'2' { b'3' } else { *b }).collect::<Vec<u8>>().into();
    assert!(verify(&secret, &tampered).is_err(), "a changed body does not verify");

    // Delivered once: nothing more arrives, the job is done, and the webhook says when it delivered.
    let text = loop {
        let text = metrics(&server).await;
        if series(&text, "koppel_jobs{kind=\"alert_webhook\",state=\"done\"}") == Some(1.0) {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "delivered once");
    let hook = a.admin.data(WEBHOOK, json!({})).await["alertWebhook"].clone();
    assert!(hook["lastDeliveredAt"].is_string(), "{hook:#}");
    assert_eq!(hook["lastError"], Value::Null, "cleared by the delivery: {hook:#}");
    drop(workers);

    // `/metrics` shows the engine's figures of the pass, the alert and the deliveries.
    for prefix in [
        "koppel_job_claim_latency_seconds_count{kind=\"reconcile\"}",
        "koppel_job_claim_latency_seconds_count{kind=\"alert_webhook\"}",
        "koppel_pass_duration_seconds_count{entity=\"product\",outcome=\"succeeded\"}",
        "koppel_records_total{entity=\"product\",action=\"ignore\"}",
        "koppel_alerts_raised_total{action=\"held_back\"}",
        "koppel_alert_webhook_deliveries_total{outcome=\"delivered\"}",
        "koppel_alert_webhook_deliveries_total{outcome=\"failed\"}",
    ] {
        let value = series(&text, prefix).unwrap_or_else(|| panic!("{prefix} not in /metrics:\n{text}"));
        assert!(value >= 1.0, "{prefix} = {value}");
    }
    assert!(text.contains("# TYPE koppel_pass_duration_seconds histogram"), "{text}");
    assert!(text.contains("koppel_job_claim_latency_seconds_bucket{kind=\"reconcile\",le=\"+Inf\"}"), "{text}");
    assert_eq!(series(&text, "koppel_alerts "), Some(1.0), "the alert events this database keeps");
}
