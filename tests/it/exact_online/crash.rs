//! A refresh-token rotation interrupted by a crash: a real `koppel serve` process works against the fake
//! with 2-second access tokens, and is killed (SIGKILL) right after the fake answered a refresh and saw
//! the new access token used for the first time. Started again, it still works: the stored refresh
//! token is the latest one, so Exact never hears "Old refresh token used". Three crashes by default;
//! `KOPPEL_EXACT_CRASHES=50` runs a longer loop (docs/BENCHMARKS.md).

use super::setup::{Setup, TEST, free_addr};
use crate::fakes::exact_online::exact_online;
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// SIGKILL: no shutdown, no flushing, nothing.
    fn crash(mut self) {
        self.0.kill().expect("SIGKILL");
        let _ = self.0.wait();
    }
}

/// `koppel serve` on the setup's database and data directory (its master key and JWT secret).
async fn serve(setup: &Setup) -> (Server, String) {
    let addr = free_addr();
    let child = Command::new(env!("CARGO_BIN_EXE_koppel"))
        .args(["serve", "--no-daemon", "--bind", &addr.to_string()])
        .env("KOPPEL_DATABASE_URL", setup.server.database_url())
        .env("KOPPEL_DATA_DIR", setup.server.data_dir())
        .env("KOPPEL_ALLOW_PRIVATE_REMOTES", "true")
        .env_remove("KOPPEL_JWT_SECRET")
        .env_remove("KOPPEL_MASTER_KEY")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("koppel serve starts");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let client = reqwest::Client::new();
    while client.get(format!("http://{addr}/readyz")).send().await.map(|r| r.status().is_success()).ok() != Some(true) {
        assert!(Instant::now() < deadline, "koppel serve did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (server, format!("http://{addr}/graphql"))
}

async fn test_connection(url: &str, token: &str, integration: &str) -> Option<Value> {
    let body = json!({"query": TEST, "variables": {"id": integration}});
    let answer = reqwest::Client::new().post(url).bearer_auth(token).json(&body).send().await.ok()?;
    let answer: Value = answer.json().await.ok()?;
    Some(answer["data"]["testIntegrationConnection"]["test"].clone())
}

#[tokio::test]
async fn a_crash_right_after_a_refresh_keeps_the_connection() {
    let crashes: u32 = std::env::var("KOPPEL_EXACT_CRASHES").ok().and_then(|n| n.parse().ok()).unwrap_or(3);
    let fake = exact_online().await;
    fake.set_token_lifetime(Duration::from_secs(2));
    // This test is about tokens: the rate limits stay out of the way.
    fake.limit_rate(1_000_000, 1_000_000, Duration::from_secs(60));
    let setup = Setup::with_fake(fake).await;
    setup.connect().await;

    for crash in 0..crashes {
        let (server, url) = serve(&setup).await;
        let first_uses = setup.fake.token_counts().first_uses;
        // The work: connection tests, one after another, as fast as they go.
        let work = {
            let (url, token, integration) = (url.clone(), setup.admin.token.clone(), setup.integration.clone());
            tokio::spawn(async move {
                loop {
                    let _ = test_connection(&url, &token, &integration).await;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while setup.fake.token_counts().first_uses == first_uses {
            if Instant::now() > deadline {
                let last = test_connection(&url, &setup.admin.token, &setup.integration).await;
                panic!("crash {crash}: no refresh happened; {:?}; the last test: {last:?}", setup.fake.token_counts());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.crash();
        work.abort();
        let counts = setup.fake.token_counts();
        assert_eq!((counts.old_refresh_token_used, counts.too_early), (0, 0), "crash {crash}: {counts:?}");
    }

    // Started again after the last crash: it works, through at least one more refresh.
    let (_server, url) = serve(&setup).await;
    let refreshes = setup.fake.token_counts().refreshes;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let test = test_connection(&url, &setup.admin.token, &setup.integration).await.expect("an answer");
        assert_eq!(test["ok"], true, "{test:#}");
        if setup.fake.token_counts().refreshes > refreshes {
            break;
        }
        assert!(Instant::now() < deadline, "no refresh after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let counts = setup.fake.token_counts();
    assert_eq!(counts.old_refresh_token_used, 0, "the stored refresh token was always the latest: {counts:?}");
    assert_eq!(counts.too_early, 0, "{counts:?}");
    assert!(counts.refreshes > crashes, "{counts:?}");
    assert_eq!(setup.authorizations().await[0]["connected"], true);
}

#[tokio::test]
async fn two_processes_refreshing_one_integration_keep_it_connected() {
    let fake = exact_online().await;
    fake.set_token_lifetime(Duration::from_secs(2));
    fake.limit_rate(1_000_000, 1_000_000, Duration::from_secs(60));
    let setup = Setup::with_fake(fake).await;
    setup.connect().await;
    let (_first, first_url) = serve(&setup).await;
    let (_second, second_url) = serve(&setup).await;

    // Both work on the integration for three access-token lives; each refresh is raced by the other
    // process, which finds the refresh token rotated and reads the winner's tokens instead.
    let deadline = Instant::now() + Duration::from_millis(6500);
    let work = |url: String| {
        let (token, integration) = (setup.admin.token.clone(), setup.integration.clone());
        tokio::spawn(async move {
            let mut answers = Vec::new();
            while Instant::now() < deadline {
                answers.push(test_connection(&url, &token, &integration).await.expect("an answer"));
            }
            answers
        })
    };
    let (a, b) = (work(first_url), work(second_url));
    let answers: Vec<Value> = [a.await.unwrap(), b.await.unwrap()].concat();
    let failed: Vec<&Value> = answers.iter().filter(|t| t["ok"] != true).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    let counts = setup.fake.token_counts();
    assert!(counts.refreshes >= 3, "{counts:?}");
    assert_eq!(counts.too_early, 0, "{counts:?}");
    assert_eq!(setup.authorizations().await[0]["connected"], true);
    assert_eq!(setup.stored().await[0].generation, 1 + i64::from(counts.refreshes), "every rotation stored once");
}
