//! The tests' SnelStart fake (`tests/it/fakes/snelstart.rs`, pinned to REMOTES.md by its own test),
//! compiled into the benchmarks as it is, beside the little server it runs on.

use axum::Router;
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// A fake remote serving on a free port of 127.0.0.1 until it is dropped (as in `tests/it/fakes`).
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

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeRemote {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[path = "../../../tests/it/fakes/snelstart.rs"]
pub mod snelstart;
