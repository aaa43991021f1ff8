//! Seed 001 end to end: one Koppel environment sells another's products. The provider account B
//! grants an organisation products and flows and hands an integration-only token of an agent in it to
//! the consumer account A; A connects a `peer` integration with that token, tests the connection,
//! browses and imports B's catalogue and maps fields, statuses, flows and questions. Everything runs
//! over real HTTP between real servers; secrets must never come back in a response or a log line.

mod alerts;
mod attachments;
mod client;
mod connection;
mod crash;
mod crash_forward;
mod cross_account;
mod fixtures;
mod forwarding;
mod import;
mod live;
mod live_sales;
mod mappings;
mod provider;
mod questions;
mod schedules;
mod secrets;
mod setup;
mod status_pull;
mod submissions;
mod surface;
mod sync;

use crate::common::TestServer;
use serde_json::Value;

/// `(field, code)` of each user error of a payload.
pub(super) fn user_errors(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| (e["field"].as_str().unwrap_or("").to_owned(), e["code"].as_str().unwrap_or("").to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn has_error(errors: &[(String, String)], field: &str, code: &str) -> bool {
    errors.iter().any(|(f, c)| f == field && c == code)
}

pub(super) fn id_of(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("expected an id, got {value}")).to_owned()
}

/// The nodes of a connection.
pub(super) fn nodes(connection: &Value) -> Vec<Value> {
    connection["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("not a connection: {connection:#}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

/// One string field of every item, sorted.
pub(super) fn sorted(items: &[Value], field: &str) -> Vec<String> {
    let mut values: Vec<String> = items.iter().map(|i| i[field].as_str().unwrap_or("").to_owned()).collect();
    values.sort();
    values
}

/// A port on 127.0.0.1 that nobody listens on: port 1 (tcpmux), never served here. Binding a free
/// port and releasing it would race with servers that tests start in parallel.
pub(super) fn closed_port() -> u16 {
    1
}

/// A server that may reach integrations on loopback addresses over plain http, with a daemon that runs
/// the passes `syncNow` queues.
pub(super) async fn peer_server() -> TestServer {
    TestServer::with_daemon(|c| c.allow_private_remotes = true).await
}
