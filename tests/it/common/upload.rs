//! File uploads as Apollo's and urql's upload clients send them: a `multipart/form-data` request after
//! the GraphQL multipart request spec (`operations`, `map`, then the file).

use super::TestServer;
use reqwest::StatusCode;
use serde_json::{Value, json};

const BOUNDARY: &str = "koppel-test-boundary-7MA4YWxkTrZu0gW";

/// One file for one variable, e.g. `variables.input.file`.
pub struct FilePart<'a> {
    pub variable: &'a str,
    pub name: &'a str,
    /// What the client claims; Koppel does not believe it.
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

/// The multipart body of one operation with its files, and its `Content-Type`.
pub fn multipart_body(query: &str, variables: &Value, files: &[FilePart<'_>]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    let mut part = |headers: String, content: &[u8]| {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n{headers}\r\n\r\n").as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    };
    let operations = json!({ "query": query, "variables": variables }).to_string();
    part("Content-Disposition: form-data; name=\"operations\"".into(), operations.as_bytes());
    let map: serde_json::Map<String, Value> =
        files.iter().enumerate().map(|(n, f)| (n.to_string(), json!([f.variable]))).collect();
    part("Content-Disposition: form-data; name=\"map\"".into(), Value::Object(map).to_string().as_bytes());
    for (n, file) in files.iter().enumerate() {
        let headers = format!(
            "Content-Disposition: form-data; name=\"{n}\"; filename=\"{}\"\r\nContent-Type: {}",
            file.name, file.content_type
        );
        part(headers, file.bytes);
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

impl TestServer {
    /// Posts an operation with files as a multipart request; returns the status and the body (JSON when
    /// it is JSON, else the text as a JSON string).
    pub async fn upload(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        files: &[FilePart<'_>],
    ) -> (StatusCode, Value) {
        let (content_type, body) = multipart_body(query, &variables, files);
        let mut request = self.http.post(&self.url).header("content-type", content_type).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("POST /graphql (multipart)");
        let status = response.status();
        let text = response.text().await.expect("the response body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}
