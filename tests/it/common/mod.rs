//! The end-to-end harness: a real Koppel server on `127.0.0.1:0` over a fresh database, and a client
//! that talks GraphQL over HTTP like any other client.
//!
//! Every server gets a fresh database of its own ([`TestDb`]): a new SQLite file, or, when
//! `KOPPEL_TEST_DATABASE_URL` names a PostgreSQL server, a copy of a migrated template database that
//! is dropped when the test ends (see `database.rs`).

pub mod database;
pub mod upload;

use database::TestDb;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tempfile::TempDir;

/// The password of every admin the harness creates (at least 10 characters, as Koppel requires).
pub const TEST_PASSWORD: &str = "koppel-test-password";

const LOGIN: &str = "mutation($input: LoginInput!) {
  login(input: $input) { session { token expiresAt } userErrors { field message code } }
}";

/// Someone signed in: the token goes into `gql(Some(&session.token), …)`.
#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub account: String,
    pub username: String,
}

/// A running server with its own database and data directory. Dropping it (when the test ends, pass or
/// fail) removes both; the server's requests in flight end with the test's runtime.
pub struct TestServer {
    pub addr: SocketAddr,
    /// `http://{addr}/graphql`.
    pub url: String,
    pub server: koppel_api::Server,
    /// For requests the helpers do not cover (raw bodies, other paths, status codes).
    pub http: reqwest::Client,
    /// Stops the in-process daemon ([`TestServer::with_daemon`]) when the server is dropped.
    daemon: Option<DaemonStop>,
    // Kept for their drop, after the server's: the database is dropped, the directory removed.
    _db: TestDb,
    _data_dir: TempDir,
}

/// Tells the in-process daemon to stop when dropped (its job in flight ends with the test's runtime).
struct DaemonStop(tokio::sync::watch::Sender<bool>);

impl Drop for DaemonStop {
    fn drop(&mut self) {
        let _ = self.0.send(true);
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts with the test defaults changed by `configure`, e.g. `|c| c.max_batch_size = 2`.
    pub async fn start_with(configure: impl FnOnce(&mut koppel_api::Config)) -> Self {
        let db = TestDb::new().await;
        let data_dir = TempDir::new().expect("a temporary data directory");
        let mut config = koppel_api::Config::for_database(&db.url, data_dir.path().to_path_buf());
        configure(&mut config);
        let server = koppel_api::start(config).await.expect("the server starts");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("an HTTP client");
        Self {
            addr: server.addr,
            url: format!("http://{}/graphql", server.addr),
            server,
            http,
            daemon: None,
            _db: db,
            _data_dir: data_dir,
        }
    }

    /// Like [`TestServer::start_with`], with a daemon working the job queue in this process the way
    /// `koppel serve` runs one: `syncNow` queues passes and the daemon runs them. It has a database
    /// connection of its own (as a separate `koppel daemon` would), so the server's statement count
    /// stays the requests' own; it queues no scheduled passes (tests queue what they need).
    pub async fn with_daemon(configure: impl FnOnce(&mut koppel_api::Config)) -> Self {
        let mut server = Self::start_with(configure).await;
        server.start_daemon(false).await;
        server
    }

    /// Starts the in-process daemon of [`TestServer::with_daemon`] now; with `schedule`, its schedule
    /// queues the integrations' passes too, looking for due slots every second.
    pub async fn start_daemon(&mut self, schedule: bool) {
        assert!(self.daemon.is_none(), "one daemon per test server");
        let engine = self.server.state.engine.clone();
        let db = sea_orm::Database::connect(self.database_url()).await.expect("the daemon's database connection");
        let context = koppel_daemon::Context { db, ..engine };
        let options = koppel_daemon::process::DaemonOptions {
            idle_poll: Duration::from_millis(50),
            schedule,
            schedule_tick: Duration::from_secs(1),
            // A sale that could not be sent is tried again after about a second (tests wait for it).
            send_retry_base: Duration::from_secs(1),
            ..Default::default()
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(koppel_daemon::process::run(context, options, stopped));
        self.daemon = Some(DaemonStop(stop));
    }

    /// The server's database, for another process (a separate `koppel daemon`) to share.
    pub fn database_url(&self) -> &str {
        &self._db.url
    }

    /// The server's data directory, which holds its development master key: another process given it
    /// decrypts the same credentials.
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
    }

    /// Stops accepting requests and waits for the ones in flight (then the database is dropped).
    pub async fn stop(self) {
        drop(self.daemon);
        self.server.stop().await.expect("the server stops cleanly");
    }

    /// Creates account `name` (a–z, 0–9, `_`) with admin user `admin`; returns the admin's password.
    pub async fn create_account(&self, name: &str, admin: &str) -> String {
        koppel_api::accounts::create_account(&self.server.state.db, name, admin, TEST_PASSWORD)
            .await
            .unwrap_or_else(|e| panic!("cannot create account {name}: {e:?}"));
        TEST_PASSWORD.to_owned()
    }

    /// Signs in and returns the token; panics with the response if there is none.
    pub async fn login(&self, account: &str, username: &str, password: &str) -> String {
        let input = json!({ "account": account, "username": username, "password": password });
        let body = self.gql(None, LOGIN, json!({ "input": input })).await;
        match body["data"]["login"]["session"]["token"].as_str() {
            Some(token) => token.to_owned(),
            None => panic!("login as {account}/{username} gave no token: {body:#}"),
        }
    }

    /// A new account `name` with an admin called `admin`, signed in.
    pub async fn admin(&self, name: &str) -> Session {
        let password = self.create_account(name, "admin").await;
        let token = self.login(name, "admin", &password).await;
        Session { token, account: name.to_owned(), username: "admin".to_owned() }
    }

    /// Posts one operation and returns the whole response, errors and all. Panics only when the answer
    /// is not JSON (e.g. a body over the size limit); use `http` to test those.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self.http.post(&self.url).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST /graphql");
        let status = response.status();
        let text = response.text().await.expect("the response body");
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("POST /graphql answered {status}, not JSON ({e}): {text}"))
    }

    /// Like `gql`, but panics with the full response if it has `errors`; returns `data`.
    pub async fn gql_ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut body = self.gql(token, query, variables).await;
        if body.get("errors").is_some_and(|errors| !errors.is_null()) {
            panic!("GraphQL errors: {body:#}\nquery: {query}");
        }
        body.get_mut("data").map(Value::take).unwrap_or(Value::Null)
    }

    /// `errors[0].extensions.code` of a response, e.g. `UNAUTHENTICATED`.
    pub fn error_code(response: &Value) -> Option<String> {
        response["errors"][0]["extensions"]["code"].as_str().map(str::to_owned)
    }

    /// The SQL statements the server has run so far, from `GET /metrics`.
    pub async fn metrics_statements(&self) -> u64 {
        let url = format!("http://{}/metrics", self.addr);
        let text = self.http.get(&url).send().await.expect("GET /metrics").text().await.expect("the metrics");
        text.lines()
            .find_map(|line| line.strip_prefix("koppel_db_statements_total "))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no koppel_db_statements_total in /metrics:\n{text}"))
    }
}
