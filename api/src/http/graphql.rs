//! `/graphql` over HTTP, after the GraphQL-over-HTTP spec.
//!
//! - `POST` with `Content-Type: application/json` (UTF-8): one operation, or a batch as an array.
//! - `POST` with `multipart/form-data`: file uploads, after the GraphQL multipart request spec
//!   (`operations`, `map`, then the files), as Apollo's and urql's upload clients send them. An HTML form
//!   on another site can send this content type with the browser's cookies, so multipart requests must
//!   carry `Authorization: Bearer` (which no form can set) and are refused without it.
//! - Any other content type is 415, which also keeps HTML forms out.
//! - `GET` with `query` (and `operationName`, `variables`, `extensions`) runs queries only; a mutation
//!   is 405 with `Allow: POST`. A browser (`Accept: text/html`), or a client that accepts anything and
//!   sends no `query`, gets GraphiQL instead, when it is switched on.
//! - Responses are `application/graphql-response+json` when the client asks for it, else
//!   `application/json` (see [`super::media`] and [`super::response`]).
//! - Before anything else: the rate limits per client address and per token; then the bearer token.
//! - A WebSocket upgrade on the same path carries subscriptions (graphql-transport-ws, and the older
//!   graphql-ws): the token travels in `connection_init` and is checked like a request's.

use super::Shared;
use super::media::{self, Accept, ResponseMedia};
use super::request::{self, Unreadable};
use super::response::{error_response, render};
use crate::auth;
use crate::error::ApiError;
use crate::graphql::live::{SubscriptionToken, token_of};
use crate::rate_limit::ClientAddress;
use crate::schema::{self, KoppelSchema};
use crate::state::AppState;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, Data};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::net::SocketAddr;

pub async fn post(
    State((state, schema)): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let accept = Accept::from_headers(&headers);
    if let Err(error) = check_rate_limits(&state, peer, &headers) {
        return error_response(error, accept.media);
    }
    let multipart = media::is_multipart(&headers);
    if !multipart && !media::is_json_body(&headers) {
        let mut response = error_response(
            ApiError::BadUserInput(
                "send the request as `Content-Type: application/json` (UTF-8), or an upload as `multipart/form-data`"
                    .into(),
            ),
            accept.media,
        );
        *response.status_mut() = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        response.headers_mut().insert("accept-post", HeaderValue::from_static("application/json, multipart/form-data"));
        return response;
    }
    if multipart && bearer(&headers).is_none() {
        return error_response(
            ApiError::Unauthenticated(
                "uploads must be sent with `Authorization: Bearer <token>` (multipart requests without it are refused)"
                    .into(),
            ),
            accept.media,
        );
    }
    let body = match body {
        Ok(body) => body,
        // Over the body limit (413) or a broken connection.
        Err(rejection) => return rejection.into_response(),
    };
    if multipart {
        return match read_multipart(&state, &headers, &body).await {
            Ok(batch) => execute(&state, &schema, &headers, peer, batch, accept.media).await,
            Err(response) => response.unwrap_or_else(|error| error_response(error, accept.media)),
        };
    }
    match request::from_json_body(&body) {
        Ok(batch) => execute(&state, &schema, &headers, peer, batch, accept.media).await,
        Err(Unreadable(message)) => error_response(ApiError::BadUserInput(message), accept.media),
    }
}

pub async fn get(
    State((state, schema)): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    protocol: Result<GraphQLProtocol, StatusCode>,
    parameters: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let accept = Accept::from_headers(&headers);
    if let Ok(upgrade) = upgrade {
        if let Err(error) = state.limits.check_address(peer.ip()) {
            return error_response(error.into(), accept.media);
        }
        let Ok(protocol) = protocol else {
            return (StatusCode::BAD_REQUEST, "use the graphql-transport-ws subprotocol").into_response();
        };
        return subscriptions(state, schema, upgrade, protocol);
    }
    let Ok(Query(parameters)) = parameters else {
        return error_response(ApiError::BadUserInput("the query string cannot be read".into()), accept.media);
    };
    let has_query = parameters.iter().any(|(name, _)| name == "query");
    if accept.html || (!has_query && accept.anything) {
        if state.config.graphiql {
            return Html(
                GraphiQLSource::build()
                    .endpoint("/graphql")
                    .subscription_endpoint("/graphql")
                    .title("Koppel GraphiQL")
                    .finish(),
            )
            .into_response();
        }
        if !has_query {
            return (StatusCode::NOT_FOUND, "GraphiQL is switched off (KOPPEL_GRAPHIQL=false)").into_response();
        }
    }
    if let Err(error) = check_rate_limits(&state, peer, &headers) {
        return error_response(error, accept.media);
    }
    let request = match request::from_query_string(parameters) {
        Ok(request) => request,
        Err(Unreadable(message)) => return error_response(ApiError::BadUserInput(message), accept.media),
    };
    if request::is_not_a_query(&request) {
        let mut response = error_response(
            ApiError::BadUserInput("only queries may be sent with GET; send mutations with POST".into()),
            accept.media,
        );
        *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    execute(&state, &schema, &headers, peer, BatchRequest::Single(request), accept.media).await
}

/// The most files one multipart request carries.
const MAX_UPLOADS: usize = 10;

/// Reads a multipart request (GraphQL multipart request spec) into operations with their uploads. A file
/// past the body limit is a 413 (`Ok(response)`); a malformed request a `BAD_USER_INPUT` (`Err(error)`).
async fn read_multipart(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<BatchRequest, Result<Response, ApiError>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let options = async_graphql::http::MultipartOptions::default()
        .max_file_size(state.config.upload_body_limit())
        .max_num_files(MAX_UPLOADS);
    async_graphql::http::receive_batch_body(content_type, &body[..], options).await.map_err(|error| match error {
        async_graphql::ParseRequestError::PayloadTooLarge => {
            Ok((StatusCode::PAYLOAD_TOO_LARGE, "the upload is far larger than KOPPEL_MAX_FILE_BYTES").into_response())
        }
        other => Err(ApiError::BadUserInput(format!("the multipart request cannot be read: {other}"))),
    })
}

/// Serves subscriptions on an upgraded connection; `connection_init` must carry a valid token.
fn subscriptions(
    state: AppState,
    schema: KoppelSchema,
    upgrade: WebSocketUpgrade,
    protocol: GraphQLProtocol,
) -> Response {
    upgrade.protocols(ALL_WEBSOCKET_PROTOCOLS).on_upgrade(move |socket| async move {
        GraphQLWebSocket::new(socket, schema, protocol)
            .on_connection_init(move |payload| async move {
                let token = token_of(&payload)?;
                let principal = auth::authenticate(&state.db, &state.jwt, &state.auth, &token).await?;
                let mut data = Data::default();
                schema::insert_loaders(&mut data, &state.db, &principal);
                data.insert(state);
                data.insert(principal);
                data.insert(SubscriptionToken(token));
                Ok(data)
            })
            .serve()
            .await
    })
}

/// Requests per client address, then per bearer token (before the token is verified, so a flood of
/// requests costs no database lookups).
fn check_rate_limits(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Result<(), ApiError> {
    state.limits.check_address(peer.ip())?;
    if let Some(Ok(token)) = bearer(headers) {
        state.limits.check_token(token)?;
    }
    Ok(())
}

async fn execute(
    state: &AppState,
    schema: &KoppelSchema,
    headers: &HeaderMap,
    peer: SocketAddr,
    batch: BatchRequest,
    media: ResponseMedia,
) -> Response {
    let principal = match bearer(headers) {
        None => None,
        Some(Err(error)) => return error_response(error, media),
        Some(Ok(token)) => match auth::authenticate(&state.db, &state.jwt, &state.auth, token).await {
            Ok(principal) => Some(principal),
            Err(error) => return error_response(error, media),
        },
    };
    let requests = match batch {
        BatchRequest::Single(request) => vec![request],
        BatchRequest::Batch(requests) => {
            if requests.len() > state.config.max_batch_size as usize {
                return error_response(
                    ApiError::BadUserInput(format!(
                        "a batch may hold at most {} operations (KOPPEL_MAX_BATCH_SIZE), this one has {}",
                        state.config.max_batch_size,
                        requests.len()
                    )),
                    media,
                );
            }
            requests
        }
    };
    let single = requests.len() == 1;
    let requests: Vec<_> = requests
        .into_iter()
        .map(|mut request| {
            super::documents::prepare(&mut request);
            request = request.data(state.clone()).data(ClientAddress(peer.ip()));
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
    render(schema.execute_batch(batch).await, media)
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
