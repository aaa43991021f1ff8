//! GraphQL results and refusals as HTTP responses: status code, `Content-Type`, `Retry-After`.
//!
//! - A request that was not executed (it did not parse, failed validation or a limit, or its variables
//!   did not fit) has no `data` entry; under `application/graphql-response+json` it is a 400, under
//!   `application/json` a 200, as the GraphQL-over-HTTP spec asks.
//! - `UNAVAILABLE` (the database is unreachable) is a 503 and `RATE_LIMITED` a 429 under either type,
//!   both with `Retry-After`: they are about the server, not the document, and proxies and client
//!   libraries act on those status codes.

use super::media::ResponseMedia;
use crate::error::{ApiError, ErrorCode};
use async_graphql::{BatchResponse, ServerError};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Renders what the schema answered.
pub fn render(batch: BatchResponse, media: ResponseMedia) -> Response {
    let (single, responses) = match batch {
        BatchResponse::Single(response) => (true, vec![response]),
        BatchResponse::Batch(responses) => (false, responses),
    };
    let mut status = StatusCode::OK;
    let mut retry_after = None;
    let mut headers = HeaderMap::new();
    let mut bodies = Vec::with_capacity(responses.len());
    for mut response in responses {
        add_missing_codes(&mut response);
        for error in &response.errors {
            status = worst(status, status_of_code(error_code(error)));
            retry_after = retry_after.max(error_retry_after(error));
        }
        let executed = !(response.data == async_graphql::Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty()));
        if !executed && single && media == ResponseMedia::GraphqlResponseJson {
            status = worst(status, StatusCode::BAD_REQUEST);
        }
        headers.extend(std::mem::take(&mut response.http_headers));
        let mut body = serde_json::to_value(&response).unwrap_or_else(|error| {
            tracing::error!(%error, "a GraphQL response could not be serialised");
            json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] })
        });
        if !executed && let Some(fields) = body.as_object_mut() {
            fields.remove("data");
        }
        bodies.push(body);
    }
    let body = if single { bodies.pop().unwrap_or(Value::Null) } else { Value::Array(bodies) };
    finish(status, media, retry_after, headers, &body)
}

/// A refusal before execution (authentication, rate limits, an unreadable request, the batch size).
pub fn error_response(error: ApiError, media: ResponseMedia) -> Response {
    let status = match error.code() {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let retry_after = error.retry_after_seconds();
    let error: async_graphql::Error = error.into();
    let mut server_error = ServerError::new(error.message, None);
    server_error.extensions = error.extensions;
    finish(status, media, retry_after, HeaderMap::new(), &json!({ "errors": [server_error] }))
}

/// Resolver errors always carry a code; the others are problems with the request itself (syntax,
/// unknown fields, wrong variable types, depth and complexity limits), so they are `BAD_USER_INPUT`.
fn add_missing_codes(response: &mut async_graphql::Response) {
    for error in &mut response.errors {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", ErrorCode::BadUserInput.as_str());
        }
    }
}

fn error_code(error: &ServerError) -> Option<&str> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.as_str()),
        _ => None,
    }
}

fn error_retry_after(error: &ServerError) -> Option<u64> {
    match error.extensions.as_ref()?.get("retryAfter")? {
        async_graphql::Value::Number(seconds) => seconds.as_u64(),
        _ => None,
    }
}

/// The status a top-level error imposes on the whole response; other codes leave the 200 alone.
fn status_of_code(code: Option<&str>) -> StatusCode {
    match code {
        Some(code) if code == ErrorCode::Unavailable.as_str() => StatusCode::SERVICE_UNAVAILABLE,
        Some(code) if code == ErrorCode::RateLimited.as_str() => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::OK,
    }
}

/// Of two statuses, the one the client must act on first: 503, then 429, then 400, then 200.
fn worst(a: StatusCode, b: StatusCode) -> StatusCode {
    let rank = |status: StatusCode| match status {
        StatusCode::SERVICE_UNAVAILABLE => 3,
        StatusCode::TOO_MANY_REQUESTS => 2,
        StatusCode::OK => 0,
        _ => 1,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn finish(
    status: StatusCode,
    media: ResponseMedia,
    retry_after: Option<u64>,
    mut headers: HeaderMap,
    body: &Value,
) -> Response {
    headers.insert(header::CONTENT_TYPE, media.content_type());
    if let Some(seconds) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    let body = serde_json::to_vec(body).unwrap_or_default();
    (status, headers, body).into_response()
}
