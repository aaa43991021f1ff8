//! The HTTP server: GraphQL at `/graphql` (POST; GET serves GraphiQL), `/healthz`, `/readyz`, `/metrics`.

use crate::auth::{self, jwt::JwtKeys};
use crate::config::Config;
use crate::error::{ApiError, ErrorCode};
use crate::schema::{self, KoppelSchema};
use crate::state::AppState;
use anyhow::Context;
use async_graphql::BatchRequest;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLBatchRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::limit::RequestBodyLimitLayer;

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Stops accepting requests and waits for the ones in flight.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        (&mut self.task).await??;
        Ok(())
    }
}

/// Everything `serve` does before accepting requests: keys, database, migrations.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let jwt_secret = match &config.jwt_secret {
        Some(secret) => secret.clone(),
        None => crate::secrets::development_key(&config.data_dir, "jwt-secret")?,
    };
    let master_key = match &config.master_key {
        Some(key) => key.clone(),
        None => crate::secrets::development_value(
            &config.data_dir,
            "master-key",
            koppel_daemon::crypto::MasterKey::generate,
        )?,
    };
    let master_key = koppel_daemon::crypto::MasterKey::from_base64(&master_key)
        .map_err(|_| anyhow::anyhow!("the master key in the data directory is not 32 base64-encoded bytes"))?;
    let remotes = koppel_daemon::net::client(
        config.allow_private_remotes,
        std::time::Duration::from_secs(config.remote_timeout_seconds.into()),
    );
    let statements = Arc::new(AtomicU64::new(0));
    let db = crate::db::connect(&config.database_url(), statements.clone()).await?;
    crate::db::migrate(&db).await?;
    let engine = koppel_daemon::Context {
        db: db.clone(),
        master_key: Arc::new(master_key),
        http: remotes,
        limits: koppel_daemon::Limits { allow_private_remotes: config.allow_private_remotes },
    };
    Ok(AppState {
        db,
        jwt: Arc::new(JwtKeys::new(jwt_secret.as_bytes(), config.jwt_ttl_minutes)),
        config: Arc::new(config),
        engine,
        statements,
    })
}

/// Prepares and starts serving on the configured address (port 0 picks a free one).
pub async fn start(config: Config) -> anyhow::Result<Server> {
    let bind = config.bind;
    let state = prepare(config).await?;
    let listener =
        tokio::net::TcpListener::bind(bind).await.with_context(|| format!("cannot listen on KOPPEL_BIND={bind}"))?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "Koppel is listening; GraphQL at /graphql");
    Ok(Server { addr, state, shutdown: Some(shutdown), task })
}

pub fn router(state: AppState) -> Router {
    let schema = schema::build_schema(&state.config);
    let body_limit = state.config.max_body_bytes as usize;
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_post))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state((state, schema))
}

type Shared = (AppState, KoppelSchema);

async fn graphiql(State((state, _)): State<Shared>) -> Response {
    if !state.config.graphiql {
        return (StatusCode::NOT_FOUND, "GraphiQL is switched off (KOPPEL_GRAPHIQL=false)").into_response();
    }
    Html(GraphiQLSource::build().endpoint("/graphql").title("Koppel GraphiQL").finish()).into_response()
}

async fn graphql_post(
    State((state, schema)): State<Shared>,
    headers: HeaderMap,
    batch: GraphQLBatchRequest,
) -> Response {
    let principal = match bearer(&headers) {
        None => None,
        Some(Err(error)) => return error_response(error),
        Some(Ok(token)) => match auth::authenticate(&state.db, &state.jwt, token).await {
            Ok(principal) => Some(principal),
            Err(error) => return error_response(error),
        },
    };
    let requests = match batch.into_inner() {
        BatchRequest::Single(request) => vec![request],
        BatchRequest::Batch(requests) => {
            if requests.len() > state.config.max_batch_size as usize {
                return error_response(ApiError::BadUserInput(format!(
                    "a batch may hold at most {} operations (KOPPEL_MAX_BATCH_SIZE), this one has {}",
                    state.config.max_batch_size,
                    requests.len()
                )));
            }
            requests
        }
    };
    let single = requests.len() == 1;
    let requests: Vec<_> = requests
        .into_iter()
        .map(|mut request| {
            request = request.data(state.clone());
            if let Some(principal) = &principal {
                request = schema::add_loaders(request, &state.db, principal).data(principal.clone());
            }
            request
        })
        .collect();
    let batch = if single {
        BatchRequest::Single(requests.into_iter().next().expect("one request"))
    } else {
        BatchRequest::Batch(requests)
    };
    let mut response = schema.execute_batch(batch).await;
    match &mut response {
        async_graphql::BatchResponse::Single(one) => add_missing_codes(one),
        async_graphql::BatchResponse::Batch(many) => many.iter_mut().for_each(add_missing_codes),
    }
    GraphQLResponse::from(response).into_response()
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

fn bearer(headers: &HeaderMap) -> Option<Result<&str, ApiError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthenticated("the Authorization header must be `Bearer <token>`".into()));
    Some(parsed)
}

/// A GraphQL-shaped error for failures before execution (authentication, batch size).
fn error_response(error: ApiError) -> Response {
    let status = match error.code() {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut extensions = serde_json::json!({ "code": error.code().as_str() });
    if let Some(reason) = error.reason() {
        extensions["reason"] = reason.into();
    }
    let body = serde_json::json!({
        "data": null,
        "errors": [{ "message": error.to_string(), "extensions": extensions }],
    });
    (status, Json(body)).into_response()
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
    let body = format!(
        "# HELP koppel_db_statements_total SQL statements run by this process.\n\
         # TYPE koppel_db_statements_total counter\n\
         koppel_db_statements_total {statements}\n"
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
