//! The HTTP edge: `/graphql` (POST, and GET for queries and GraphiQL), `/files/{id}` (downloads through
//! signed links), `/oauth/callback` (OAuth2 remotes send the browser back there), `/healthz`, `/readyz`, `/metrics`.
//!
//! Serve [`router`] with `into_make_service_with_connect_info::<SocketAddr>()`: the rate limits key on
//! the client's address.

mod documents;
mod files;
mod graphql;
pub mod media;
mod oauth;
mod request;
mod response;

use crate::schema::KoppelSchema;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::atomic::Ordering;
use tower_http::limit::RequestBodyLimitLayer;

type Shared = (AppState, KoppelSchema);

pub fn router(state: AppState) -> Router {
    let schema = crate::schema::build_schema(&state.config);
    let body_limit = state.config.max_body_bytes as usize;
    Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        // JSON bodies: the configured limit; multipart uploads: room for one file at its limit and more
        // (a file over it gets its `TOO_LARGE` user error, far over it a 413). axum's own default of
        // 2 MiB would cap a larger setting, so it is off.
        .layer(axum::middleware::from_fn_with_state(body_limit, limit_json_bodies))
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(state.config.upload_body_limit()))
        .route("/files/{id}", get(files::download))
        .route(crate::config::OAUTH_CALLBACK_PATH, get(oauth::callback))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state((state, schema))
}

/// Holds every request body but a multipart upload's to `limit` bytes (`KOPPEL_MAX_BODY_BYTES`): a
/// declared length over it is refused at once, a streamed body when it passes the limit (the reader
/// sees `http_body_util::LengthLimitError`, which axum answers with 413).
async fn limit_json_bodies(State(limit): State<usize>, request: Request, next: Next) -> Response {
    if media::is_multipart(request.headers()) {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than KOPPEL_MAX_BODY_BYTES")
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let limited = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, limited)).await
}

async fn readyz(State((state, _)): State<Shared>) -> Response {
    match state.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(error) => {
            tracing::warn!(%error, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn metrics(State((state, _)): State<Shared>) -> Response {
    let statements = state.statements.load(Ordering::Relaxed);
    let mut body = format!(
        "# HELP koppel_db_statements_total SQL statements run by this process for requests and jobs.\n\
         # TYPE koppel_db_statements_total counter\n\
         koppel_db_statements_total {statements}\n"
    );
    // The queue and the engine, read from the database: the same figures from every replica.
    let engine = async {
        let jobs = koppel_daemon::jobs::counts(&state.db).await?;
        let (runs, alerts) = koppel_daemon::reconcile::runs::counts(&state.db).await?;
        Ok::<_, sea_orm::DbErr>((jobs, runs, alerts))
    };
    match engine.await {
        Ok((jobs, runs, alerts)) => {
            // The counter measures the work of requests and jobs: the three reads above are the
            // scrape's own, so they are taken back out (the next scrape would otherwise count them).
            state.statements.fetch_sub(3, Ordering::Relaxed);
            use std::fmt::Write;
            body.push_str("# HELP koppel_jobs Jobs in the queue by kind and state.\n# TYPE koppel_jobs gauge\n");
            for (kind, job_state, count) in jobs {
                let _ = writeln!(body, "koppel_jobs{{kind=\"{kind}\",state=\"{}\"}} {count}", job_state.as_str());
            }
            body.push_str("# HELP koppel_sync_runs Sync runs kept, by state.\n# TYPE koppel_sync_runs gauge\n");
            for (run_state, count) in runs {
                let _ = writeln!(body, "koppel_sync_runs{{state=\"{}\"}} {count}", run_state.as_str());
            }
            body.push_str(
                "# HELP koppel_alerts Alert events kept (dead jobs, held-back passes, failed runs).\n# TYPE koppel_alerts gauge\n",
            );
            let _ = writeln!(body, "koppel_alerts {alerts}");
        }
        Err(error) => tracing::warn!(%error, "cannot read the queue for /metrics"),
    }
    // What the engine in this process recorded: claim latency, pass durations, records by action,
    // alerts raised, webhook deliveries.
    body.push_str(&koppel_daemon::telemetry::render());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
