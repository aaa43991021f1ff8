//! A Koppel server with a daemon, an admin, and a SnelStart integration to the fake, as a person sets it
//! up following seed 004: API key and koppelsleutel, matching key, start date.

use crate::common::{Session, TestServer};
use crate::fakes::snelstart::{CLIENT_KEY, SUBSCRIPTION_KEY, SnelStart, snelstart};
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const CREDENTIALS: &str = "mutation($i: SetIntegrationCredentialsInput!) { setIntegrationCredentials(input: $i) {
  integration { id } userErrors { field message code } } }";

pub(super) struct Setup {
    pub(super) server: TestServer,
    pub(super) admin: Session,
    pub(super) fake: SnelStart,
    pub(super) integration: String,
}

impl Setup {
    /// `settings` go over the defaults (matching by e-mail, from 2019-05-28).
    pub(super) async fn new(settings: Value) -> Self {
        Self::on(TestServer::with_daemon(|c| c.allow_private_remotes = true).await, settings).await
    }

    /// Like [`Setup::new`], on `server` (with a daemon of its own or none yet).
    pub(super) async fn on(server: TestServer, settings: Value) -> Self {
        let admin = server.admin("bakkerij").await;
        let fake = snelstart().await;
        let mut all = json!({"matchingKey": "email", "startDate": "2019-05-28"});
        all.as_object_mut().unwrap().extend(settings.as_object().unwrap().clone());
        let input = json!({"kind": "snelstart", "name": "SnelStart", "baseUrl": fake.base_url(), "settings": all});
        let created = server.gql_ok(Some(&admin.token), CREATE, json!({"i": input})).await;
        assert_eq!(created["createIntegration"]["userErrors"], json!([]), "{created:#}");
        let integration = created["createIntegration"]["integration"]["id"].as_str().unwrap().to_owned();
        let setup = Self { server, admin, fake, integration };
        setup.set_keys(SUBSCRIPTION_KEY, CLIENT_KEY).await;
        setup
    }

    pub(super) async fn set_keys(&self, api_key: &str, client_key: &str) {
        let values = json!([{"field": "apiKey", "value": api_key}, {"field": "clientKey", "value": client_key}]);
        let input = json!({"id": self.integration, "mode": "TEST", "values": values});
        let set = self.ok(CREDENTIALS, json!({"i": input})).await;
        assert_eq!(set["setIntegrationCredentials"]["userErrors"], json!([]), "{set:#}");
    }

    pub(super) async fn ok(&self, query: &str, variables: Value) -> Value {
        self.server.gql_ok(Some(&self.admin.token), query, variables).await
    }
}
