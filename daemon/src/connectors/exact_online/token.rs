//! Exact Online's token endpoint (`POST /api/oauth2/token`, a form): an authorization code or a refresh
//! token for `{access_token, refresh_token, expires_in: "600", token_type: "bearer"}`.

use super::transport_error;
use crate::connectors::ConnectorError;
use crate::connectors::oauth_tokens::OAuthTokens;
use chrono::Utc;
use serde_json::Value;

/// Why the token endpoint gave no tokens.
#[derive(Debug)]
pub enum TokenRefusal {
    /// The grant (code or refresh token) or the client was refused: Exact's words.
    Refused(String),
    /// A refresh before Exact allows one (`Reason: TooEarlyToRefreshTokens`).
    TooEarly,
    /// Anything else: the remote is down, busy, unreachable.
    Failed(ConnectorError),
}

pub struct TokenEndpoint<'a> {
    pub http: &'a reqwest::Client,
    pub url: url::Url,
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

impl TokenEndpoint<'_> {
    pub async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<OAuthTokens, TokenRefusal> {
        self.request(&[("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect_uri)]).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Result<OAuthTokens, TokenRefusal> {
        self.request(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]).await
    }

    async fn request(&self, grant: &[(&str, &str)]) -> Result<OAuthTokens, TokenRefusal> {
        let mut form = grant.to_vec();
        form.push(("client_id", self.client_id));
        form.push(("client_secret", self.client_secret));
        let response = self
            .http
            .post(self.url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| TokenRefusal::Failed(transport_error(e)))?;
        let status = response.status();
        let too_early = response
            .headers()
            .get("reason")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|r| r.contains("TooEarlyToRefreshTokens"));
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return parse(&body).map_err(TokenRefusal::Failed);
        }
        if too_early {
            return Err(TokenRefusal::TooEarly);
        }
        let said = body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("refused").to_owned();
        match status.as_u16() {
            400 | 401 => Err(TokenRefusal::Refused(said)),
            429 => Err(TokenRefusal::Failed(ConnectorError::RateLimited { retry_after_seconds: 60 })),
            _ if status.is_server_error() => {
                Err(TokenRefusal::Failed(ConnectorError::Remote(format!("the token endpoint answered HTTP {status}"))))
            }
            _ => Err(TokenRefusal::Failed(ConnectorError::Protocol(format!(
                "the token endpoint answered HTTP {status}: {said}"
            )))),
        }
    }
}

/// `expires_in` is a string at Exact (`"600"`); a number is read too.
fn parse(body: &Value) -> Result<OAuthTokens, ConnectorError> {
    let text = |name: &str| {
        body[name]
            .as_str()
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ConnectorError::Protocol(format!("the token endpoint answered no {name}")))
    };
    let lifetime = match &body["expires_in"] {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .filter(|l| *l > 0)
    .unwrap_or(600);
    Ok(OAuthTokens {
        access_token: text("access_token")?,
        refresh_token: text("refresh_token")?,
        issued_at: Utc::now(),
        lifetime_seconds: lifetime,
    })
}
