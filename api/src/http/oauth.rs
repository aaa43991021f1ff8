//! `GET /oauth/callback?code=…&state=…`: where an OAuth2 remote (Exact Online) sends the admin's browser
//! after signing in. Public (the browser carries no Koppel token): the `state` is what binds it to an
//! integration and an admin ([`koppel_daemon::oauth::complete`]). Answers a short HTML page saying what
//! happened; a refused state changes nothing.

use super::Shared;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use koppel_daemon::oauth::{self, CallbackRefusal};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn callback(State((state, _)): State<Shared>, Query(query): Query<Callback>) -> Response {
    let Some(oauth_state) = query.state.filter(|s| !s.is_empty() && s.len() <= 200) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Not connected",
            "The link has no state: start connecting again from Koppel.",
        );
    };
    let Some(redirect_uri) = state.config.oauth_redirect_uri() else {
        return page(StatusCode::BAD_REQUEST, "Not connected", "KOPPEL_PUBLIC_URL is not set on this server.");
    };
    let code = match (&query.code, &query.error) {
        (Some(code), None) if !code.is_empty() => Ok(code.as_str()),
        _ => Err(query.error_description.as_deref().or(query.error.as_deref()).unwrap_or("no code was given")),
    };
    match oauth::complete(&state.engine, &oauth_state, code, &redirect_uri).await {
        Ok(connected) => page(
            StatusCode::OK,
            "Connected",
            &format!(
                "{} is connected ({} mode) as {}, division {}. You can close this page.",
                connected.integration_name,
                connected.mode.as_str(),
                connected.identity,
                connected.division
            ),
        ),
        Err(CallbackRefusal::Db(error)) => {
            tracing::error!(%error, "OAuth callback failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Not connected",
                "Koppel could not store the connection; try again.",
            )
        }
        Err(refusal) => {
            tracing::warn!(%refusal, "OAuth callback refused");
            let status = match refusal {
                CallbackRefusal::Remote(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::BAD_REQUEST,
            };
            page(status, "Not connected", &refusal.to_string())
        }
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let escape =
        |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Koppel: {title}</title></head>\
         <body><h1>{title}</h1><p>{}</p></body></html>",
        escape(message)
    );
    (status, [("cache-control", "no-store"), ("referrer-policy", "no-referrer")], Html(body)).into_response()
}
