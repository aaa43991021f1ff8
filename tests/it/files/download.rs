//! Downloads through signed links: expired and tampered links are refused, and a link never reaches
//! another account's file.

use super::*;
use crate::common::TestServer;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

/// The parts of a relative link: file id, account id, expires, signature.
fn parts(url: &str) -> (Uuid, Uuid, i64, String) {
    let (path, query) = url.split_once('?').unwrap();
    let value = |name: &str| query.split('&').find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().to_owned();
    let file = Uuid::parse_str(path.trim_start_matches("/files/")).unwrap();
    (file, Uuid::parse_str(&value("account")).unwrap(), value("expires").parse().unwrap(), value("signature"))
}

async fn refused(server: &TestServer, url: &str, status: StatusCode, code: &str) {
    let response = download(server, url).await;
    assert_eq!(response.status(), status, "{url}");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], code, "{url}: {body}");
}

#[tokio::test]
async fn expired_tampered_and_other_accounts_links_are_refused() {
    let server = TestServer::start().await;
    let acme = server.admin("acme").await;
    let p1 = product(&server, &acme, "P1").await;
    let attached = attach(&server, &acme, &p1, "voorwaarden.pdf", &pdf(1), json!({})).await;
    let url = attached["attachment"]["url"].as_str().unwrap().to_owned();
    let (file, account, expires, signature) = parts(&url);
    assert!(expires > chrono::Utc::now().timestamp() + 250, "valid for about 5 minutes");
    assert_eq!(download(&server, &url).await.status(), StatusCode::OK);

    // Expired: a link the server signed, whose time is up.
    let signer = &server.server.state.file_links;
    let expired = signer.link(account, file, chrono::Utc::now() - chrono::Duration::seconds(1));
    refused(&server, &expired, StatusCode::FORBIDDEN, "FORBIDDEN").await;
    let response = download(&server, &expired).await;
    assert!(response.text().await.unwrap().contains("expired"));

    // Tampered: a later expiry, another signature, no signature.
    refused(
        &server,
        &url.replace(&format!("expires={expires}"), &format!("expires={}", expires + 86_400)),
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;
    let flipped = format!("{}{}", &signature[..signature.len() - 1], if signature.ends_with('A') { 'B' } else { 'A' });
    refused(&server, &url.replace(&signature, &flipped), StatusCode::FORBIDDEN, "FORBIDDEN").await;
    refused(&server, &format!("/files/{file}"), StatusCode::FORBIDDEN, "FORBIDDEN").await;

    // Another account: its own link works for its own file only; a valid signature for its account
    // does not reach acme's file (NOT_FOUND), and its link with acme's file id is not valid.
    let other = server.admin("other").await;
    let theirs = product(&server, &other, "X1").await;
    let their_attachment = attach(&server, &other, &theirs, "x.pdf", &pdf(2), json!({})).await;
    let their_url = their_attachment["attachment"]["url"].as_str().unwrap().to_owned();
    let (their_file, their_account, _, _) = parts(&their_url);
    assert_eq!(download(&server, &their_url).await.status(), StatusCode::OK);
    let crossing = signer.link(their_account, file, chrono::Utc::now() + chrono::Duration::minutes(5));
    refused(&server, &crossing, StatusCode::NOT_FOUND, "NOT_FOUND").await;
    refused(
        &server,
        &their_url.replace(&their_file.to_string(), &file.to_string()),
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
    )
    .await;

    // A removed attachment's file is gone.
    server.gql_ok(Some(&acme.token), REMOVE, json!({"id": attached["attachment"]["id"]})).await;
    refused(&server, &url, StatusCode::NOT_FOUND, "NOT_FOUND").await;
}

#[tokio::test]
async fn links_last_as_long_as_configured() {
    let server = TestServer::start_with(|c| c.file_link_ttl_seconds = 10).await;
    let admin = server.admin("acme").await;
    let product = product(&server, &admin, "P1").await;
    let attached = attach(&server, &admin, &product, "voorwaarden.pdf", PDF, json!({})).await;
    let (_, _, expires, _) = parts(attached["attachment"]["url"].as_str().unwrap());
    let left = expires - chrono::Utc::now().timestamp();
    assert!((8..=10).contains(&left), "{left} s");
}
