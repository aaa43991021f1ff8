//! The newcomer's path through the real binary: `account create`, `serve` on embedded SQLite, login,
//! `me`; and start-up refusing bad configuration with a message that names the variable.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

fn koppel(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_koppel"));
    command
        .current_dir(data_dir)
        .env_remove("KOPPEL_DATABASE_URL")
        .env_remove("KOPPEL_JWT_SECRET")
        .env_remove("KOPPEL_ADMIN_PASSWORD")
        .env("KOPPEL_DATA_DIR", data_dir.join("data"))
        .env("RUST_LOG", "warn");
    command
}

/// Kills the server when the test ends, pass or fail.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn post(url: &str, token: Option<&str>, query: &str, variables: Value) -> Value {
    let mut request = reqwest::Client::new().post(url).json(&json!({"query": query, "variables": variables}));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("POST /graphql").json().await.expect("JSON")
}

#[tokio::test]
async fn account_create_then_serve_then_login_and_me() {
    let dir = tempfile::TempDir::new().unwrap();
    let created =
        koppel(dir.path()).args(["account", "create", "--name", "acme", "--admin", "admin"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(created.status.success(), "account create failed: {stdout}{}", String::from_utf8_lossy(&created.stderr));
    let password = stdout
        .lines()
        .find_map(|line| line.strip_prefix("admin password (shown once): "))
        .unwrap_or_else(|| panic!("no password printed: {stdout}"))
        .to_owned();
    assert!(dir.path().join("data/koppel.db").exists(), "the embedded database lives in the data directory");
    assert!(dir.path().join("data/jwt-secret").exists(), "a development signing key was generated");
    assert!(dir.path().join("data/master-key").exists(), "and a development key for credentials");

    // The same name again is refused, naming the field, and nothing else changes.
    let again = koppel(dir.path())
        .args(["account", "create", "--name", "acme"])
        .env("KOPPEL_ADMIN_PASSWORD", "another-password")
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("name: an account named acme already exists"));

    let path = dir.path().to_path_buf();
    let (server, url, _) = tokio::task::spawn_blocking(move || serve(&path, &[])).await.unwrap();

    let login = "mutation($input: LoginInput!) { login(input: $input) { session { token } } }";
    let response =
        post(&url, None, login, json!({"input": {"account": "acme", "username": "admin", "password": password}})).await;
    let token = response["data"]["login"]["session"]["token"].as_str().unwrap_or_else(|| panic!("{response}"));
    let me = post(&url, Some(token), "{ me { username role account { name } } }", json!({})).await;
    assert_eq!(me["data"]["me"], json!({"username": "admin", "role": "ADMIN", "account": {"name": "acme"}}));
    let health = reqwest::get(url.replace("/graphql", "/readyz")).await.unwrap();
    assert_eq!(health.status(), 200);
    drop(server);
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_variable() {
    let dir = tempfile::TempDir::new().unwrap();
    let cases = [
        ("KOPPEL_BIND", "not-an-address", "KOPPEL_BIND"),
        ("KOPPEL_JWT_SECRET", "short", "KOPPEL_JWT_SECRET"),
        ("KOPPEL_JWT_TTL_MINUTES", "forever", "KOPPEL_JWT_TTL_MINUTES"),
        ("KOPPEL_MAX_QUERY_DEPTH", "0", "KOPPEL_MAX_QUERY_DEPTH"),
        ("KOPPEL_MAX_QUERY_COMPLEXITY", "-5", "KOPPEL_MAX_QUERY_COMPLEXITY"),
        ("KOPPEL_MAX_BATCH_SIZE", "1001", "KOPPEL_MAX_BATCH_SIZE"),
        ("KOPPEL_MAX_BODY_BYTES", "12", "KOPPEL_MAX_BODY_BYTES"),
        ("KOPPEL_DB_MAX_CONNECTIONS", "0", "KOPPEL_DB_MAX_CONNECTIONS"),
        ("KOPPEL_INTROSPECTION", "perhaps", "KOPPEL_INTROSPECTION"),
        ("KOPPEL_GRAPHIQL", "maybe", "KOPPEL_GRAPHIQL"),
        ("KOPPEL_ALLOW_PRIVATE_REMOTES", "sometimes", "KOPPEL_ALLOW_PRIVATE_REMOTES"),
        ("KOPPEL_REMOTE_TIMEOUT_SECONDS", "0", "KOPPEL_REMOTE_TIMEOUT_SECONDS"),
        ("KOPPEL_LOG_FORMAT", "xml", "KOPPEL_LOG_FORMAT"),
        ("KOPPEL_DAEMON_WORKERS", "0", "KOPPEL_DAEMON_WORKERS"),
        ("KOPPEL_PRODUCT_SYNC_MINUTES", "never", "KOPPEL_PRODUCT_SYNC_MINUTES"),
        ("KOPPEL_EVENT_RETENTION_DAYS", "0", "KOPPEL_EVENT_RETENTION_DAYS"),
        ("KOPPEL_MASTER_KEY", "not-32-bytes", "KOPPEL_MASTER_KEY"),
        ("KOPPEL_DATA_DIR", "/proc/koppel-cannot-live-here", "KOPPEL_DATA_DIR"),
        ("KOPPEL_DATABASE_URL", "postgres://koppel:hunter2@127.0.0.1:1/koppel", "KOPPEL_DATABASE_URL"),
    ];
    for (variable, value, named) in cases {
        let output = koppel(dir.path()).arg("serve").env(variable, value).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{variable}={value} was accepted");
        assert!(stderr.contains(named), "{variable}={value}: the message does not name {named}: {stderr}");
        assert!(!stderr.contains("hunter2"), "the database password leaked: {stderr}");
    }
}

#[test]
fn migrate_and_schema_run_on_their_own() {
    let dir = tempfile::TempDir::new().unwrap();
    let migrate = koppel(dir.path()).arg("migrate").output().unwrap();
    assert!(migrate.status.success(), "{}", String::from_utf8_lossy(&migrate.stderr));
    assert!(dir.path().join("data/koppel.db").exists());
    let schema = koppel(dir.path()).arg("schema").output().unwrap();
    assert!(String::from_utf8_lossy(&schema.stdout).contains("type Mutation"));
}

/// Starts `koppel serve` with extra arguments and returns the GraphQL URL and the lines printed.
fn serve(dir: &std::path::Path, extra: &[&str]) -> (Running, String, Vec<String>) {
    let mut child = koppel(dir)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let running = Running(child);
    let mut lines = Vec::new();
    let mut url = None;
    let mut printed = BufReader::new(stdout).lines().map_while(Result::ok);
    for line in printed.by_ref() {
        if let Some(found) = line.strip_prefix("Koppel is listening on ") {
            url = Some(found.to_owned());
        }
        let done = line.starts_with("6. ");
        lines.push(line);
        if done || (url.is_some() && !extra.contains(&"--demo")) {
            break;
        }
    }
    // Keep reading what the server prints after that: a closed pipe would make its next line panic.
    std::thread::spawn(move || printed.for_each(drop));
    (running, url.expect("serve prints its address"), lines)
}

#[tokio::test]
async fn the_demo_connects_a_consumer_to_a_provider_with_products_to_import() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().to_path_buf();
    let (server, url, lines) = tokio::task::spawn_blocking(move || serve(&path, &["--demo"])).await.unwrap();
    let printed = lines.join("\n");
    assert!(printed.contains("demo_consumer") && printed.contains("demo_provider"), "{printed}");

    let login = "mutation($input: LoginInput!) { login(input: $input) { session { token } } }";
    let input = json!({"input": {"account": "demo_consumer", "username": "admin", "password": "koppel-demo-password"}});
    let response = post(&url, None, login, input).await;
    let token =
        response["data"]["login"]["session"]["token"].as_str().unwrap_or_else(|| panic!("{response}")).to_owned();
    let integrations = post(&url, Some(&token), "{ integrations { edges { node { id kind } } } }", json!({})).await;
    let id = integrations["data"]["integrations"]["edges"][0]["node"]["id"].as_str().unwrap().to_owned();
    assert!(printed.contains(&id), "the printed examples name the integration");

    let test = "mutation($id: ID!) { testIntegrationConnection(input: {id: $id}) { test { ok code message } } }";
    let tested = post(&url, Some(&token), test, json!({"id": id})).await;
    assert_eq!(tested["data"]["testIntegrationConnection"]["test"]["ok"], true, "{tested}");

    let browse = "query($id: ID!) { remoteProducts(integrationId: $id, first: 100) { nodes { remoteId sku } pageInfo { hasNextPage } } }";
    let remote = post(&url, Some(&token), browse, json!({"id": id})).await;
    let nodes = remote["data"]["remoteProducts"]["nodes"].as_array().unwrap_or_else(|| panic!("{remote}"));
    assert_eq!(nodes.len(), 20, "about twenty energy products");
    let import = "mutation($id: ID!, $remote: [String!]!) { importProducts(input: {integrationId: $id, remoteIds: $remote}) { products { sku authorised supplier { name } } userErrors { field message } } }";
    let imported =
        post(&url, Some(&token), import, json!({"id": id, "remote": [nodes[0]["remoteId"], nodes[1]["remoteId"]]}))
            .await;
    let products = imported["data"]["importProducts"]["products"].as_array().unwrap_or_else(|| panic!("{imported}"));
    assert_eq!(products.len(), 2);
    assert_eq!(products[0]["authorised"], false);

    // `koppel sync` runs a pass from the command line against the same database (with the demo's
    // permission to reach the server on loopback).
    let sync =
        |args: &[&str]| koppel(dir.path()).arg("sync").args(args).env("KOPPEL_ALLOW_PRIVATE_REMOTES", "true").output();
    let dry = sync(&["--integration", &id, "--dry-run"]).unwrap();
    let printed = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(dry.status.success(), "{printed}{}", String::from_utf8_lossy(&dry.stderr));
    assert!(printed.contains("would sync (dry run)"), "{printed}");
    assert!(printed.lines().any(|l| l.split_whitespace().eq(["unchanged", "2"])), "{printed}");
    assert!(printed.lines().any(|l| l.split_whitespace().eq(["not", "imported", "18"])), "{printed}");
    let synced = sync(&["--integration", &id]).unwrap();
    let printed = String::from_utf8_lossy(&synced.stdout).into_owned();
    assert!(synced.status.success(), "{printed}{}", String::from_utf8_lossy(&synced.stderr));
    assert!(printed.lines().next().unwrap_or_default().ends_with(" succeeded"), "the run is recorded: {printed}");
    // Not on a terminal: plain progress lines on stderr, ending with the records the pass went through.
    let progress = String::from_utf8_lossy(&synced.stderr).into_owned();
    assert!(progress.lines().any(|l| l == "progress: 20 of 20 records"), "{progress}");
    let wrong = sync(&["--integration", &id, "--entity", "orders"]).unwrap();
    assert!(!wrong.status.success());
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--entity must be one of products"), "{wrong:?}");
    // Koppel has an invoice pass, but a peer keeps no invoices.
    let unsupported = sync(&["--integration", &id, "--entity", "invoices"]).unwrap();
    assert!(!unsupported.status.success());
    assert!(String::from_utf8_lossy(&unsupported.stderr).contains("cannot list invoices"), "{unsupported:?}");
    let unknown = sync(&["--integration", "not-an-id"]).unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--integration must be an integration id"));
    drop(server);

    // A restart finds the demo in place instead of failing on the existing accounts.
    let path = dir.path().to_path_buf();
    let (_again, _, lines) = tokio::task::spawn_blocking(move || serve(&path, &["--demo"])).await.unwrap();
    assert!(lines.iter().any(|l| l.contains(&id)), "{lines:?}");
}

#[tokio::test]
async fn the_admin_password_can_be_chosen_and_is_then_not_printed() {
    let dir = tempfile::TempDir::new().unwrap();
    let created = koppel(dir.path())
        .args(["account", "create", "--name", "chosen", "--admin", "boss"])
        .env("KOPPEL_ADMIN_PASSWORD", "a-password-of-my-own")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&created.stdout).into_owned();
    assert!(created.status.success(), "{stdout}{}", String::from_utf8_lossy(&created.stderr));
    assert!(!stdout.contains("password"), "nothing to show: {stdout}");
    let short = koppel(dir.path())
        .args(["account", "create", "--name", "other"])
        .env("KOPPEL_ADMIN_PASSWORD", "short")
        .output()
        .unwrap();
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("password: password must be at least 10 characters"));

    let path = dir.path().to_path_buf();
    let (server, url, _) = tokio::task::spawn_blocking(move || serve(&path, &[])).await.unwrap();
    let login = "mutation($input: LoginInput!) { login(input: $input) { session { user { username } } } }";
    let response = post(
        &url,
        None,
        login,
        json!({"input": {"account": "chosen", "username": "boss", "password": "a-password-of-my-own"}}),
    )
    .await;
    assert_eq!(response["data"]["login"]["session"]["user"]["username"], "boss", "{response}");
    drop(server);
}

#[tokio::test]
async fn on_sqlite_a_second_daemon_is_refused_with_the_reason() {
    let dir = tempfile::TempDir::new().unwrap();
    // `serve` runs the daemon in its process and holds the SQLite daemon lock.
    let path = dir.path().to_path_buf();
    let (_server, _, _) = tokio::task::spawn_blocking(move || serve(&path, &[])).await.unwrap();
    let second = koppel(dir.path()).arg("daemon").output().unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(!second.status.success(), "a second daemon must not start: {stderr}");
    assert!(stderr.contains("On SQLite one daemon is the rule"), "{stderr}");
    // A server without its own daemon starts beside it.
    let path = dir.path().to_path_buf();
    let (_api_only, url, _) = tokio::task::spawn_blocking(move || serve(&path, &["--no-daemon"])).await.unwrap();
    assert!(url.starts_with("http://127.0.0.1:"));
}

#[tokio::test]
async fn a_separate_daemon_serves_its_metrics_on_koppel_daemon_metrics_addr() {
    let dir = tempfile::TempDir::new().unwrap();
    let refused = koppel(dir.path()).arg("daemon").env("KOPPEL_DAEMON_METRICS_ADDR", "port 9464").output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
    assert!(!refused.status.success() && stderr.contains("KOPPEL_DAEMON_METRICS_ADDR"), "{stderr}");

    // A job waiting in the queue, for the daemon to claim (and give up: no daemon knows its kind).
    assert!(koppel(dir.path()).arg("migrate").output().unwrap().status.success());
    let url = format!("sqlite://{}", dir.path().join("data/koppel.db").display());
    let db = sea_orm::Database::connect(&url).await.unwrap();
    koppel_daemon::jobs::enqueue(&db, koppel_daemon::jobs::NewJob::new("cli_test", json!({}))).await.unwrap();
    db.close().await.unwrap();

    let mut child = koppel(dir.path())
        .arg("daemon")
        .env("KOPPEL_DAEMON_METRICS_ADDR", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _daemon = Running(child);
    let (found, printed) = tokio::task::spawn_blocking(move || {
        let mut printed = BufReader::new(stdout).lines().map_while(Result::ok);
        let found = printed.by_ref().find_map(|line| line.strip_prefix("Koppel daemon metrics on ").map(str::to_owned));
        (found, printed)
    })
    .await
    .unwrap();
    std::thread::spawn(move || printed.for_each(drop));
    let metrics_url = found.expect("the daemon prints where its metrics are");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let response = reqwest::get(&metrics_url).await.expect("GET /metrics of the daemon");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = response.text().await.unwrap();
        if text.contains("koppel_job_claim_latency_seconds_count{kind=\"cli_test\"} 1") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the claim is not in the daemon's metrics:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
