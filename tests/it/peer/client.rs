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
