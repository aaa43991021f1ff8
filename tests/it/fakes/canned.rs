//! A remote that answers every request, whatever its method or path, with one fixed response: for
//! remotes that are not Koppel, or not well (5xx, 429 with `Retry-After`, HTML, JSON of another shape).

use super::FakeRemote;
use axum::Router;
use axum::body::Body;
use axum::http::{Response, StatusCode};

/// Response headers as `(name, value)` pairs.
pub type Headers = &'static [(&'static str, &'static str)];

/// Answers `status` with exactly `headers` and `body`.
pub async fn canned(status: StatusCode, headers: Headers, body: &'static str) -> FakeRemote {
    let app = Router::new().fallback(move || async move {
        let mut response = Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(*name, *value);
        }
        response.body(Body::from(body)).expect("a valid canned response")
    });
    FakeRemote::serve(app).await
}
