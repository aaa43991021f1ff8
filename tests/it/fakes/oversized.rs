//! A remote whose answer is larger than Koppel accepts: 20 MB of JSON that never closes, with its
//! `Content-Length`, streamed so that the fake does not hold it in memory either.

use super::FakeRemote;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Response, header};
use std::convert::Infallible;

const SIZE: usize = 20_000_000;
const START: &[u8] = b"{\"data\":";

pub async fn oversized() -> FakeRemote {
    let app = Router::new().fallback(|| async {
        let padding = Bytes::from(vec![b' '; 64 * 1024]);
        let mut left = SIZE - START.len();
        let rest = std::iter::from_fn(move || {
            let next = left.min(padding.len());
            left -= next;
            (next > 0).then(|| padding.slice(..next))
        });
        let chunks = std::iter::once(Bytes::from_static(START)).chain(rest).map(Ok::<_, Infallible>);
        Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CONTENT_LENGTH, SIZE)
            .body(Body::from_stream(futures_util::stream::iter(chunks)))
            .expect("a valid response")
    });
    FakeRemote::serve(app).await
}
