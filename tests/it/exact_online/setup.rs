//! A Koppel server with a public URL, an admin, and an Exact Online integration to the fake with the
//! client id and secret of the App Center app set, as an admin sets it up before connecting.

use crate::common::{Session, TestServer};
use crate::fakes::exact_online::{CLIENT_ID, CLIENT_SECRET, ExactOnline, exact_online};
use koppel_entity::oauth_connection;
use sea_orm::EntityTrait;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateIntegrationInput!) { createIntegration(input: $i) {
  integration { id } userErrors { field message code } } }";
const CREDENTIALS: &str = "mutation($i: SetIntegrationCredentialsInput!) { setIntegrationCredentials(input: $i) {
  integration { id } userErrors { field message code } } }";
pub(super) const START: &str = "mutation($id: ID!) { startIntegrationAuthorization(input: {id: $id}) {
  authorization { url expiresAt mode } userErrors { field message code } } }";
pub(super) const TEST: &str = "mutation($id: ID!) { testIntegrationConnection(input: {id: $id}) {
  test { ok code message identity } } }";
pub(super) const AUTHORIZATIONS: &str = "query($id: ID!) { integration(id: $id) {
  credentialsSet { field lastFour } authorizations { mode connected division identity problem connectedAt
  refreshTokenValidUntil } } }";

pub(super) struct Setup {
    pub(super) server: TestServer,
    pub(super) admin: Session,
    pub(super) fake: ExactOnline,
    pub(super) integration: String,
    /// For the browser's part: no redirects followed.
    pub(super) browser: reqwest::Client,
}

/// A free port of 127.0.0.1, for a server whose public URL must be known before it starts.
pub(super) fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

impl Setup {
    pub(super) async fn new() -> Self {
        let fake = exact_online().await;
        Self::with_fake(fake).await
    }

    pub(super) async fn with_fake(fake: ExactOnline) -> Self {
        let addr = free_addr();
        let server = TestServer::start_with(|c| {
            c.allow_private_remotes = true;
            c.bind = addr;
            c.public_url = Some(format!("http://{addr}"));
        })
        .await;
        let admin = server.admin("bakkerij").await;
        let integration = Self::create(&server, &admin, &fake).await;
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Self { server, admin, fake, integration, browser }
    }

    /// Like [`Setup::with_fake`], with the daemon running (runs, sends) and connected to Exact.
    pub(super) async fn connected(fake: ExactOnline) -> Self {
        let mut setup = Self::with_fake(fake).await;
        setup.server.start_daemon(false).await;
        setup.connect().await;
        setup
    }

    /// An Exact Online integration of `admin`'s account with the app's client id and secret.
    pub(super) async fn create(server: &TestServer, admin: &Session, fake: &ExactOnline) -> String {
        Self::create_named(server, admin, fake, "Exact Online").await
    }

    pub(super) async fn create_named(server: &TestServer, admin: &Session, fake: &ExactOnline, name: &str) -> String {
        let input = json!({"kind": "exact-online", "name": name, "baseUrl": fake.base_url()});
        let created = server.gql_ok(Some(&admin.token), CREATE, json!({"i": input})).await;
        assert_eq!(created["createIntegration"]["userErrors"], json!([]), "{created:#}");
        let integration = created["createIntegration"]["integration"]["id"].as_str().unwrap().to_owned();
        let values =
            json!([{"field": "clientId", "value": CLIENT_ID}, {"field": "clientSecret", "value": CLIENT_SECRET}]);
        let input = json!({"id": integration, "mode": "TEST", "values": values});
        let set = server.gql_ok(Some(&admin.token), CREDENTIALS, json!({"i": input})).await;
        assert_eq!(set["setIntegrationCredentials"]["userErrors"], json!([]), "{set:#}");
        integration
    }

    pub(super) async fn ok(&self, query: &str, variables: Value) -> Value {
        self.server.gql_ok(Some(&self.admin.token), query, variables).await
    }

    /// The payload of mutation `name`, which must have no user errors.
    pub(super) async fn mutate(&self, name: &str, query: &str, variables: Value) -> Value {
        let answer = self.ok(query, variables).await;
        let payload = answer[name].clone();
        assert_eq!(payload["userErrors"], json!([]), "{answer:#}");
        payload
    }

    /// `startIntegrationAuthorization`: the URL of Exact's sign-in page.
    pub(super) async fn start(&self) -> String {
        let started = self.ok(START, json!({"id": self.integration})).await;
        let payload = &started["startIntegrationAuthorization"];
        assert_eq!(payload["userErrors"], json!([]), "{started:#}");
        payload["authorization"]["url"].as_str().unwrap().to_owned()
    }

    /// The browser at Exact: signs in, and is sent back to Koppel's callback (its URL, with code and state).
    pub(super) async fn sign_in(&self, authorization_url: &str) -> String {
        let answer = self.browser.get(authorization_url).send().await.unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::FOUND, "Exact's sign-in page sends the browser back");
        answer.headers()["location"].to_str().unwrap().to_owned()
    }

    /// The browser back at Koppel: the status and the page.
    pub(super) async fn callback(&self, url: &str) -> (reqwest::StatusCode, String) {
        let answer = self.browser.get(url).send().await.unwrap();
        (answer.status(), answer.text().await.unwrap())
    }

    /// The whole connect flow, as an admin goes through it.
    pub(super) async fn connect(&self) {
        let url = self.start().await;
        let back = self.sign_in(&url).await;
        let (status, page) = self.callback(&back).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        assert!(page.contains("is connected"), "{page}");
    }

    pub(super) async fn test_connection(&self) -> Value {
        self.ok(TEST, json!({"id": self.integration})).await["testIntegrationConnection"]["test"].clone()
    }

    pub(super) async fn authorizations(&self) -> Value {
        self.ok(AUTHORIZATIONS, json!({"id": self.integration})).await["integration"]["authorizations"].clone()
    }

    /// The stored token rows, straight from the database.
    pub(super) async fn stored(&self) -> Vec<oauth_connection::Model> {
        oauth_connection::Entity::find().all(&self.server.server.state.db).await.unwrap()
    }
}
