//! Live progress and events over a real WebSocket (graphql-transport-ws, the `graphql-ws` client's
//! protocol): the token goes in `connection_init`, and what a pass writes arrives as it happens.

use super::fixtures::{IMPORT, UPDATE_INTEGRATION, connected, remote_products, set_grants};
use super::peer_server;
use crate::common::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub(super) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(super) async fn open(server: &TestServer) -> Socket {
    let mut request = format!("ws://{}/graphql", server.addr).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("the WebSocket opens");
    assert_eq!(response.headers()["sec-websocket-protocol"], "graphql-transport-ws");
    socket
}

pub(super) async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::Text(message.to_string().into())).await.unwrap();
}

/// The next JSON message, or `None` when the server closed the connection or 10 s passed.
pub(super) async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.ok()?? {
            Ok(Message::Text(text)) => return Some(serde_json::from_str(&text).unwrap()),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

pub(super) async fn signed_in(server: &TestServer, token: &str) -> Socket {
    let mut socket = open(server).await;
    send(&mut socket, json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}))
        .await;
    assert_eq!(next(&mut socket).await.unwrap()["type"], "connection_ack");
    socket
}

#[tokio::test]
async fn progress_and_events_stream_while_a_pass_runs() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    let remote: Vec<Value> =
        remote_products(&a.admin, &a.integration).await.iter().map(|p| p["remoteId"].clone()).collect();
    a.admin.mutate("importProducts", IMPORT, json!({"id": a.integration, "r": remote})).await;
    set_grants(&b.admin, &b.organisation, &[&b.p1], &[&b.flow]).await;

    let mut socket = signed_in(&server, &a.session.token).await;
    let progress =
        "subscription($id: ID!) { syncProgress(integrationId: $id) { state trigger counts { deactivated } } }";
    let events = "subscription($id: ID!) { syncEvents(integrationId: $id, minLevel: DEBUG) { action level message } }";
    send(&mut socket, json!({"id": "progress", "type": "subscribe", "payload": {"query": progress, "variables": {"id": a.integration}}})).await;
    send(
        &mut socket,
        json!({"id": "events", "type": "subscribe", "payload": {"query": events, "variables": {"id": a.integration}}}),
    )
    .await;
    // Let the feed see the subscribers before the pass writes.
    tokio::time::sleep(Duration::from_millis(600)).await;
    a.admin
        .mutate("syncNow", "mutation($id: ID!) { syncNow(input: {integrationId: $id}) { runs { id } userErrors { field message code } } }", json!({"id": a.integration}))
        .await;

    let mut actions = Vec::new();
    let mut finished = None;
    while finished.is_none() || !actions.contains(&"run_finished".to_owned()) {
        let message = next(&mut socket).await.unwrap_or_else(|| panic!("the stream ended early; got {actions:?}"));
        assert_eq!(message["type"], "next", "{message:#}");
        match message["id"].as_str() {
            Some("events") => {
                actions.push(message["payload"]["data"]["syncEvents"]["action"].as_str().unwrap().to_owned())
            }
            Some("progress") => {
                let run = &message["payload"]["data"]["syncProgress"];
                if run["state"] == "SUCCEEDED" {
                    finished = Some(run.clone());
                }
            }
            other => panic!("unexpected {other:?}: {message:#}"),
        }
    }
    // (The pass's progress reports come in between, as `progress` events.)
    actions.retain(|a| a != "progress");
    assert_eq!(actions, ["run_started", "deactivate", "run_finished"], "in the order they were written");
    let finished = finished.unwrap();
    assert_eq!((finished["trigger"].clone(), finished["counts"]["deactivated"].clone()), (json!("MANUAL"), json!(1)));
}

#[tokio::test]
async fn a_wrong_token_gets_no_subscription_and_another_account_sees_nothing() {
    let server = peer_server().await;
    let (_b, a) = connected(&server).await;
    let mut socket = open(&server).await;
    send(&mut socket, json!({"type": "connection_init", "payload": {"Authorization": "Bearer not-a-token"}})).await;
    let answer = next(&mut socket).await;
    assert!(answer.as_ref().is_none_or(|m| m["type"] != "connection_ack"), "refused: {answer:?}");

    let other = server.admin("other").await;
    let mut socket = signed_in(&server, &other.token).await;
    let events = "subscription($id: ID!) { syncEvents(integrationId: $id) { action } }";
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": events, "variables": {"id": a.integration}}}),
    )
    .await;
    let message = next(&mut socket).await.expect("an answer");
    assert_eq!(message["type"], "next", "{message:#}");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{message:#}");
}

#[tokio::test]
async fn a_separate_daemon_process_writes_and_the_api_streams_it() {
    // No daemon in the server's process: the separate one does the work.
    let server = TestServer::start_with(|c| c.allow_private_remotes = true).await;
    let (_b, a) = connected(&server).await;
    // Only enabled integrations are scheduled.
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": a.integration, "enabled": true}})).await;
    let mut socket = signed_in(&server, &a.session.token).await;
    let events = "subscription($id: ID!) { syncEvents(integrationId: $id, minLevel: DEBUG) { action level message } }";
    send(
        &mut socket,
        json!({"id": "events", "type": "subscribe", "payload": {"query": events, "variables": {"id": a.integration}}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;

    // `koppel daemon` in its own process, on the server's database and data directory (its master key):
    // its schedule queues the integration's pass at once, and its worker runs it.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_koppel"))
        .arg("daemon")
        .env("KOPPEL_DATABASE_URL", server.database_url())
        .env("KOPPEL_DATA_DIR", server.data_dir())
        .env("KOPPEL_ALLOW_PRIVATE_REMOTES", "true")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("koppel daemon starts");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _daemon = Kill(child);

    let mut actions = Vec::new();
    while !actions.contains(&"run_finished".to_owned()) {
        let message =
            next(&mut socket).await.unwrap_or_else(|| panic!("nothing streamed from the daemon; got {actions:?}"));
        assert_eq!(message["type"], "next", "{message:#}");
        actions.push(message["payload"]["data"]["syncEvents"]["action"].as_str().unwrap().to_owned());
    }
    assert_eq!(actions.first().map(String::as_str), Some("run_started"), "{actions:?}");
    let runs = a
        .admin
        .data(
            "query($id: ID!) { syncRuns(integrationId: $id) { edges { node { trigger state } } } }",
            json!({"id": a.integration}),
        )
        .await;
    assert_eq!(runs["syncRuns"]["edges"][0]["node"], json!({"trigger": "SCHEDULE", "state": "SUCCEEDED"}), "{runs:#}");
}

#[tokio::test]
async fn revoking_the_token_ends_the_subscription() {
    let server = peer_server().await;
    let (_b, a) = connected(&server).await;
    // A script's API token of the consumer's admin.
    let me = a.admin.data("{ me { id } }", json!({})).await["me"]["id"].clone();
    let created = a
        .admin
        .mutate(
            "createApiToken",
            "mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { created { secret apiToken { id } } userErrors { field message code } } }",
            json!({"input": {"userId": me, "name": "dashboard"}}),
        )
        .await;
    let secret = created["created"]["secret"].as_str().unwrap().to_owned();
    let token_id = created["created"]["apiToken"]["id"].clone();
    let mut socket = signed_in(&server, &secret).await;
    let events = "subscription($id: ID!) { syncEvents(integrationId: $id) { action } }";
    send(
        &mut socket,
        json!({"id": "1", "type": "subscribe", "payload": {"query": events, "variables": {"id": a.integration}}}),
    )
    .await;

    a.admin
        .mutate(
            "revokeApiToken",
            "mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { field message code } } }",
            json!({"id": token_id}),
        )
        .await;
    // Checked again within seconds: the subscription reports why and completes.
    let ended = next(&mut socket).await.expect("the subscription ends with a reason");
    assert_eq!(ended["type"], "next", "{ended:#}");
    assert_eq!(ended["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{ended:#}");
    assert_eq!(ended["payload"]["errors"][0]["extensions"]["reason"], "TOKEN_REVOKED", "{ended:#}");
    let complete = next(&mut socket).await.expect("then completes");
    assert_eq!((complete["type"].clone(), complete["id"].clone()), (json!("complete"), json!("1")), "{complete:#}");
}

#[tokio::test]
async fn many_subscribers_cost_the_database_what_one_costs() {
    let server = TestServer::start_with(|c| c.allow_private_remotes = true).await;
    let (_b, a) = connected(&server).await;
    let events = "subscription($id: ID!) { syncEvents(integrationId: $id, minLevel: DEBUG) { action } }";
    let subscribe = |n: usize| json!({"id": n.to_string(), "type": "subscribe", "payload": {"query": events, "variables": {"id": a.integration}}});
    // Statements over a window longer than the token re-check (5 s), with the subscriptions idle.
    let window = || async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let before = server.metrics_statements().await;
        tokio::time::sleep(Duration::from_millis(11_000)).await;
        server.metrics_statements().await - before
    };
    let mut one = signed_in(&server, &a.session.token).await;
    send(&mut one, subscribe(0)).await;
    let with_one = window().await;
    let mut sockets = Vec::new();
    for n in 1..=40 {
        let mut socket = signed_in(&server, &a.session.token).await;
        send(&mut socket, subscribe(n)).await;
        sockets.push(socket);
    }
    let with_many = window().await;
    // The feed reads for everyone at once, and the tokens are checked together: 41 subscribers may
    // cost a statement or two more than one (a window catches one check more), never one per subscriber.
    assert!(with_many <= with_one + 4, "1 subscriber: {with_one} statements; 41: {with_many}");
    drop((one, sockets));
}
