//! Fake remotes: small axum servers on `127.0.0.1:0` that stand in for another system and answer the
//! way a test needs (never, wrongly, too much). One file per fake; each gives a [`FakeRemote`], which
//! stops serving when dropped.

mod canned;
pub mod exact_online;
mod held;
mod oversized;
mod receiver;
mod silent;
pub mod snelstart;

pub use canned::{Headers, canned};
pub use held::held_proxy;
pub use oversized::oversized;
pub use receiver::{Received, receiver};
pub use silent::silent;

use axum::Router;
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// A fake remote serving on a free port of 127.0.0.1 until it is dropped.
pub struct FakeRemote {
    addr: SocketAddr,
    server: JoinHandle<()>,
}

impl FakeRemote {
    pub async fn serve(app: Router) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port for the fake remote");
        let addr = listener.local_addr().expect("the fake remote's address");
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, server }
    }

    /// `http://127.0.0.1:<port>`: what an integration's base URL points at.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeRemote {
    /// Stops accepting at once; a request still in flight (see [`silent`]) ends with the test's runtime.
    fn drop(&mut self) {
        self.server.abort();
    }
}
