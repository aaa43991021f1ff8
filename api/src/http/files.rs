//! `GET /files/{id}?account=…&expires=…&signature=…`: downloads through the signed links that
//! `url` fields hand out ([`koppel_daemon::files::links`]).
//!
//! - A link that is expired, tampered with or signed for another file is 403 `FORBIDDEN`.
//! - A file that is not the link's account's is 404 `NOT_FOUND`, also when the signature is valid for
//!   that other account: links of one tenant never reach another's files.
//! - The answer can never run as a page in Koppel's origin, whatever the file is: `Content-Disposition:
//!   attachment` (saved, not shown), `X-Content-Type-Options: nosniff` (the sniffed type stands), and
//!   `Content-Security-Policy: default-src 'none'; sandbox; frame-ancestors 'none'` (no script, no
//!   plugin, no framing if a browser shows it anyway). `Cache-Control: no-store`: links are short-lived,
//!   and a shared cache must not keep a tenant's file.

use super::Shared;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use koppel_daemon::files::links::LinkError;
use koppel_entity::{Scoped, file};
use serde::Deserialize;
use std::net::SocketAddr;
use uuid::Uuid;

#[derive(Deserialize)]
pub struct LinkParameters {
    account: Option<String>,
    expires: Option<i64>,
    signature: Option<String>,
}

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

pub async fn download(
    State((state, _)): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    Query(link): Query<LinkParameters>,
) -> Response {
    if let Err(refused) = state.limits.check_address(peer.ip()) {
        let mut response = refusal(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "too many requests");
        response.headers_mut().insert(header::RETRY_AFTER, refused.retry_after_seconds().into());
        return response;
    }
    let (Some(account), Some(expires), Some(signature)) = (link.account, link.expires, link.signature) else {
        return refusal(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            "a download needs a signed link (account, expires, signature)",
        );
    };
    let (Ok(account_id), Ok(file_id)) = (Uuid::parse_str(&account), Uuid::parse_str(&id)) else {
        return refusal(StatusCode::FORBIDDEN, "FORBIDDEN", &LinkError::BadSignature.to_string());
    };
    if let Err(error) = state.file_links.verify(account_id, file_id, expires, &signature, Utc::now()) {
        return refusal(StatusCode::FORBIDDEN, "FORBIDDEN", &error.to_string());
    }
    let row = match file::Entity::find_by_id_in(account_id, file_id).one(&state.db).await {
        Ok(Some(row)) => row,
        Ok(None) => return refusal(StatusCode::NOT_FOUND, "NOT_FOUND", "file not found"),
        Err(error) => {
            tracing::error!(%error, file = %file_id, "cannot read a file row");
            return refusal(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "try again shortly");
        }
    };
    let bytes = match state.engine.files.read(&row.sha256).await {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            tracing::error!(file = %row.id, sha256 = %row.sha256, "a file's object is missing from the store");
            return refusal(StatusCode::NOT_FOUND, "NOT_FOUND", "file not found");
        }
        Err(error) => {
            tracing::error!(%error, file = %row.id, "cannot read a file's object");
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", "internal error");
        }
    };
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&row.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_DISPOSITION, content_disposition(&row.name));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("same-origin"));
    response
}

/// `attachment; filename="…"; filename*=UTF-8''…`: an ASCII fallback without quotes or control
/// characters, and the exact name percent-encoded (RFC 6266).
fn content_disposition(name: &str) -> HeaderValue {
    let fallback: String = name
        .chars()
        .map(|c| if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | ';') || c == ' ' { c } else { '_' })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or(HeaderValue::from_static("attachment"))
}

/// A refusal in the GraphQL error shape, with its status code.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_offered_safely() {
        let header = content_disposition("Voorwaarden \"2027\";\r\nx.pdf");
        let header = header.to_str().unwrap();
        assert!(
            header.starts_with("attachment; filename=\"Voorwaarden _2027____x.pdf\"; filename*=UTF-8''"),
            "{header}"
        );
        assert!(header.ends_with("Voorwaarden%20%222027%22%3B%0D%0Ax.pdf"), "{header}");
        let header = content_disposition("tarieven-€.pdf");
        assert!(header.to_str().unwrap().contains("tarieven-%E2%82%AC.pdf"));
    }
}
