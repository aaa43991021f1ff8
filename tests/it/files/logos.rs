//! Supplier logos: images only, shown with a download link, replaced and removed.

use super::*;
use crate::common::TestServer;
use crate::common::upload::FilePart;
use reqwest::StatusCode;
use serde_json::json;

const SET_LOGO: &str = "mutation($input: SetSupplierLogoInput!) {
  setSupplierLogo(input: $input) { supplier { id logo { kind contentType size sha256 fileName url } }
                                   userErrors { field message code } } }";

async fn supplier(server: &TestServer, admin: &crate::common::Session) -> String {
    let data = server
        .gql_ok(
            Some(&admin.token),
            "mutation { createSupplier(input: {supplier: {name: \"Vandebron\"}}) { supplier { id } } }",
            json!({}),
        )
        .await;
    data["createSupplier"]["supplier"]["id"].as_str().unwrap().to_owned()
}

async fn set_logo(server: &TestServer, token: &str, supplier: &str, name: &str, bytes: &[u8]) -> Value {
    let file = FilePart { variable: "variables.input.file", name, content_type: "image/png", bytes };
    let (status, body) =
        server.upload(Some(token), SET_LOGO, json!({"input": {"supplierId": supplier, "file": null}}), &[file]).await;
    assert_eq!(status, StatusCode::OK, "{body:#}");
    body["data"]["setSupplierLogo"].clone()
}

#[tokio::test]
async fn a_supplier_gets_a_logo_that_is_an_image_and_loses_it_again() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let supplier = supplier(&server, &admin).await;

    let payload = set_logo(&server, &admin.token, &supplier, "logo.pdf", PDF).await;
    assert_eq!(problems(&payload), [("file".to_owned(), "NOT_AN_OPTION".to_owned())]);
    assert!(payload["userErrors"][0]["message"].as_str().unwrap().contains("PNG, JPEG, GIF or WebP"));
    let payload = set_logo(&server, &admin.token, &supplier, "logo.png", b"<svg onload=alert(1)/>").await;
    assert_eq!(problems(&payload), [("file".to_owned(), "NOT_AN_OPTION".to_owned())]);

    let payload = set_logo(&server, &admin.token, &supplier, "logo.png", PNG).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    let logo = &payload["supplier"]["logo"];
    assert_eq!((logo["kind"].as_str(), logo["contentType"].as_str()), (Some("LOGO"), Some("image/png")));
    assert_eq!(logo["sha256"], sha256(PNG));
    let response = download(&server, logo["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/png");
    assert_eq!(response.bytes().await.unwrap(), PNG);

    // The suppliers list shows it.
    let list = server.gql_ok(Some(&admin.token), "{ suppliers { nodes { logo { sha256 } } } }", json!({})).await;
    assert_eq!(list["suppliers"]["nodes"][0]["logo"]["sha256"], sha256(PNG));

    // Replacing it lets go of the old file; removing it of the new one.
    let mut other_png = PNG.to_vec();
    other_png.extend_from_slice(b"trailing bytes");
    set_logo(&server, &admin.token, &supplier, "nieuw.png", &other_png).await;
    assert_eq!(stored_objects(&server), [sha256(&other_png)]);
    let cleared =
        server.gql_ok(Some(&admin.token), SET_LOGO, json!({"input": {"supplierId": supplier, "file": null}})).await;
    assert!(cleared["setSupplierLogo"]["supplier"]["logo"].is_null(), "{cleared:#}");
    assert!(stored_objects(&server).is_empty());
    assert!(file_rows(&server).await.is_empty());

    // Agents cannot set logos.
    let agent_token = {
        server
            .gql_ok(
                Some(&admin.token),
                "mutation { createUser(input: {username: \"agent\", role: AGENT, password: \"agent-password-1\"}) { user { id } } }",
                json!({}),
            )
            .await;
        server.login("acme", "agent", "agent-password-1").await
    };
    let file = FilePart { variable: "variables.input.file", name: "logo.png", content_type: "image/png", bytes: PNG };
    let (_, body) = server
        .upload(Some(&agent_token), SET_LOGO, json!({"input": {"supplierId": supplier, "file": null}}), &[file])
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{body:#}");
}
