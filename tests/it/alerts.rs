//! The alert webhook's API: only admins set it; its URL is checked like every remote address (a user
//! error on `url` when refused); its secret is shown by `setAlertWebhook` alone, a new one each time.
//! Deliveries are tested end to end in `peer/alerts.rs`; other accounts, in `tenancy.rs`.

use crate::common::TestServer;
use serde_json::{Value, json};

const SET: &str = "mutation($url: String!) { setAlertWebhook(input: {url: $url}) {
  created { secret alertWebhook { url createdAt updatedAt } } userErrors { field message code } } }";
const REMOVE: &str = "mutation { removeAlertWebhook { alertWebhook { url } userErrors { field code } } }";
const SHOW: &str = "{ alertWebhook { url lastDeliveredAt lastError } }";

fn user_errors(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors: {payload}"))
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn a_private_or_malformed_url_is_refused_on_url_unless_private_remotes_are_allowed() {
    let server = TestServer::start().await;
    let admin = server.admin("alerting").await;
    for url in [
        "http://127.0.0.1:9000/alerts",
        "https://127.0.0.1/alerts",
        "https://10.0.0.8/alerts",
        "https://[::1]/alerts",
        "https://localhost/alerts",
        "http://alerts.example.com/koppel",
        "https://user:pw@alerts.example.com/koppel",
        "not a url",
        "",
    ] {
        let payload = server.gql_ok(Some(&admin.token), SET, json!({"url": url})).await["setAlertWebhook"].clone();
        assert_eq!(user_errors(&payload), [("url".to_owned(), "INVALID".to_owned())], "{url}: {payload}");
        assert_eq!(payload["created"], Value::Null);
    }
    assert_eq!(server.gql_ok(Some(&admin.token), SHOW, json!({})).await["alertWebhook"], Value::Null, "nothing set");

    // A public https URL is taken, with a secret; setting it again replaces both.
    let url = "https://alerts.example.com/koppel?team=ops";
    let first = server.gql_ok(Some(&admin.token), SET, json!({"url": url})).await["setAlertWebhook"].clone();
    assert!(user_errors(&first).is_empty(), "{first}");
    assert_eq!(first["created"]["alertWebhook"]["url"], url);
    let again = server.gql_ok(Some(&admin.token), SET, json!({"url": url})).await["setAlertWebhook"].clone();
    let (one, two) = (first["created"]["secret"].as_str().unwrap(), again["created"]["secret"].as_str().unwrap());
    assert!(one.starts_with("whsec_") && two.starts_with("whsec_"));
    assert_ne!(one, two, "a new secret each time");
    assert_eq!(again["created"]["alertWebhook"]["createdAt"], first["created"]["alertWebhook"]["createdAt"]);
    let shown = server.gql(Some(&admin.token), SHOW, json!({})).await;
    assert_eq!(shown["data"]["alertWebhook"], json!({"url": url, "lastDeliveredAt": null, "lastError": null}));
    assert!(!shown.to_string().contains(two), "the secret is not shown again");

    let removed = server.gql_ok(Some(&admin.token), REMOVE, json!({})).await["removeAlertWebhook"].clone();
    assert_eq!(removed["alertWebhook"]["url"], url);
    assert_eq!(server.gql_ok(Some(&admin.token), SHOW, json!({})).await["alertWebhook"], Value::Null);
    let twice = server.gql(Some(&admin.token), REMOVE, json!({})).await;
    assert_eq!(TestServer::error_code(&twice).as_deref(), Some("NOT_FOUND"), "{twice}");

    // With private remotes allowed (tests, demos, on-premises receivers), a loopback receiver is fine.
    let private = TestServer::start_with(|c| c.allow_private_remotes = true).await;
    let admin = private.admin("alerting").await;
    let payload = private.gql_ok(Some(&admin.token), SET, json!({"url": "http://127.0.0.1:9000/alerts"})).await;
    assert!(user_errors(&payload["setAlertWebhook"]).is_empty(), "{payload}");
}

#[tokio::test]
async fn only_admins_see_or_change_the_alert_webhook() {
    let server = TestServer::start().await;
    let admin = server.admin("alerting").await;
    let user = server
        .gql_ok(
            Some(&admin.token),
            "mutation { createUser(input: {username: \"agent\", role: AGENT, password: \"koppel-test-password\"}) { user { id } } }",
            json!({}),
        )
        .await;
    assert!(user["createUser"]["user"]["id"].is_string(), "{user}");
    let agent = server.login("alerting", "agent", crate::common::TEST_PASSWORD).await;
    for operation in [SHOW, REMOVE] {
        let response = server.gql(Some(&agent), operation, json!({})).await;
        assert_eq!(TestServer::error_code(&response).as_deref(), Some("FORBIDDEN"), "{operation}: {response}");
    }
    let response = server.gql(Some(&agent), SET, json!({"url": "https://alerts.example.com/"})).await;
    assert_eq!(TestServer::error_code(&response).as_deref(), Some("FORBIDDEN"), "{response}");
}
