//! The HTTP edge as clients meet it: media types and status codes after the GraphQL-over-HTTP spec,
//! queries over GET, a database outage (503 `UNAVAILABLE`, then recovery), and rate limits (429
//! `RATE_LIMITED` with `Retry-After`). The full spec audit (graphql-http's `auditServer`) runs in CI
//! against the real binary: `tests/http-audit`.

use crate::common::{TEST_PASSWORD, TestServer};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const ME: &str = "{ me { username } }";
const LOGIN: &str = "mutation($input: LoginInput!) { login(input: $input) { session { token } } }";

/// A response, read whole.
struct Answer {
    status: StatusCode,
    content_type: String,
    retry_after: Option<String>,
    allow: Option<String>,
    body: Value,
    text: String,
}

async fn answer(response: reqwest::Response) -> Answer {
    let header = |name: reqwest::header::HeaderName| {
        response.headers().get(name).map(|value| value.to_str().expect("a text header").to_owned())
    };
    let (content_type, retry_after, allow) = (header(CONTENT_TYPE), header(RETRY_AFTER), header(ALLOW));
    let status = response.status();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer { status, content_type: content_type.unwrap_or_default(), retry_after, allow, body, text }
}

fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or_else(|| panic!("no error code in {body:#}"))
}

/// POSTs `{query, variables}` as JSON with the given `Accept` (none when `None`) and bearer token.
async fn post(
    http: &reqwest::Client,
    url: &str,
    accept: Option<&str>,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Answer {
    let mut request = http.post(url).json(&json!({ "query": query, "variables": variables }));
    if let Some(accept) = accept {
        request = request.header(ACCEPT, accept);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    answer(request.send().await.expect("POST /graphql")).await
}

/// A client whose requests come from `ip` (any of 127.0.0.0/8 reaches the server on Linux).
fn client_from(ip: &str) -> reqwest::Client {
    let ip: IpAddr = ip.parse().unwrap();
    reqwest::Client::builder().local_address(ip).timeout(Duration::from_secs(60)).build().unwrap()
}

fn retry_after_seconds(answer: &Answer) -> u64 {
    let value = answer.retry_after.as_deref().unwrap_or_else(|| panic!("no Retry-After: {}", answer.text));
    value.parse().unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {value:?}"))
}

#[tokio::test]
async fn responses_come_in_the_media_type_the_client_asks_for() {
    let server = TestServer::start().await;
    for (accept, expected) in [
        (Some("application/json"), "application/json"),
        (Some(GRAPHQL_RESPONSE_JSON), GRAPHQL_RESPONSE_JSON),
        (Some("application/graphql-response+json, application/json;q=0.9"), GRAPHQL_RESPONSE_JSON),
        (Some("*/*"), "application/json"),
        (None, "application/json"),
    ] {
        let mut request = server.http.post(&server.url).json(&json!({ "query": "{ __typename }" }));
        request = match accept {
            Some(accept) => request.header(ACCEPT, accept),
            // reqwest always sends some `Accept`; an empty one states no preference either.
            None => request.header(ACCEPT, ""),
        };
        let answer = answer(request.send().await.unwrap()).await;
        assert_eq!(answer.status, StatusCode::OK, "{accept:?}: {}", answer.text);
        assert!(answer.content_type.starts_with(expected), "{accept:?} got {}", answer.content_type);
        assert_eq!(answer.body, json!({ "data": { "__typename": "Query" } }), "{accept:?}");
    }
}

#[tokio::test]
async fn documents_that_cannot_run_are_400_without_data_under_the_graphql_response_type() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    for (query, variables, what) in [
        ("{", json!({}), "a parse error"),
        ("{ noSuchField }", json!({}), "a validation error"),
        (
            "query($first: Int!) { statuses(first: $first) { edges { cursor } } }",
            json!({ "first": "x" }),
            "a variable of the wrong type",
        ),
    ] {
        let strict =
            post(&server.http, &server.url, Some(GRAPHQL_RESPONSE_JSON), Some(&admin.token), query, variables.clone())
                .await;
        assert_eq!(strict.status, StatusCode::BAD_REQUEST, "{what}: {}", strict.text);
        assert!(strict.body.get("data").is_none(), "{what}: a data entry: {}", strict.text);
        assert_eq!(code(&strict.body), "BAD_USER_INPUT", "{what}");
        // application/json: 200 with the same errors, as the spec asks for well-formed requests.
        let lenient =
            post(&server.http, &server.url, Some("application/json"), Some(&admin.token), query, variables).await;
        assert_eq!(lenient.status, StatusCode::OK, "{what}: {}", lenient.text);
        assert!(lenient.body.get("data").is_none(), "{what}: {}", lenient.text);
        assert_eq!(code(&lenient.body), "BAD_USER_INPUT", "{what}");
    }
    // Errors while executing keep their data entry and the 200: `me` ran and said who is missing.
    let anonymous = post(&server.http, &server.url, Some(GRAPHQL_RESPONSE_JSON), None, ME, json!({})).await;
    assert_eq!(anonymous.status, StatusCode::OK, "{}", anonymous.text);
    assert_eq!(anonymous.body["data"], Value::Null);
    assert!(anonymous.body.get("data").is_some());
    assert_eq!(code(&anonymous.body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn posts_must_be_json() {
    let server = TestServer::start().await;
    let body = json!({ "query": "{ __typename }" }).to_string();
    for content_type in [
        None,
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("application/json; charset=latin1"),
    ] {
        let mut request = server.http.post(&server.url).body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        let got = answer(request.send().await.unwrap()).await;
        assert_eq!(got.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type:?}: {}", got.text);
        assert_eq!(code(&got.body), "BAD_USER_INPUT", "{content_type:?}");
    }
    let got = answer(
        server
            .http
            .post(&server.url)
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    // Parameters of the wrong type are refused before anything runs.
    for bad in [
        json!({ "query": 1 }),
        json!({ "query": "{ __typename }", "variables": "[]" }),
        json!({ "qeury": "{ __typename }" }),
    ] {
        let got = answer(server.http.post(&server.url).json(&bad).send().await.unwrap()).await;
        assert_eq!(got.status, StatusCode::BAD_REQUEST, "{bad}: {}", got.text);
        assert_eq!(code(&got.body), "BAD_USER_INPUT", "{bad}");
    }
}

#[tokio::test]
async fn get_runs_queries_but_never_mutations() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let get = |params: Vec<(&'static str, String)>, accept: &'static str| {
        server.http.get(&server.url).query(&params).header(ACCEPT, accept).bearer_auth(&admin.token).send()
    };
    let answer1 = answer(get(vec![("query", ME.into())], "application/json").await.unwrap()).await;
    assert_eq!(answer1.status, StatusCode::OK, "{}", answer1.text);
    assert!(answer1.content_type.starts_with("application/json"), "{}", answer1.content_type);
    assert_eq!(answer1.body, json!({ "data": { "me": { "username": "admin" } } }));

    let query = "query Statuses($first: Int) { statuses(first: $first) { edges { node { key } } } }";
    let params = vec![
        ("query", query.into()),
        ("variables", json!({ "first": 2 }).to_string()),
        ("operationName", "Statuses".into()),
    ];
    let answer2 = answer(get(params, GRAPHQL_RESPONSE_JSON).await.unwrap()).await;
    assert_eq!(answer2.status, StatusCode::OK, "{}", answer2.text);
    assert!(answer2.content_type.starts_with(GRAPHQL_RESPONSE_JSON));
    assert_eq!(answer2.body["data"]["statuses"]["edges"].as_array().map(Vec::len), Some(2), "{}", answer2.text);

    // A mutation by GET is refused and does not run.
    let create = r#"mutation { createStatus(input: { key: "via_get", name: "Via GET" }) { status { id } } }"#;
    for accept in ["application/json", GRAPHQL_RESPONSE_JSON, "*/*"] {
        let refused = answer(get(vec![("query", create.into())], accept).await.unwrap()).await;
        assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "{accept}: {}", refused.text);
        assert_eq!(refused.allow.as_deref(), Some("POST"));
        assert_eq!(code(&refused.body), "BAD_USER_INPUT");
    }
    let two = format!("query Q {{ me {{ username }} }} {create}").replace("mutation {", "mutation M {");
    let refused =
        answer(get(vec![("query", two.clone()), ("operationName", "M".into())], "application/json").await.unwrap())
            .await;
    assert_eq!(refused.status, StatusCode::METHOD_NOT_ALLOWED, "{}", refused.text);
    let keys =
        server.gql_ok(Some(&admin.token), "{ statuses(first: 100) { edges { node { key } } } }", json!({})).await;
    assert!(!keys.to_string().contains("via_get"), "a mutation ran over GET: {keys}");
    // The same document's query may be chosen.
    let query_of_two =
        answer(get(vec![("query", two), ("operationName", "Q".into())], "application/json").await.unwrap()).await;
    assert_eq!(query_of_two.body["data"]["me"]["username"], "admin", "{}", query_of_two.text);
}

#[tokio::test]
async fn graphiql_is_for_browsers() {
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    let server = TestServer::start().await;
    let page = answer(server.http.get(&server.url).header(ACCEPT, browser).send().await.unwrap()).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    assert!(page.text.to_lowercase().contains("graphiql"));
    // A client asking for JSON without a query is told what is missing, not sent a page.
    let json_client =
        answer(server.http.get(&server.url).header(ACCEPT, "application/json").send().await.unwrap()).await;
    assert_eq!(json_client.status, StatusCode::BAD_REQUEST, "{}", json_client.text);
    assert_eq!(code(&json_client.body), "BAD_USER_INPUT");

    // Switched off: no page, but queries over GET still run.
    let server = TestServer::start_with(|c| c.graphiql = false).await;
    let page = server.http.get(&server.url).header(ACCEPT, browser).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    let query = server.http.get(&server.url).query(&[("query", "{ __typename }")]).header(ACCEPT, browser);
    let query = answer(query.send().await.unwrap()).await;
    assert_eq!(query.status, StatusCode::OK, "{}", query.text);
    assert_eq!(query.body["data"]["__typename"], "Query");
}

/// A TCP proxy in front of PostgreSQL that the test can cut (every connection dropped, nothing
/// accepted) and start again on the same port.
struct Proxy {
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(listen: SocketAddr, upstream: String) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(listen).unwrap_or_else(|e| panic!("the proxy cannot listen on {listen}: {e}"));
        let listener = socket.listen(64).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        let upstream = upstream.clone();
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                }
            }
            // Dropping the listener and every connection: to the server, the database is gone.
            drop(listener);
            connections.shutdown().await;
        });
        Self { addr, stop, task }
    }

    async fn cut(self) -> SocketAddr {
        let _ = self.stop.send(());
        self.task.await.unwrap();
        self.addr
    }
}

/// `host:port` of a `postgres://user@host:port/db` URL.
fn authority(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, rest)| rest);
    let host = rest.split(['/', '?']).next().unwrap();
    if host.contains(':') { host.to_owned() } else { format!("{host}:5432") }
}

#[tokio::test]
async fn while_the_database_is_unreachable_requests_get_503_and_then_recover() {
    let Some(admin_url) = std::env::var("KOPPEL_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty()) else {
        eprintln!(
            "skipped: the database outage test runs on PostgreSQL only (set KOPPEL_TEST_DATABASE_URL); \
             an embedded SQLite file cannot become unreachable while its handles are open"
        );
        return;
    };
    let upstream = authority(&admin_url);
    let proxy = Proxy::start("127.0.0.1:0".parse().unwrap(), upstream.clone()).await;
    let proxied = proxy.addr.to_string();
    let server = TestServer::start_with(|c| {
        let url = c.database_url.clone().expect("the harness sets a database URL");
        c.database_url = Some(url.replacen(&upstream, &proxied, 1));
    })
    .await;
    let admin = server.admin("acme").await;
    assert_eq!(server.gql_ok(Some(&admin.token), ME, json!({})).await["me"]["username"], "admin");

    let addr = proxy.cut().await;
    // Authenticated: the token's user (remembered from the request before, or not, as the cache heard the
    // listener's connection go) or the products cannot be read.
    let products = "{ products(first: 1) { nodes { id } } }";
    let down = post(&server.http, &server.url, Some("application/json"), Some(&admin.token), products, json!({})).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{}", down.text);
    assert_eq!(code(&down.body), "UNAVAILABLE", "{}", down.text);
    assert_eq!(retry_after_seconds(&down), 5);
    assert!(!down.text.contains(&proxied), "connection details leaked: {}", down.text);
    // In a resolver: login reads the account.
    let input = json!({ "input": { "account": "acme", "username": "admin", "password": TEST_PASSWORD } });
    let down = post(&server.http, &server.url, Some(GRAPHQL_RESPONSE_JSON), None, LOGIN, input).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE, "{}", down.text);
    assert_eq!(code(&down.body), "UNAVAILABLE", "{}", down.text);
    assert!(down.retry_after.is_some());
    let ready = server.http.get(format!("http://{}/readyz", server.addr)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);

    // The database comes back on the same address; the server finds it without a restart.
    let proxy = Proxy::start(addr, upstream).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let up = post(&server.http, &server.url, Some("application/json"), Some(&admin.token), ME, json!({})).await;
        if up.status == StatusCode::OK {
            assert_eq!(up.body, json!({ "data": { "me": { "username": "admin" } } }));
            break;
        }
        assert!(Instant::now() < deadline, "still down 15 s after the database came back: {} {}", up.status, up.text);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    server.stop().await;
    proxy.cut().await;
}

#[tokio::test]
async fn each_client_address_has_its_own_request_budget() {
    let server = TestServer::start_with(|c| c.rate_limit_per_address = 5).await;
    let here = client_from("127.0.0.1");
    for i in 1..=5 {
        let ok = post(&here, &server.url, None, None, "{ __typename }", json!({})).await;
        assert_eq!(ok.status, StatusCode::OK, "request {i}: {}", ok.text);
    }
    let refused = post(&here, &server.url, None, None, "{ __typename }", json!({})).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text);
    assert_eq!(code(&refused.body), "RATE_LIMITED");
    // 5 a minute: the next one is due in about 12 seconds.
    let wait = retry_after_seconds(&refused);
    assert!((1..=12).contains(&wait), "Retry-After {wait}");
    assert_eq!(refused.body["errors"][0]["extensions"]["retryAfter"], json!(wait));
    // GET counts too.
    let get = here.get(&server.url).query(&[("query", "{ __typename }")]).header(ACCEPT, "application/json");
    assert_eq!(get.send().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    let there = client_from("127.0.0.2");
    let ok = post(&there, &server.url, None, None, "{ __typename }", json!({})).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    // Health checks are not GraphQL requests and stay open.
    let health = here.get(format!("http://{}/healthz", server.addr)).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn each_token_has_its_own_request_budget() {
    let server = TestServer::start_with(|c| c.rate_limit_per_token = 3).await;
    let admin = server.admin("acme").await;
    let other = server.admin("globex").await;
    for i in 1..=3 {
        let ok = post(&server.http, &server.url, None, Some(&admin.token), ME, json!({})).await;
        assert_eq!(ok.status, StatusCode::OK, "request {i}: {}", ok.text);
    }
    let refused = post(&server.http, &server.url, None, Some(&admin.token), ME, json!({})).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text);
    assert_eq!(code(&refused.body), "RATE_LIMITED");
    assert!((1..=20).contains(&retry_after_seconds(&refused)));
    // Another token, and requests without one, from the same address go on.
    let ok = post(&server.http, &server.url, None, Some(&other.token), ME, json!({})).await;
    assert_eq!(ok.body["data"]["me"]["username"], "admin", "{}", ok.text);
    let anonymous = post(&server.http, &server.url, None, None, "{ __typename }", json!({})).await;
    assert_eq!(anonymous.status, StatusCode::OK);
}

async fn login(http: &reqwest::Client, server: &TestServer, account: &str, username: &str, password: &str) -> Answer {
    let input = json!({ "input": { "account": account, "username": username, "password": password } });
    post(http, &server.url, None, None, LOGIN, input).await
}

#[tokio::test]
async fn a_burst_of_logins_for_one_user_is_refused_without_touching_the_database() {
    let server = TestServer::start_with(|c| {
        c.login_rate_limit = 3;
        c.login_rate_limit_per_address = 10_000;
    })
    .await;
    let admin = server.admin("acme").await;
    let create = "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }";
    let input = json!({ "input": { "username": "sam", "password": "sam-password-1", "role": "AGENT" } });
    server.gql_ok(Some(&admin.token), create, input).await;
    server.create_account("globex", "admin").await;

    // `admin` signed in once already (the harness); two more wrong guesses use up the 3 a minute.
    for _ in 0..2 {
        let wrong = login(&server.http, &server, "acme", "admin", "wrong-password").await;
        assert_eq!(code(&wrong.body), "UNAUTHENTICATED", "{}", wrong.text);
    }
    let statements = server.metrics_statements().await;
    let burst = 100;
    let started = Instant::now();
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..burst {
        let (http, url) = (server.http.clone(), server.url.clone());
        // Spelling variants count as the same account and user.
        let account = if i % 2 == 0 { "ACME" } else { " acme" };
        let input = json!({ "input": { "account": account, "username": "admin", "password": TEST_PASSWORD } });
        attempts.spawn(async move {
            answer(http.post(&url).json(&json!({ "query": LOGIN, "variables": input })).send().await.unwrap()).await
        });
    }
    // The server keeps answering other requests during the burst.
    let during = post(&server.http, &server.url, None, Some(&admin.token), ME, json!({})).await;
    assert_eq!(during.body["data"]["me"]["username"], "admin", "{}", during.text);
    while let Some(attempt) = attempts.join_next().await {
        let attempt = attempt.unwrap();
        assert_eq!(attempt.status, StatusCode::TOO_MANY_REQUESTS, "{}", attempt.text);
        assert_eq!(code(&attempt.body), "RATE_LIMITED", "{}", attempt.text);
        assert!(attempt.body["data"].is_null(), "{}", attempt.text);
        assert!((1..=20).contains(&retry_after_seconds(&attempt)), "{:?}", attempt.retry_after);
    }
    eprintln!("{burst} refused logins took {:?}", started.elapsed());
    // Refused before the account was even looked up, so before any password was hashed: the burst ran
    // no SQL at all (the one `me` above ran one statement for the token's user and one for `me`).
    let ran = server.metrics_statements().await - statements;
    assert!(ran <= 2, "the refused logins ran {ran} SQL statements");

    // Even the right password waits; other users, and the same username in another account, do not.
    let right = login(&server.http, &server, "acme", "admin", TEST_PASSWORD).await;
    assert_eq!(code(&right.body), "RATE_LIMITED", "{}", right.text);
    let sam = login(&server.http, &server, "acme", "sam", "sam-password-1").await;
    assert!(sam.body["data"]["login"]["session"]["token"].is_string(), "{}", sam.text);
    let globex = login(&server.http, &server, "globex", "admin", TEST_PASSWORD).await;
    assert!(globex.body["data"]["login"]["session"]["token"].is_string(), "{}", globex.text);
}

#[tokio::test]
async fn logins_from_one_address_are_limited_across_users() {
    let server = TestServer::start_with(|c| c.login_rate_limit_per_address = 2).await;
    for name in ["a1", "a2", "a3"] {
        server.create_account(name, "admin").await;
    }
    let here = client_from("127.0.0.1");
    for name in ["a1", "a2"] {
        let ok = login(&here, &server, name, "admin", TEST_PASSWORD).await;
        assert!(ok.body["data"]["login"]["session"]["token"].is_string(), "{}", ok.text);
    }
    let refused = login(&here, &server, "a3", "admin", TEST_PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{}", refused.text);
    assert_eq!(code(&refused.body), "RATE_LIMITED");
    let elsewhere = login(&client_from("127.0.0.3"), &server, "a3", "admin", TEST_PASSWORD).await;
    assert!(elsewhere.body["data"]["login"]["session"]["token"].is_string(), "{}", elsewhere.text);
}

#[test]
fn invalid_rate_limits_stop_start_up_naming_the_variable() {
    let dir = tempfile::TempDir::new().unwrap();
    for (variable, value) in [
        ("KOPPEL_RATE_LIMIT_PER_ADDRESS", "0"),
        ("KOPPEL_RATE_LIMIT_PER_TOKEN", "lots"),
        ("KOPPEL_LOGIN_RATE_LIMIT", "10001"),
        ("KOPPEL_LOGIN_RATE_LIMIT_PER_ADDRESS", "-1"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_koppel"))
            .arg("serve")
            .env_remove("KOPPEL_DATABASE_URL")
            .env("KOPPEL_DATA_DIR", dir.path())
            .env("KOPPEL_BIND", "127.0.0.1:0")
            .env(variable, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{variable}={value} was accepted");
        assert!(stderr.contains(variable), "{variable}={value}: the message does not name it: {stderr}");
    }
}
