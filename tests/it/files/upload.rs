//! Uploading attachments: what is stored, what is refused and why, and that the same file is stored once.

use super::*;
use crate::common::TestServer;
use crate::common::upload::FilePart;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_attachment_is_uploaded_listed_and_downloaded() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let product = product(&server, &admin, "VDB-GREEN").await;
    let conditions = pdf(1);
    let payload = attach(
        &server,
        &admin,
        &product,
        "voorwaarden-2027.pdf",
        &conditions,
        json!({"kind": "CONDITIONS", "title": "Voorwaarden 2027"}),
    )
    .await;
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    let attachment = &payload["attachment"];
    assert_eq!(attachment["title"], "Voorwaarden 2027");
    assert_eq!(attachment["kind"], "CONDITIONS");
    assert_eq!(attachment["position"], 0);
    assert_eq!(attachment["contentType"], "application/pdf");
    assert_eq!(attachment["size"], conditions.len());
    assert_eq!(attachment["sha256"], sha256(&conditions));
    assert_eq!(attachment["fileName"], "voorwaarden-2027.pdf");

    // A second one, titled by its name, comes after it.
    let brochure = attach(&server, &admin, &product, "brochure.pdf", &pdf(2), json!({})).await;
    assert_eq!(
        (brochure["attachment"]["title"].as_str(), brochure["attachment"]["kind"].as_str()),
        (Some("brochure.pdf"), Some("OTHER"))
    );
    let listed = attachments(&server, &admin, &product).await;
    let titles: Vec<_> =
        listed.iter().map(|a| (a["title"].as_str().unwrap(), a["position"].as_i64().unwrap())).collect();
    assert_eq!(titles, [("Voorwaarden 2027", 0), ("brochure.pdf", 1)]);

    // Downloaded through the link, byte for byte, as a download that cannot run as a page.
    let response = download(&server, listed[0]["url"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"voorwaarden-2027.pdf\"; filename*=UTF-8''voorwaarden-2027.pdf"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-security-policy"], "default-src 'none'; sandbox; frame-ancestors 'none'");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(response.bytes().await.unwrap(), conditions);

    // The list reads attachments of a whole page of products at once.
    let list = server
        .gql_ok(Some(&admin.token), "{ products { edges { node { sku attachments { title } } } } }", json!({}))
        .await;
    assert_eq!(list["products"]["edges"][0]["node"]["attachments"][1]["title"], "brochure.pdf");
}

#[tokio::test]
async fn the_same_file_is_stored_once_and_goes_with_its_last_reference() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let first = product(&server, &admin, "P1").await;
    let second = product(&server, &admin, "P2").await;
    let conditions = pdf(7);
    let a = attach(&server, &admin, &first, "voorwaarden.pdf", &conditions, json!({})).await;
    let b = attach(&server, &admin, &second, "kopie.pdf", &conditions, json!({"kind": "CONDITIONS"})).await;
    assert_eq!(a["attachment"]["sha256"], b["attachment"]["sha256"]);
    assert_eq!(file_rows(&server).await.len(), 1, "one row for the account's content");
    assert_eq!(stored_objects(&server), [sha256(&conditions)], "one object");

    // Another account uploading the same content has its own row; the object is shared.
    let other = server.admin("other").await;
    let theirs = product(&server, &other, "X1").await;
    let c = attach(&server, &other, &theirs, "x.pdf", &conditions, json!({})).await;
    assert_eq!(file_rows(&server).await.len(), 2);
    assert_eq!(stored_objects(&server).len(), 1);

    let remove = |session: &crate::common::Session, id: &Value| {
        let (token, id) = (session.token.clone(), id.as_str().unwrap().to_owned());
        let server = &server;
        async move { server.gql_ok(Some(&token), REMOVE, json!({"id": id})).await["removeProductAttachment"].clone() }
    };
    let removed = remove(&admin, &a["attachment"]["id"]).await;
    assert_eq!(removed["deletedId"], a["attachment"]["id"]);
    assert_eq!(attachments(&server, &admin, &first).await, Vec::<Value>::new());
    assert_eq!(file_rows(&server).await.len(), 2, "the second product still uses it");
    remove(&admin, &b["attachment"]["id"]).await;
    assert_eq!(file_rows(&server).await.len(), 1, "acme's row went with its last attachment");
    assert_eq!(stored_objects(&server).len(), 1, "the other account still has it");
    remove(&other, &c["attachment"]["id"]).await;
    assert!(file_rows(&server).await.is_empty());
    assert!(stored_objects(&server).is_empty(), "the object went with the last row");

    // Removing what is gone, or another account's attachment, is NOT_FOUND.
    let gone = server.gql(Some(&admin.token), REMOVE, json!({"id": c["attachment"]["id"]})).await;
    assert_eq!(TestServer::error_code(&gone).as_deref(), Some("NOT_FOUND"));
}

#[tokio::test]
async fn concurrent_uploads_of_one_file_share_one_row() {
    let server = TestServer::start().await;
    let admin = server.admin("acme").await;
    let mut products = Vec::new();
    for n in 0..6 {
        products.push(product(&server, &admin, &format!("P{n}")).await);
    }
    let conditions = pdf(42);
    let uploads = products.iter().map(|p| attach(&server, &admin, p, "voorwaarden.pdf", &conditions, json!({})));
    for payload in futures_util::future::join_all(uploads).await {
        assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    }
    assert_eq!(file_rows(&server).await.len(), 1);
    assert_eq!(stored_objects(&server), [sha256(&conditions)]);
}

#[tokio::test]
async fn oversized_disguised_and_markup_files_are_refused_and_nothing_is_stored() {
    let server = TestServer::start_with(|c| {
        c.max_file_bytes = 4096;
        c.max_account_file_bytes = 6000;
    })
    .await;
    let admin = server.admin("acme").await;
    let product = product(&server, &admin, "P1").await;

    let mut large = PDF.to_vec();
    large.resize(5000, b' ');
    let payload = attach(&server, &admin, &product, "groot.pdf", &large, json!({})).await;
    assert_eq!(problems(&payload), [("file".to_owned(), "TOO_LARGE".to_owned())]);
    let message = payload["userErrors"][0]["message"].as_str().unwrap();
    assert!(message.contains("KOPPEL_MAX_FILE_BYTES"), "{message}");
    assert!(payload["attachment"].is_null());

    let payload = attach(&server, &admin, &product, "voorwaarden.pdf", EXE, json!({})).await;
    assert_eq!(problems(&payload), [("file".to_owned(), "INVALID".to_owned())]);
    let message = payload["userErrors"][0]["message"].as_str().unwrap();
    assert!(message.contains("not what its name says"), "{message}");

    for (name, bytes) in [
        ("pagina.html", &b"<!doctype html><script>alert(document.cookie)</script>"[..]),
        ("logo.svg", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"),
        ("voorwaarden.pdf", b"\n  <html><body onload=alert(1)>"),
    ] {
        let payload = attach(&server, &admin, &product, name, bytes, json!({})).await;
        assert_eq!(problems(&payload), [("file".to_owned(), "NOT_AN_OPTION".to_owned())], "{name}");
    }
    assert!(file_rows(&server).await.is_empty(), "nothing recorded");
    assert!(stored_objects(&server).is_empty(), "nothing stored");

    // The account's total: 2 × 3,000 bytes fit in 6,000, a third distinct file does not; the same
    // content again costs nothing.
    for n in 0..2 {
        let mut file = pdf(n);
        file.resize(3000, b' ');
        let payload = attach(&server, &admin, &product, "deel.pdf", &file, json!({})).await;
        assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    }
    let mut third = pdf(9);
    third.resize(100, b' ');
    let payload = attach(&server, &admin, &product, "nog een.pdf", &third, json!({})).await;
    assert_eq!(problems(&payload), [("file".to_owned(), "TOO_LARGE".to_owned())]);
    assert!(payload["userErrors"][0]["message"].as_str().unwrap().contains("KOPPEL_MAX_ACCOUNT_FILE_BYTES"));
    let mut again = pdf(0);
    again.resize(3000, b' ');
    let payload = attach(&server, &admin, &product, "weer.pdf", &again, json!({})).await;
    assert_eq!(payload["userErrors"], json!([]), "the same content again: {payload:#}");
    assert_eq!(file_rows(&server).await.len(), 2);
}

#[tokio::test]
async fn uploads_have_their_own_body_limit_and_need_a_bearer_token() {
    let server = TestServer::start_with(|c| {
        c.max_body_bytes = 4096;
        c.max_file_bytes = 64 * 1024;
    })
    .await;
    let admin = server.admin("acme").await;
    let product = product(&server, &admin, "P1").await;
    // A file far larger than a JSON body may be is accepted as an upload.
    let mut file = PDF.to_vec();
    file.resize(60 * 1024, b' ');
    let payload = attach(&server, &admin, &product, "groot.pdf", &file, json!({})).await;
    assert_eq!(payload["userErrors"], json!([]), "{payload:#}");
    // JSON stays held to KOPPEL_MAX_BODY_BYTES.
    let padded = json!({"query": format!("{{ __typename }} #{}", "x".repeat(5000))}).to_string();
    let response =
        server.http.post(&server.url).header("content-type", "application/json").body(padded).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Far over the file limit: refused before it is read.
    let huge = vec![b'x'; 1024 * 1024];
    let file =
        FilePart { variable: "variables.input.file", name: "huge.pdf", content_type: "application/pdf", bytes: &huge };
    let input = json!({"input": {"productId": product, "file": null}});
    let (status, _) = server.upload(Some(&admin.token), ADD, input.clone(), &[file]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // No bearer token, no upload (an HTML form on another site could post multipart with cookies).
    let file =
        FilePart { variable: "variables.input.file", name: "a.pdf", content_type: "application/pdf", bytes: PDF };
    let (status, body) = server.upload(None, ADD, input.clone(), &[file]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body:#}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    // Only the first upload was stored.
    assert_eq!(file_rows(&server).await.len(), 1);
}
