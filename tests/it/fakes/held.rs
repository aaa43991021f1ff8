//! A forwarding proxy in front of a real remote that can hold one request: armed with a pattern, the
//! next request whose body contains it is never answered (the caller waits until it gives up or dies)
//! and the test is told it arrived. Everything else is passed through unchanged. For crash tests: a
//! process is killed while it is certainly in the middle of a pass. It can also play a remote that is
//! down for a while: the next requests that match answer `503 Service Unavailable` with `Retry-After`,
//! as a real gateway in front of a restarting service does.

use super::FakeRemote;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

#[derive(Clone)]
struct Shared {
    target: String,
    client: reqwest::Client,
    armed: Arc<Mutex<Option<String>>>,
    held: Arc<Notify>,
    down: Arc<Mutex<Down>>,
}

/// How many more matching requests get a 503, and what they match.
#[derive(Default)]
struct Down {
    pattern: String,
    left: usize,
    refused: usize,
}

/// The proxy and its controls.
pub struct HeldProxy {
    pub remote: FakeRemote,
    armed: Arc<Mutex<Option<String>>>,
    held: Arc<Notify>,
    down: Arc<Mutex<Down>>,
}

impl HeldProxy {
    /// Holds the next request whose body contains `pattern`.
    pub fn hold_next(&self, pattern: &str) {
        *self.armed.lock().unwrap() = Some(pattern.to_owned());
    }

    /// Answers the next `count` requests whose body contains `pattern` with 503 and `Retry-After: 1`.
    pub fn down_for(&self, pattern: &str, count: usize) {
        *self.down.lock().unwrap() = Down { pattern: pattern.to_owned(), left: count, refused: 0 };
    }

    /// How many requests were answered 503 since [`HeldProxy::down_for`].
    pub fn refused(&self) -> usize {
        self.down.lock().unwrap().refused
    }

    /// Waits until a request is being held.
    pub async fn held(&self) {
        self.held.notified().await;
    }
}

/// A proxy to `target` (e.g. `http://127.0.0.1:1234`).
pub async fn held_proxy(target: &str) -> HeldProxy {
    let armed = Arc::new(Mutex::new(None));
    let held = Arc::new(Notify::new());
    let down = Arc::new(Mutex::new(Down::default()));
    let shared = Shared {
        target: target.trim_end_matches('/').to_owned(),
        client: reqwest::Client::new(),
        armed: armed.clone(),
        held: held.clone(),
        down: down.clone(),
    };
    let remote = FakeRemote::serve(Router::new().fallback(forward).with_state(shared)).await;
    HeldProxy { remote, armed, held, down }
}

async fn forward(State(shared): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let hold = {
        let mut armed = shared.armed.lock().unwrap();
        let matches = armed.as_deref().is_some_and(|p| String::from_utf8_lossy(&body).contains(p));
        if matches {
            *armed = None;
        }
        matches
    };
    if hold {
        shared.held.notify_one();
        std::future::pending::<()>().await;
    }
    {
        let mut down = shared.down.lock().unwrap();
        if down.left > 0 && String::from_utf8_lossy(&body).contains(&down.pattern) {
            down.left -= 1;
            down.refused += 1;
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], "down for maintenance")
                .into_response();
        }
    }
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = shared.client.request(method, format!("{}{path}", shared.target)).body(body);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(response) => {
            let status = StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
            let body = response.bytes().await.unwrap_or_default();
            let mut answer = (status, body).into_response();
            if let Some(content_type) = content_type {
                answer.headers_mut().insert(header::CONTENT_TYPE, content_type);
            }
            answer
        }
        Err(_) => StatusCode::BAD_GATEWAY.into_response(),
    }
}
