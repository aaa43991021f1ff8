//! A small GraphQL-over-HTTP client for the other Koppel, translating its errors into [`ConnectorError`]s.

use super::super::ConnectorError;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub struct GraphqlClient {
    http: reqwest::Client,
    endpoint: url::Url,
    token: String,
}

impl GraphqlClient {
    pub fn new(http: reqwest::Client, endpoint: url::Url, token: String) -> Self {
        Self { http, endpoint, token }
    }

    /// Runs one operation and decodes its `data`.
    pub async fn query<T: DeserializeOwned>(&self, query: &str, variables: Value) -> Result<T, ConnectorError> {
        let mut response = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(&self.token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let asked: Option<u64> = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let retry_after = asked.unwrap_or(60);
        let body: Value = match read_limited(&mut response)
            .await
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| ConnectorError::Protocol(e.to_string())))
        {
            Ok(body) => body,
            Err(error @ (ConnectorError::Timeout | ConnectorError::Unreachable(_) | ConnectorError::Remote(_))) => {
                return Err(error);
            }
            Err(_) if status.as_u16() == 429 => {
                return Err(ConnectorError::RateLimited { retry_after_seconds: retry_after });
            }
            // Unavailable for a while (maintenance, a restart), and it says how long: wait that long.
            Err(_) if status.as_u16() == 503 && asked.is_some() => {
                return Err(ConnectorError::RateLimited { retry_after_seconds: retry_after });
            }
            Err(_) if status.is_server_error() => return Err(ConnectorError::Remote(format!("HTTP {status}"))),
            Err(error) => return Err(ConnectorError::Protocol(format!("HTTP {status}: {error}"))),
        };
        if let Some(error) = body["errors"].as_array().and_then(|errors| errors.first()) {
            let message = error["message"].as_str().unwrap_or("no message").to_owned();
            return Err(match error["extensions"]["code"].as_str() {
                // The provider says why in `extensions.reason` (Koppel's `REASON_TOKEN_REVOKED`).
                Some("UNAUTHENTICATED") if error["extensions"]["reason"] == "TOKEN_REVOKED" => ConnectorError::Revoked,
                Some("UNAUTHENTICATED") => ConnectorError::WrongCredentials(message),
                Some("FORBIDDEN") => ConnectorError::Forbidden(message),
                Some("RATE_LIMITED") => ConnectorError::RateLimited { retry_after_seconds: retry_after },
                _ if status.is_server_error() => ConnectorError::Remote(message),
                _ => ConnectorError::Protocol(message),
            });
        }
        if status.as_u16() == 429 {
            return Err(ConnectorError::RateLimited { retry_after_seconds: retry_after });
        }
        if !status.is_success() {
            return Err(ConnectorError::Remote(format!("HTTP {status}")));
        }
        serde_json::from_value(body["data"].clone()).map_err(|e| ConnectorError::Protocol(e.to_string()))
    }

    /// Downloads a file from a link the other Koppel handed out (`/files/{id}?…`, relative to its
    /// origin), through the same guarded client, refusing more than `max_bytes`. A link to another origin
    /// is refused: the other Koppel only ever links to itself, and the integration's base URL is the one
    /// address it was given for. The link carries its own signature; the token is not sent.
    pub async fn download(&self, link: &str, max_bytes: u64) -> Result<bytes::Bytes, ConnectorError> {
        let url = self.endpoint.join(link).map_err(|_| ConnectorError::Protocol(format!("{link:?} is not a link")))?;
        if url.origin() != self.endpoint.origin() {
            return Err(ConnectorError::Protocol(format!("the attachment link {link:?} leads away from the remote")));
        }
        let mut response = self.http.get(url).send().await.map_err(transport_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(match status.as_u16() {
                429 => ConnectorError::RateLimited { retry_after_seconds: 60 },
                code if status.is_server_error() => ConnectorError::Remote(format!("HTTP {code}")),
                code => ConnectorError::Protocol(format!("the attachment download answered HTTP {code}")),
            });
        }
        let too_large = || ConnectorError::Protocol(format!("the attachment is larger than {max_bytes} bytes"));
        if response.content_length().is_some_and(|length| length > max_bytes) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.into())
    }

    /// Follows a connection field through all its pages and returns every node.
    pub async fn all_pages<T: DeserializeOwned>(&self, query: &str, field: &str) -> Result<Vec<T>, ConnectorError> {
        let mut nodes = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..1000 {
            let data: Value = self.query(query, json!({ "first": 100, "after": after })).await?;
            let connection = &data[field];
            let edges = connection["edges"]
                .as_array()
                .ok_or_else(|| ConnectorError::Protocol(format!("{field} has no edges")))?;
            for edge in edges {
                nodes.push(
                    serde_json::from_value(edge["node"].clone())
                        .map_err(|e| ConnectorError::Protocol(e.to_string()))?,
                );
            }
            match (connection["pageInfo"]["hasNextPage"].as_bool(), connection["pageInfo"]["endCursor"].as_str()) {
                (Some(true), Some(cursor)) => after = Some(cursor.to_owned()),
                _ => return Ok(nodes),
            }
        }
        Err(ConnectorError::Protocol(format!("{field} did not end after 1000 pages")))
    }
}

/// The most a remote may answer with; more is refused rather than held in memory.
const MAX_BODY: usize = 10 * 1024 * 1024;

async fn read_limited(response: &mut reqwest::Response) -> Result<Vec<u8>, ConnectorError> {
    let too_large = || ConnectorError::Protocol(format!("the answer is larger than {} MiB", MAX_BODY >> 20));
    if response.content_length().is_some_and(|length| length > MAX_BODY as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn transport_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::Timeout
    } else if error.is_connect() || error.is_request() || error.is_redirect() {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        ConnectorError::Unreachable(message)
    } else {
        ConnectorError::Remote(error.to_string())
    }
}
