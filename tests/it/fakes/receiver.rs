//! A webhook receiver: records every request it gets (headers and raw body) and answers with the
//! responses it was given, in order, then 200 to everything after them.

use super::{FakeRemote, Headers};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Response, StatusCode};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("no {name} header"))
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

pub struct Receiver {
    remote: FakeRemote,
    received: Arc<Mutex<Vec<Received>>>,
}

/// A receiver that answers the first requests with `script`, then 200.
pub async fn receiver(script: Vec<(StatusCode, Headers)>) -> Receiver {
    let received = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(VecDeque::from(script)));
    let app = Router::new().fallback({
        let received = received.clone();
        move |headers: HeaderMap, body: Bytes| async move {
            received.lock().unwrap().push(Received { headers, body });
            let (status, headers) = script.lock().unwrap().pop_front().unwrap_or((StatusCode::OK, &[]));
            let mut response = Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(*name, *value);
            }
            response.body(Body::empty()).expect("a valid response")
        }
    });
    Receiver { remote: FakeRemote::serve(app).await, received }
}

impl Receiver {
    /// Where to point the webhook.
    pub fn url(&self) -> String {
        format!("{}/koppel/alerts", self.remote.base_url())
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived (panics after `timeout`), and returns them.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(Instant::now() < deadline, "{count} requests expected, {} arrived", received.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
