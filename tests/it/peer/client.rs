//! The caller the peer tests use: a bearer token, and the raw text of every response it received, so
//! that a test can check afterwards that a secret never came back.

use super::user_errors;
use crate::common::TestServer;
use serde_json::{Value, json};
use std::sync::Mutex;

pub(super) struct Client<'a> {
    server: &'a TestServer,
    token: String,
    seen: Mutex<Vec<String>>,
}

impl<'a> Client<'a> {
    pub(super) fn new(server: &'a TestServer, token: &str) -> Self {
        Self { server, token: token.to_owned(), seen: Mutex::new(Vec::new()) }
    }

    /// The bearer token, for requests the helpers do not cover (uploads).
    pub(super) fn token(&self) -> &str {
        &self.token
    }

    /// The whole response, errors and all.
    pub(super) async fn raw(&self, query: &str, variables: Value) -> Value {
        let response = self
            .server
            .http
            .post(&self.server.url)
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("POST /graphql");
        let status = response.status();
        let text = response.text().await.expect("the response body");
        self.seen.lock().unwrap().push(text.clone());
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST /graphql answered {status}, not JSON ({e}): {text}"))
    }

    /// `data`, panicking on top-level errors.
    pub(super) async fn data(&self, query: &str, variables: Value) -> Value {
        let body = self.raw(query, variables).await;
        if body.get("errors").is_some_and(|e| !e.is_null()) {
            panic!("GraphQL errors: {body:#}\nquery: {query}");
        }
        body["data"].clone()
    }

    /// The payload `data[field]` of a mutation that must succeed without user errors.
    pub(super) async fn mutate(&self, field: &str, query: &str, variables: Value) -> Value {
        let payload = self.data(query, variables).await[field].clone();
        let errors = payload["userErrors"].as_array().cloned().unwrap_or_default();
        assert!(errors.is_empty(), "{field} failed: {payload:#}");
        payload
    }

    /// The payload `data[field]` of a mutation expected to report user errors, and those errors.
    pub(super) async fn refused(&self, field: &str, query: &str, variables: Value) -> (Value, Vec<(String, String)>) {
        let payload = self.data(query, variables).await[field].clone();
        let errors = user_errors(&payload);
        assert!(!errors.is_empty(), "{field} should have been refused: {payload:#}");
        (payload, errors)
    }

    /// The `extensions.code` of a request that must fail with a top-level error.
    pub(super) async fn error(&self, query: &str, variables: Value) -> String {
        let body = self.raw(query, variables).await;
        TestServer::error_code(&body).unwrap_or_else(|| panic!("expected an error: {body:#}\nquery: {query}"))
    }

    /// Every response so far is free of `secret`.
    pub(super) fn assert_never_saw(&self, secret: &str) {
        let seen = self.seen.lock().unwrap();
        assert!(!seen.is_empty(), "no responses were recorded");
        for text in seen.iter() {
            assert!(!text.contains(secret), "a response contains the secret: {text}");
        }
    }
}

impl Client<'_> {
    /// The secret may be in the one `createApiToken` response, and in no other.
    pub(super) fn assert_never_saw_after_creation(&self, secret: &str) {
        let seen = self.seen.lock().unwrap();
        let with_secret: Vec<&String> = seen.iter().filter(|t| t.contains(secret)).collect();
        assert_eq!(with_secret.len(), 1, "the secret is shown exactly once: {with_secret:#?}");
        assert!(with_secret[0].contains("createApiToken"));
    }
}

const SYNC_NOW: &str = "mutation($id: ID!) { syncNow(input: {integrationId: $id}) {
  runs { id state } userErrors { field message code } } }";
const SYNC_RUN: &str = "query($id: ID!) { syncRun(id: $id) {
  id entity trigger state error heldBack progress { done total }
  counts { created updated unchanged deactivated deleted ignored failed } queuedAt startedAt finishedAt } }";
const RUN_EVENTS: &str = "query($id: ID!, $run: ID, $after: String) {
  syncEvents(integrationId: $id, runId: $run, first: 100, after: $after) {
    edges { node { level action localId remoteId message } } pageInfo { hasNextPage endCursor } } }";
const LAST_SYNCED: &str = "query($id: ID!) { integration(id: $id) { lastSyncedAt } }";

impl Client<'_> {
    /// `syncNow` as a person presses it: queues the product pass, which the daemon runs; returns the
    /// run once it finished (succeeded or failed), waiting up to 60 s.
    pub(super) async fn sync(&self, integration: &str) -> Value {
        let run = self.queue_sync(integration).await;
        self.finished_run(&run).await
    }

    /// `syncNow` without waiting: the id of the product run it queued.
    pub(super) async fn queue_sync(&self, integration: &str) -> Value {
        let queued = self.mutate("syncNow", SYNC_NOW, json!({"id": integration})).await;
        let runs = queued["runs"].as_array().cloned().unwrap_or_default();
        assert_eq!(runs.len(), 1, "one product run queued: {queued:#}");
        runs[0]["id"].clone()
    }

    /// The run `id` once it finished, waiting up to 60 s (a pass takes a second or two; a build beside
    /// the tests once stretched one past 30 s).
    pub(super) async fn finished_run(&self, id: &Value) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let run = self.data(SYNC_RUN, json!({"id": id})).await["syncRun"].clone();
            if run["state"] == "SUCCEEDED" || run["state"] == "FAILED" {
                return run;
            }
            if std::time::Instant::now() >= deadline {
                panic!("the run did not finish: {run:#}\nits job and the queue: {}", self.queue_state().await);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The jobs table as a stuck run's failure shows it: every job's kind, state, owner, lease,
    /// attempts and last error (the daemon's warnings reach no log in the tests).
    async fn queue_state(&self) -> String {
        use sea_orm::{EntityTrait, QueryOrder};
        let jobs = koppel_entity::job::Entity::find()
            .order_by_asc(koppel_entity::job::Column::CreatedAt)
            .all(&self.server.server.state.db)
            .await;
        match jobs {
            Ok(jobs) => jobs
                .iter()
                .map(|j| {
                    format!(
                        "{} {:?} run_after {} attempts {}/{} lease {:?} until {:?} error {:?} finished {:?}",
                        j.kind,
                        j.state,
                        j.run_after,
                        j.attempts,
                        j.max_attempts,
                        j.lease_owner,
                        j.lease_until,
                        j.last_error,
                        j.finished_at
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(error) => format!("(the jobs could not be read: {error})"),
        }
    }

    /// A finished pass as the tests read it: the run's counts, the integration's `lastSyncedAt`, and per
    /// record what happened (`changes: [{sku, action, note}]` from the run's events, in the style of
    /// `reconcilePlan`; a record with no event was unchanged).
    pub(super) async fn sync_report(&self, integration: &str) -> Value {
        let run = self.sync(integration).await;
        self.sync_report_of(integration, &run["id"]).await
    }

    /// [`Client::sync_report`] of a run that finished.
    pub(super) async fn sync_report_of(&self, integration: &str, run_id: &Value) -> Value {
        let run = self.finished_run(run_id).await;
        assert_eq!(run["state"], "SUCCEEDED", "{run:#}");
        let mut events = Vec::new();
        let mut after = Value::Null;
        loop {
            let page = self.data(RUN_EVENTS, json!({"id": integration, "run": run["id"], "after": after})).await;
            let connection = &page["syncEvents"];
            events.extend(connection["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()));
            if connection["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = connection["pageInfo"]["endCursor"].clone();
        }
        let changes: Vec<Value> = events
            .iter()
            .filter(|e| !["run_started", "run_finished", "held_back"].contains(&e["action"].as_str().unwrap_or("")))
            .map(|e| {
                let message = e["message"].as_str().unwrap_or_default();
                let (sku, note) = message.split_once(": ").unwrap_or((message, ""));
                let action = e["action"].as_str().unwrap_or_default().to_ascii_uppercase();
                json!({"sku": sku, "action": action, "productId": e["localId"], "remoteId": e["remoteId"],
                       "note": (note != action.to_ascii_lowercase()).then_some(note)})
            })
            .collect();
        let last_synced =
            self.data(LAST_SYNCED, json!({"id": integration})).await["integration"]["lastSyncedAt"].clone();
        let mut report = run["counts"].clone();
        report["run"] = run.clone();
        report["heldBack"] = run["heldBack"].clone();
        report["lastSyncedAt"] = last_synced;
        report["changes"] = Value::Array(changes);
        report
    }
}
