//! Connection tests say whom we are connected as, or why not: wrong account, wrong or revoked token,
//! nobody listening, a remote that never answers or is no Koppel at all (fake remotes); base URLs
//! must be `https` on public addresses; and the provider and consumer on two servers.

use super::client::Client;
use super::fixtures::{
    AGENT, CREATE_INTEGRATION, GRANTED_SKUS, UPDATE_INTEGRATION, assert_failed, base_url, connected, consumer,
    create_integration, import, integration, integration_count, local_products, local_suppliers, map_origin, provider,
    remote_products, revoke, set_token, test_connection,
};
use super::{closed_port, has_error, peer_server, sorted};
use crate::common::TestServer;
use crate::fakes;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn connection_tests_say_whom_we_are_connected_as_and_why_not() {
    let server = peer_server().await;
    let (b, a) = connected(&server).await;
    server.admin("elsewhere").await;

    let ok = test_connection(&a.admin, &a.integration, None).await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert_eq!(ok["code"], "OK");
    assert_eq!(ok["mode"], "TEST");
    let identity = ok["identity"].as_str().unwrap();
    assert!(identity.contains(AGENT) && identity.contains("provider"), "{identity}");
    assert!(ok["latencyMs"].as_i64().is_some_and(|ms| ms >= 0), "{ok:#}");

    // The token belongs to another account than the one configured.
    let settings = |account: &str| json!({"i": {"id": a.integration, "settings": {"accountName": account}}});
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, settings("elsewhere")).await;
    let wrong = test_connection(&a.admin, &a.integration, None).await;
    assert_failed(&wrong, "WRONG_ACCOUNT");
    assert!(wrong["message"].as_str().unwrap().contains("elsewhere"), "{wrong:#}");
    a.admin.mutate("updateIntegration", UPDATE_INTEGRATION, settings(&b.account)).await;
    assert_eq!(test_connection(&a.admin, &a.integration, None).await["ok"], true);

    // Nobody listens.
    let unreachable =
        create_integration(&a.admin, "Nobody", &format!("http://127.0.0.1:{}", closed_port()), &b.account).await;
    set_token(&a.admin, &unreachable, "TEST", &b.secret).await;
    assert_failed(&test_connection(&a.admin, &unreachable, None).await, "UNREACHABLE");

    // No credentials for the mode tested.
    let production = test_connection(&a.admin, &a.integration, Some("PRODUCTION")).await;
    assert_failed(&production, "CONFIGURATION");
    assert_eq!(production["mode"], "PRODUCTION");
    a.admin
        .mutate("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": a.integration, "mode": "PRODUCTION"}}))
        .await;
    assert_failed(&test_connection(&a.admin, &a.integration, None).await, "CONFIGURATION");
    assert_eq!(test_connection(&a.admin, &a.integration, Some("TEST")).await["ok"], true);

    // B revokes the token.
    revoke(&b.admin, &b.token_id).await;
    assert_failed(&test_connection(&a.admin, &a.integration, Some("TEST")).await, "REVOKED");
    a.admin.assert_never_saw(&b.secret);
}

#[tokio::test]
async fn a_made_up_token_is_wrong_credentials_not_revoked() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let made_up = "kpl_madeUpTokenThatWasNeverIssuedByAnyone0123456";
    let a = consumer(&server, "consumer", &server, &b.account, made_up).await;
    let test = test_connection(&a.admin, &a.integration, None).await;
    assert_failed(&test, "WRONG_CREDENTIALS");
    // Something that is not a kpl_ token at all is wrong too.
    set_token(&a.admin, &a.integration, "TEST", "not-a-token-at-all").await;
    assert_failed(&test_connection(&a.admin, &a.integration, None).await, "WRONG_CREDENTIALS");
    a.admin.assert_never_saw(made_up);
}

#[tokio::test]
async fn a_remote_that_never_answers_times_out() {
    let server = TestServer::start_with(|c| {
        c.allow_private_remotes = true;
        c.remote_timeout_seconds = 1;
    })
    .await;
    let silent = fakes::silent().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let id = create_integration(&admin, "Silent", &silent.base_url(), "provider").await;
    set_token(&admin, &id, "TEST", "kpl_whateverTokenForTheSilentRemote000000000000").await;
    let test = test_connection(&admin, &id, None).await;
    assert_failed(&test, "TIMEOUT");
    let latency = test["latencyMs"].as_i64().unwrap();
    assert!((900..15_000).contains(&latency), "about the 1 s timeout: {latency} ms");
}

#[tokio::test]
async fn remotes_that_are_not_koppel_or_not_well_get_their_own_codes() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    const JSON: fakes::Headers = &[("content-type", "application/json")];
    let cases: [(StatusCode, fakes::Headers, &str, &str); 5] = [
        (StatusCode::INTERNAL_SERVER_ERROR, &[("content-type", "text/plain")], "oops", "REMOTE_ERROR"),
        (StatusCode::TOO_MANY_REQUESTS, &[("retry-after", "7")], "", "RATE_LIMITED"),
        (StatusCode::OK, &[("content-type", "text/html")], "<html></html>\r\n", "PROTOCOL_ERROR"),
        (StatusCode::OK, JSON, "{\"data\":{\"me\":null}}", "PROTOCOL_ERROR"),
        (
            StatusCode::OK,
            JSON,
            "{\"data\":null,\"errors\":[{\"message\":\"no\",\"extensions\":{\"code\":\"RATE_LIMITED\"}}]}",
            "RATE_LIMITED",
        ),
    ];
    for (i, (status, headers, body, code)) in cases.into_iter().enumerate() {
        let remote = fakes::canned(status, headers, body).await;
        let id = create_integration(&admin, &format!("Odd {i}"), &remote.base_url(), "provider").await;
        set_token(&admin, &id, "TEST", &b.secret).await;
        let test = test_connection(&admin, &id, None).await;
        assert_failed(&test, code);
        if code == "RATE_LIMITED" && i == 1 {
            assert!(test["message"].as_str().unwrap().contains('7'), "the Retry-After is passed on: {test:#}");
        }
    }

    // A base URL that is Koppel's server but not its root: nothing GraphQL answers there.
    let wrong_path =
        create_integration(&admin, "Wrong path", &format!("{}/elsewhere", base_url(&server)), "provider").await;
    set_token(&admin, &wrong_path, "TEST", &b.secret).await;
    let test = test_connection(&admin, &wrong_path, None).await;
    assert_eq!(test["ok"], false, "{test:#}");
    assert!(["PROTOCOL_ERROR", "REMOTE_ERROR"].contains(&test["code"].as_str().unwrap()), "{test:#}");
    admin.assert_never_saw(&b.secret);
}

#[tokio::test]
async fn an_oversized_answer_is_refused_not_held_in_memory() {
    let server = peer_server().await;
    let b = provider(&server, "provider").await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let huge = fakes::oversized().await;
    let id = create_integration(&admin, "Huge", &huge.base_url(), "provider").await;
    set_token(&admin, &id, "TEST", &b.secret).await;
    let test = test_connection(&admin, &id, None).await;
    assert_failed(&test, "PROTOCOL_ERROR");
    assert!(test["message"].as_str().unwrap().contains("larger than 10 MiB"), "{test:#}");
}

#[tokio::test]
async fn base_urls_must_be_https_on_public_addresses() {
    let server = TestServer::start().await;
    let a = server.admin("consumer").await;
    let admin = Client::new(&server, &a.token);
    let refused = [
        "https://127.0.0.1",
        "https://2130706433",
        "https://0x7f000001",
        "https://127.1",
        "https://[::1]",
        "https://[::ffff:127.0.0.1]",
        "https://169.254.169.254",
        "https://[fe80::1]",
        "https://[fd00::1]",
        "https://100.64.0.1",
        "https://localhost.",
        "https://10.0.0.8",
        "https://192.168.1.1",
        "https://localhost",
        "https://koppel.localhost",
        "https://0.0.0.0",
        "http://example.com",
        "ftp://example.com",
        "https://user:pass@koppel.example.com",
    ];
    for url in refused {
        let input = json!({"kind": "peer", "name": url, "baseUrl": url, "settings": {"accountName": "provider"}});
        let (_, errors) = admin.refused("createIntegration", CREATE_INTEGRATION, json!({"i": input})).await;
        assert!(has_error(&errors, "baseUrl", "INVALID"), "{url}: {errors:?}");
    }
    assert_eq!(integration_count(&admin).await, 0);

    let id = create_integration(&admin, "Provider B", "https://koppel.example.com/", "provider").await;
    let stored = integration(&admin, &id).await;
    assert_eq!(stored["baseUrl"], "https://koppel.example.com");

    // Updating to a private address is refused as well, and changes nothing.
    let (_, errors) = admin
        .refused("updateIntegration", UPDATE_INTEGRATION, json!({"i": {"id": id, "baseUrl": "https://127.0.0.1:8443"}}))
        .await;
    assert!(has_error(&errors, "baseUrl", "INVALID"), "{errors:?}");
    assert_eq!(integration(&admin, &id).await["baseUrl"], "https://koppel.example.com");
}

#[tokio::test]
async fn provider_and_consumer_on_two_servers() {
    let provider_server = TestServer::start().await;
    let consumer_server = peer_server().await;
    let b = provider(&provider_server, "provider").await;
    let a = consumer(&consumer_server, "consumer", &provider_server, &b.account, &b.secret).await;

    let ok = test_connection(&a.admin, &a.integration, None).await;
    assert_eq!(ok["ok"], true, "{ok:#}");
    assert!(ok["identity"].as_str().unwrap().contains(AGENT));

    // The consumer's server has no account "provider": it is the remote that answers.
    assert_eq!(sorted(&remote_products(&a.admin, &a.integration).await, "sku"), GRANTED_SKUS);
    map_origin(&a).await;
    let imported = import(&a, &[&b.p1, &b.p2]).await;
    assert_eq!(imported.len(), 2);
    assert_eq!(local_products(&a.admin).await.len(), 2);
    assert_eq!(local_suppliers(&a.admin).await.len(), 1);
    assert_eq!(local_products(&b.admin).await.len(), 3, "B's catalogue is untouched");

    // Pointing at the wrong server: the consumer's own server does not know the token.
    a.admin
        .mutate(
            "updateIntegration",
            UPDATE_INTEGRATION,
            json!({"i": {"id": a.integration, "baseUrl": base_url(&consumer_server)}}),
        )
        .await;
    let test = test_connection(&a.admin, &a.integration, None).await;
    assert_eq!(test["ok"], false, "{test:#}");
    a.admin.assert_never_saw(&b.secret);
}
