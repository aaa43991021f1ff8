//! The tokens' life and the rate limits: an access token used until it is due and then refreshed (the
//! new refresh token stored), a 401 "access token expired" refreshed once, a refused refresh token that
//! disconnects the integration with advice, and a rate limit hit mid-work that slows the work down.

use super::setup::Setup;
use crate::fakes::exact_online::exact_online;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn the_access_token_is_refreshed_when_due_and_each_new_refresh_token_is_kept() {
    let fake = exact_online().await;
    // Ten minutes are too long for a test: 2 s (a refresh is allowed from 1.9 s).
    fake.set_token_lifetime(Duration::from_secs(2));
    let setup = Setup::with_fake(fake).await;
    setup.connect().await;
    let issued_at = Instant::now();

    // Within its life the access token is used as it is: no refresh (never TooEarlyToRefreshTokens).
    for _ in 0..3 {
        assert_eq!(setup.test_connection().await["ok"], true);
    }
    assert!(issued_at.elapsed() < Duration::from_millis(1900), "the test machine is too slow for this test");
    assert_eq!(setup.fake.token_counts().refreshes, 0);

    // Past it, each call refreshes once and uses the new refresh token next time.
    for round in 1..=3u32 {
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let test = setup.test_connection().await;
        assert_eq!(test["ok"], true, "{test:#}");
        let counts = setup.fake.token_counts();
        assert_eq!(counts.refreshes, round);
        assert_eq!((counts.too_early, counts.old_refresh_token_used), (0, 0), "{counts:?}");
        assert_eq!(setup.stored().await[0].generation, 1 + i64::from(round), "each rotation is stored");
    }
    let connection = &setup.authorizations().await[0];
    assert_eq!(connection["connected"], true);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_once_and_a_refused_refresh_token_disconnects() {
    let setup = Setup::new().await;
    setup.connect().await;
    assert_eq!(setup.test_connection().await["ok"], true);

    // Exact says the access token expired (Koppel thought it had minutes left): one refresh, one retry.
    setup.fake.expire_access_tokens();
    let calls = setup.fake.requests().len();
    let test = setup.test_connection().await;
    assert_eq!(test["ok"], true, "{test:#}");
    assert_eq!(setup.fake.token_counts().refreshes, 1);
    let since: Vec<String> = setup.fake.requests()[calls..].to_vec();
    assert_eq!(since.iter().filter(|r| r.ends_with("/current/Me")).count(), 2, "refused once, then again: {since:#?}");

    // The refresh token voided at Exact (the app revoked, or a token used elsewhere): disconnected, with
    // advice, and the next calls do not keep trying.
    setup.fake.void_refresh_tokens();
    setup.fake.expire_access_tokens();
    let test = setup.test_connection().await;
    assert_eq!((test["ok"].clone(), test["code"].clone()), (json!(false), json!("WRONG_CREDENTIALS")), "{test:#}");
    let message = test["message"].as_str().unwrap();
    assert!(
        message.contains("Old refresh token used") && message.contains("connect the integration again"),
        "{message}"
    );
    let connection = &setup.authorizations().await[0];
    assert_eq!(connection["connected"], false);
    assert!(connection["problem"].as_str().unwrap().contains("Old refresh token used"), "{connection:#}");
    let refused = setup.fake.token_counts().old_refresh_token_used;
    let test = setup.test_connection().await;
    assert_eq!(test["code"], "WRONG_CREDENTIALS");
    assert_eq!(setup.fake.token_counts().old_refresh_token_used, refused, "a lost connection is not retried");

    // Connecting again brings it back.
    setup.connect().await;
    assert_eq!(setup.test_connection().await["ok"], true);
    assert_eq!(setup.authorizations().await[0]["connected"], true);
}

#[tokio::test]
async fn a_rate_limit_hit_mid_work_slows_the_work_down_instead_of_failing_it() {
    let setup = Setup::new().await;
    setup.connect().await;
    // Three calls per 2-second window (Exact: 60 a minute); each connection test makes two.
    setup.fake.limit_rate(3, 5000, Duration::from_secs(2));
    let started = Instant::now();
    for _ in 0..4 {
        let test = setup.test_connection().await;
        assert_eq!(test["ok"], true, "{test:#}");
    }
    // Eight calls of three per window: at least two windows waited for, and Exact never said 429
    // (Koppel read the headers and waited before it would have).
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(setup.fake.rate_limited(), 0, "Koppel waited for the window instead of running into 429s");

    // Someone else (another app instance of the same company) spends the window: Koppel gets a 429, waits
    // until its reset and goes on.
    let token = other_token(&setup).await;
    setup.fake.limit_rate(2, 5000, Duration::from_secs(5));
    let client = reqwest::Client::new();
    let mut spent = 0;
    while spent < 40 {
        let answer = client
            .get(format!("{}/api/v1/current/Me", setup.fake.base_url()))
            .bearer_auth(&token)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        spent += 1;
        if answer.status() == reqwest::StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    let refused_before = setup.fake.rate_limited();
    let test = setup.test_connection().await;
    assert_eq!(test["ok"], true, "{test:#}");
    assert!(setup.fake.rate_limited() > refused_before, "Koppel ran into the other's 429 and waited it out");
}

/// A token of the same app outside Koppel (the test signs in at the fake and exchanges the code itself).
async fn other_token(setup: &Setup) -> String {
    let mut url = url::Url::parse(&format!("{}/api/oauth2/auth", setup.fake.base_url())).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", crate::fakes::exact_online::CLIENT_ID)
        .append_pair("redirect_uri", "https://elsewhere.example/callback")
        .append_pair("response_type", "code");
    let back = setup.sign_in(url.as_str()).await;
    let code = url::Url::parse(&back).unwrap().query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned();
    let answer: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/oauth2/token", setup.fake.base_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://elsewhere.example/callback"),
            ("client_id", crate::fakes::exact_online::CLIENT_ID),
            ("client_secret", crate::fakes::exact_online::CLIENT_SECRET),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn concurrent_calls_after_expiry_refresh_once() {
    let fake = exact_online().await;
    fake.set_token_lifetime(Duration::from_secs(2));
    let setup = Setup::with_fake(fake).await;
    setup.connect().await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Six connection tests at once, all finding the access token due.
    let tests = futures_util::future::join_all((0..6).map(|_| setup.test_connection())).await;
    assert!(tests.iter().all(|t| t["ok"] == true), "{tests:#?}");
    let counts = setup.fake.token_counts();
    assert_eq!(counts.refreshes, 1, "one refresh serves them all: {counts:?}");
    assert_eq!((counts.too_early, counts.old_refresh_token_used), (0, 0), "{counts:?}");
}
