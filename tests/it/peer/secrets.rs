//! Secrets stay secret: never in a response or a log line, never sent to another host, never shown
//! even in part when short.

use super::client::Client;
use super::fixtures::{
    REMOTE_PRODUCTS, UPDATE_INTEGRATION, assert_failed, base_url, connected, create_integration, import, integration,
    map_origin, set_token, test_connection,
};
use super::{closed_port, peer_server};
use crate::common::TestServer;
use serde_json::json;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use tracing_subscriber::filter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Every log line of the test binary while a [`LogCapture`] is alive.
static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// How many [`LogCapture`]s are alive.
static CAPTURING: AtomicUsize = AtomicUsize::new(0);

struct LogWriter;

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// While alive, everything the test binary logs, from any thread and down to TRACE, goes to [`LOG`].
/// The subscriber is installed once for the whole binary; the gate spares the tests of the other areas,
/// which share the binary, from having everything they log formatted and kept.
struct LogCapture;

impl LogCapture {
    fn start() -> Self {
        CAPTURING.fetch_add(1, Ordering::SeqCst);
        let gate = filter::dynamic_filter_fn(|_, _| CAPTURING.load(Ordering::SeqCst) > 0);
        let layer = tracing_subscriber::fmt::layer().with_writer(|| LogWriter).with_ansi(false).with_filter(gate);
        let _ = tracing_subscriber::registry().with(layer).try_init();
        Self
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        CAPTURING.fetch_sub(1, Ordering::SeqCst);
    }
}

fn captured_log() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

#[tokio::test]
async fn credentials_never_appear_in_a_response_or_a_log_line() {
    let _capture = LogCapture::start();
    let canary = "kpl_CANARYcanaryCANARYcanaryCANARYcanary12345";
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    set_token(&a.admin, &a.integration, "PRODUCTION", canary).await;

    assert_eq!(test_connection(&a.admin, &a.integration, Some("TEST")).await["ok"], true);
    let failing = test_connection(&a.admin, &a.integration, Some("PRODUCTION")).await;
    assert_eq!(failing["ok"], false, "the canary is no token of B: {failing:#}");
    let unreachable =
        create_integration(&a.admin, "Nobody", &format!("http://127.0.0.1:{}", closed_port()), &b.account).await;
    set_token(&a.admin, &unreachable, "TEST", canary).await;
    assert_eq!(test_connection(&a.admin, &unreachable, None).await["code"], "UNREACHABLE");
    a.admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": a.integration, "settings": {"accountName": "someone-else"}}}),
        )
        .await;
    assert_eq!(test_connection(&a.admin, &a.integration, None).await["code"], "WRONG_ACCOUNT");
    a.admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": a.integration, "settings": {"accountName": b.account}}}),
        )
        .await;
    map_origin(&a).await;
    assert_eq!(import(&a, &[&b.p1, &b.p2]).await.len(), 2);
    // A remote call that fails with a top-level error.
    a.admin
        .mutate("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": a.integration, "mode": "PRODUCTION"}}))
        .await;
    let body = a.admin.raw(REMOTE_PRODUCTS, json!({"id": a.integration})).await;
    assert!(TestServer::error_code(&body).is_some(), "the canary does not open B's catalogue: {body:#}");

    a.admin.assert_never_saw(canary);
    a.admin.assert_never_saw(&b.secret);
    let log = captured_log();
    assert!(!log.trim().is_empty(), "the log captured something");
    // Other tests log into the same buffer: only lines about this test's integration count.
    let ours = format!("integration={}", a.integration);
    let logged = |message: &str| log.lines().any(|line| line.contains(message) && line.contains(&ours));
    assert!(logged("connection tested"), "the connection tests were logged with {ours}");
    assert!(logged("products imported"), "the import was logged with {ours}");
    assert!(!log.contains(canary), "the canary is in the log");
    assert!(!log.contains(&b.secret), "B's token is in the log");
}

#[tokio::test]
async fn moving_the_base_url_to_another_host_drops_the_credentials() {
    let server = peer_server().await;
    let (b, c) = connected(&server).await;
    let update = |url: String| json!({"i": {"id": c.integration, "baseUrl": url}});
    // Another path on the same host keeps them.
    let same_host = c.admin.data(UPDATE_INTEGRATION, update(format!("{}/", base_url(&server)))).await;
    assert_eq!(same_host["updateIntegration"]["userErrors"], json!([]), "{same_host:#}");
    let kept = integration(&c.admin, &c.integration).await;
    assert_eq!(kept["credentialsSet"].as_array().unwrap().len(), 1, "{kept:#}");
    // Another port is another host: the partner's token must not travel there.
    let moved = c.admin.data(UPDATE_INTEGRATION, update(format!("http://127.0.0.1:{}", closed_port()))).await;
    assert_eq!(moved["updateIntegration"]["userErrors"], json!([]), "{moved:#}");
    let dropped = integration(&c.admin, &c.integration).await;
    assert_eq!(dropped["credentialsSet"], json!([]), "{dropped:#}");
    assert_failed(&test_connection(&c.admin, &c.integration, None).await, "CONFIGURATION");
    drop(b);
}

#[tokio::test]
async fn short_credentials_are_not_shown_even_in_part() {
    let server = peer_server().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let id = create_integration(&admin, "Short", &base_url(&server), "provider").await;
    let set = set_token(&admin, &id, "TEST", "kpl_short").await;
    assert!(!set.to_string().contains("hort"), "{set:#}");
    let shown = integration(&admin, &id).await;
    assert_eq!(shown["credentialsSet"][0]["lastFour"], "", "{shown:#}");
    assert_eq!(shown["credentialsSet"][0]["field"], "apiToken");
}
