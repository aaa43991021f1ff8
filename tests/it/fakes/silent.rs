//! A remote that accepts connections and requests and never answers: for timeouts.

use super::FakeRemote;
use axum::Router;

pub async fn silent() -> FakeRemote {
    FakeRemote::serve(Router::new().fallback(std::future::pending::<()>)).await
}
