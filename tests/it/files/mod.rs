//! Files end to end (issue 11): uploads over real multipart HTTP, downloads through the signed links,
//! what is refused and why, storage (the same file once, removal with the last reference) and the
//! nightly sweep of orphans run as a daemon job.

mod download;
mod logos;
mod sweep;
mod upload;

use crate::common::upload::FilePart;
use crate::common::{Session, TestServer};
use serde_json::{Value, json};

/// The smallest files of each type the tests need.
pub(super) const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
pub(super) const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1, 8,
    6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89,
];
/// The start of a Windows program.
pub(super) const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";

pub(super) const ATTACHMENT: &str = "id title kind position contentType size sha256 fileName url";

pub(super) const ADD: &str = "mutation($input: AddProductAttachmentInput!) {
  addProductAttachment(input: $input) { attachment { id title kind position contentType size sha256 fileName url }
                                        userErrors { field message code } } }";

pub(super) const REMOVE: &str = "mutation($id: ID!) {
  removeProductAttachment(input: {id: $id}) { deletedId userErrors { field message code } } }";

/// A PDF of its own content (a different SHA-256 per `n`).
pub(super) fn pdf(n: usize) -> Vec<u8> {
    let mut bytes = PDF.to_vec();
    bytes.extend_from_slice(format!("% copy {n}\n").as_bytes());
    bytes
}

pub(super) fn sha256(bytes: &[u8]) -> String {
    koppel_daemon::files::sha256_hex(bytes)
}

pub(super) async fn product(server: &TestServer, admin: &Session, sku: &str) -> String {
    let data = server
        .gql_ok(
            Some(&admin.token),
            "mutation($p: ProductFields!) { createProduct(input: {product: $p}) { product { id } userErrors { field message code } } }",
            json!({"p": {"sku": sku, "name": format!("Product {sku}")}}),
        )
        .await;
    data["createProduct"]["product"]["id"].as_str().expect("a product").to_owned()
}

/// Uploads `bytes` as `name` to the product; returns the whole payload (`attachment`, `userErrors`).
pub(super) async fn attach(
    server: &TestServer,
    admin: &Session,
    product: &str,
    name: &str,
    bytes: &[u8],
    extra: Value,
) -> Value {
    let mut input = json!({"productId": product, "file": null});
    if let (Some(input), Some(extra)) = (input.as_object_mut(), extra.as_object()) {
        input.extend(extra.clone());
    }
    let file = FilePart { variable: "variables.input.file", name, content_type: "application/pdf", bytes };
    let (status, body) = server.upload(Some(&admin.token), ADD, json!({"input": input}), &[file]).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["errors"].is_null(), "{body:#}");
    body["data"]["addProductAttachment"].clone()
}

/// `(field, code)` of each user error.
pub(super) fn problems(payload: &Value) -> Vec<(String, String)> {
    payload["userErrors"]
        .as_array()
        .unwrap_or_else(|| panic!("no userErrors: {payload:#}"))
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_owned(), e["code"].as_str().unwrap().to_owned()))
        .collect()
}

/// The objects in the server's file store (the directory backend), by SHA-256.
pub(super) fn stored_objects(server: &TestServer) -> Vec<String> {
    let mut found = Vec::new();
    let root = server.data_dir().join("files");
    let Ok(first) = std::fs::read_dir(&root) else { return found };
    for first in first.flatten() {
        for second in std::fs::read_dir(first.path()).into_iter().flatten().flatten() {
            for file in std::fs::read_dir(second.path()).into_iter().flatten().flatten() {
                let name = file.file_name().to_string_lossy().into_owned();
                if koppel_daemon::files::is_key(&name) {
                    found.push(name);
                }
            }
        }
    }
    found.sort();
    found
}

/// The `files` rows of every account.
pub(super) async fn file_rows(server: &TestServer) -> Vec<koppel_entity::file::Model> {
    use sea_orm::EntityTrait;
    koppel_entity::file::Entity::find().all(&server.server.state.db).await.expect("the files table")
}

/// `GET` a relative download link; returns the response.
pub(super) async fn download(server: &TestServer, url: &str) -> reqwest::Response {
    assert!(url.starts_with("/files/"), "a relative link: {url}");
    server.http.get(format!("http://{}{url}", server.addr)).send().await.expect("GET /files/…")
}

/// The attachments of a product as an admin reads them.
pub(super) async fn attachments(server: &TestServer, admin: &Session, product: &str) -> Vec<Value> {
    let query = format!("query($id: ID!) {{ product(id: $id) {{ attachments {{ {ATTACHMENT} }} }} }}");
    let data = server.gql_ok(Some(&admin.token), &query, json!({"id": product})).await;
    data["product"]["attachments"].as_array().cloned().expect("attachments")
}
