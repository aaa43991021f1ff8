//! Exact Online's REST API over HTTP, in one place for every call a connector makes: the access token
//! (used until it is due, then refreshed, the new refresh token committed before the new access token is
//! used; a 401 "access token expired" refreshes once), the rate limits (waited for before Exact refuses,
//! a 429 waited out), the OData envelope and `__next` paging, and Exact's errors as [`ConnectorError`]s.
//! New calls (the Sync API, sales orders) go through [`ExactClient::get`], [`ExactClient::list`],
//! [`ExactClient::post`] and [`ExactClient::put`].

use super::token::{TokenEndpoint, TokenRefusal};
use super::{REFRESH_TOKEN_DAYS, transport_error, wire};
use crate::connectors::ConnectorError;
use crate::connectors::oauth_tokens::{StoredTokens, TokenStore};
use crate::connectors::shared::IntegrationShared;
use chrono::Utc;
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The longest one call waits for a rate-limit window to start again; beyond it the call fails with
/// [`ConnectorError::RateLimited`] (the daily limit: the job is retried after the reset).
const MAX_WAIT: Duration = Duration::from_secs(120);
/// How many 429s one call takes before it gives up.
const MAX_BUSY: u32 = 5;
/// How often a refused refresh token is looked for again (200 ms apart) before the connection counts as
/// lost: another process that refreshed first may still be committing its tokens.
const ROTATION_GRACE_READS: u32 = 5;

pub const NOT_CONNECTED: &str = "Exact Online is not connected in this mode yet: connect it first \
                                 (startIntegrationAuthorization gives the link to Exact's sign-in page)";

pub struct ExactClient {
    pub(super) http: reqwest::Client,
    /// The region's host with a trailing slash, e.g. `https://start.exactonline.nl/`.
    pub(super) base: url::Url,
    pub(super) client_id: String,
    pub(super) client_secret: String,
    pub(super) tokens: TokenStore,
    pub(super) shared: Arc<IntegrationShared>,
}

impl ExactClient {
    pub fn token_endpoint(&self) -> TokenEndpoint<'_> {
        TokenEndpoint {
            http: &self.http,
            url: self.base.join("api/oauth2/token").expect("a valid path"),
            client_id: &self.client_id,
            client_secret: &self.client_secret,
        }
    }

    /// The division (administration) the connection works in, from `current/Me` when it was made.
    pub async fn division(&self) -> Result<String, ConnectorError> {
        let stored = self.stored().await?;
        stored.division.ok_or_else(|| ConnectorError::Configuration(NOT_CONNECTED.into()))
    }

    /// `GET /api/v1/current/Me`: who the tokens belong to, and their current division.
    pub async fn me(&self) -> Result<wire::Me, ConnectorError> {
        let url = self.base.join("api/v1/current/Me").expect("a valid path");
        let body = self.call(Method::GET, url, None, "current/Me").await?;
        serde_json::from_value(wire::single(body, "current/Me")?)
            .map_err(|e| ConnectorError::Protocol(format!("current/Me: {e}")))
    }

    /// The URL of `path` in the connection's division: `/api/v1/{division}/{path}`.
    pub async fn url(&self, path: &str, query: &[(&str, String)]) -> Result<url::Url, ConnectorError> {
        let division = self.division().await?;
        let mut url = self
            .base
            .join(&format!("api/v1/{division}/{}", path.trim_start_matches('/')))
            .map_err(|e| ConnectorError::Configuration(format!("the base URL: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    /// GETs `path` in the division: the whole answer (`{"d": …}`).
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ConnectorError> {
        let url = self.url(path, query).await?;
        self.call(Method::GET, url, None, path).await
    }

    /// One page of a list: its rows and the URL of the next page (Exact's `__next`), when there is one.
    /// `page` is `None` for the first page (`path` with `query`), else a `__next` URL given before.
    pub async fn list(
        &self,
        path: &str,
        query: &[(&str, String)],
        page: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), ConnectorError> {
        let url = match page {
            None => self.url(path, query).await?,
            Some(next) => self.next_url(next)?,
        };
        wire::list(self.call(Method::GET, url, None, path).await?, path)
    }

    /// POSTs a record to `path` in the division; Exact answers the full entity
    /// (`Prefer: return=representation`).
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ConnectorError> {
        let url = self.url(path, &[]).await?;
        wire::single(self.call(Method::POST, url, Some(body), path).await?, path)
    }

    /// PUTs changes to the record at `path` (e.g. `crm/Accounts(guid'…')`); Exact answers 204.
    pub async fn put(&self, path: &str, body: &Value) -> Result<(), ConnectorError> {
        let url = self.url(path, &[]).await?;
        self.call(Method::PUT, url, Some(body), path).await.map(|_| ())
    }

    /// A `__next` URL, only on Exact's own origin (the bearer token goes there).
    fn next_url(&self, next: &str) -> Result<url::Url, ConnectorError> {
        let url = url::Url::parse(next).map_err(|_| ConnectorError::Protocol(format!("a bad next link {next}")))?;
        if url.origin() != self.base.origin() {
            return Err(ConnectorError::Protocol(format!("a next link to another host: {next}")));
        }
        Ok(url)
    }

    async fn stored(&self) -> Result<StoredTokens, ConnectorError> {
        let stored = self.tokens.load().await?.ok_or_else(|| ConnectorError::Configuration(NOT_CONNECTED.into()))?;
        if !stored.connected {
            let problem = stored.problem.unwrap_or_else(|| "the connection was lost".into());
            return Err(ConnectorError::WrongCredentials(format!("{problem}: connect the integration again")));
        }
        Ok(stored)
    }

    /// An access token to use now: the stored one until it is due, else a refreshed one. `refused` is
    /// an access token Exact just called expired: unless another connector has already replaced it, it
    /// is refreshed whatever its age.
    async fn access_token(&self, refused: Option<&str>) -> Result<String, ConnectorError> {
        // One refresh at a time in this process; another process is caught by the compare-and-swap.
        let _refreshing = self.shared.token_lock.lock().await;
        let stored = self.stored().await?;
        let due = Utc::now() >= stored.tokens.use_until();
        match refused {
            None if !due => return Ok(stored.tokens.access_token),
            Some(old) if old != stored.tokens.access_token => return Ok(stored.tokens.access_token),
            _ => {}
        }
        let integration = self.tokens.integration_id();
        match self.token_endpoint().refresh(&stored.tokens.refresh_token).await {
            Ok(fresh) => {
                let valid_until = Utc::now() + chrono::Duration::days(REFRESH_TOKEN_DAYS);
                // Committed before the new access token is used: a crash from here on keeps the
                // connection (the old refresh token is void at Exact already).
                if self.tokens.rotate(stored.generation, &fresh, valid_until).await? {
                    tracing::debug!(%integration, "Exact Online tokens refreshed and stored");
                    return Ok(fresh.access_token);
                }
                // Someone reconnected the integration meanwhile: theirs are the tokens to use.
                tracing::info!(%integration, "Exact Online tokens were replaced while refreshing");
                Ok(self.stored().await?.tokens.access_token)
            }
            Err(TokenRefusal::Refused(said)) => {
                // Another process may have rotated the refresh token first: then its tokens are good.
                // It may not have committed them yet when Exact refused ours: give it a moment.
                for _ in 0..ROTATION_GRACE_READS {
                    let now = self.stored().await?;
                    if now.generation != stored.generation {
                        return Ok(now.tokens.access_token);
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                let problem = format!("Exact Online refused the refresh token ({said})");
                self.tokens.disconnect(stored.generation, &problem).await?;
                Err(ConnectorError::WrongCredentials(format!(
                    "{problem}: the connection is lost, connect the integration again"
                )))
            }
            Err(TokenRefusal::TooEarly) => {
                let wait = (stored.tokens.refresh_allowed_at() - Utc::now()).num_seconds().max(1) as u64;
                Err(ConnectorError::RateLimited { retry_after_seconds: wait })
            }
            Err(TokenRefusal::Failed(error)) => Err(error),
        }
    }

    /// Waits until the rate limits allow one more call, and takes it.
    async fn throttle(&self, waited: &mut Duration) -> Result<(), ConnectorError> {
        loop {
            let wait = self.shared.limits.lock().expect("the rate budget").take(Utc::now().timestamp_millis());
            let Some(wait) = wait else { return Ok(()) };
            if *waited + wait > MAX_WAIT {
                return Err(ConnectorError::RateLimited { retry_after_seconds: wait.as_secs().max(1) });
            }
            tracing::debug!(wait_ms = wait.as_millis() as u64, "waiting for Exact Online's rate limit");
            // A little past the reset, so that the window has really started again.
            let wait = wait + Duration::from_millis(50);
            tokio::time::sleep(wait).await;
            *waited += wait;
        }
    }

    /// One call with its retries: after a 401 of an expired token (once) and after 429s.
    async fn call(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, ConnectorError> {
        let mut refused: Option<String> = None;
        let mut refreshed = false;
        let mut waited = Duration::ZERO;
        let mut busy = 0;
        loop {
            // The budget first: a token fetched after a long wait could have expired meanwhile.
            self.throttle(&mut waited).await?;
            let token = self.access_token(refused.as_deref()).await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(&token)
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body).header("Prefer", "return=representation");
            }
            let response = request.send().await.map_err(transport_error)?;
            let status = response.status();
            self.shared.limits.lock().expect("the rate budget").observe(response.headers());
            let header =
                |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            let (authenticate, reason) = (header("www-authenticate"), header("reason"));
            let text = response.text().await.map_err(transport_error)?;
            let json: Option<Value> = serde_json::from_str(&text).ok();
            match status.as_u16() {
                204 => return Ok(Value::Null),
                200..=299 => {
                    return json.ok_or_else(|| {
                        ConnectorError::Protocol(format!("{what} answered something that is not JSON"))
                    });
                }
                401 if !refreshed => {
                    // Expired (`WWW-Authenticate: … access token expired`), or unknown to Exact: one
                    // refresh, once.
                    tracing::debug!(
                        expired = authenticate.contains("expired"),
                        "Exact Online refused the access token"
                    );
                    refused = Some(token);
                    refreshed = true;
                }
                401 => {
                    return Err(ConnectorError::WrongCredentials(
                        "Exact Online refused a freshly refreshed access token: connect the integration again".into(),
                    ));
                }
                403 if reason.contains("NoDivisionAccess") => {
                    return Err(ConnectorError::Forbidden(format!(
                        "the connected Exact Online user has no access to the division of {what} ({reason}): \
                         connect again with a user of that division"
                    )));
                }
                429 => {
                    busy += 1;
                    if busy > MAX_BUSY {
                        return Err(ConnectorError::RateLimited { retry_after_seconds: 60 });
                    }
                    tracing::debug!(what, "Exact Online answered 429: waiting for the reset");
                    // The 429's headers (those of the limit hit) say until when; the budget waits.
                    let mut limits = self.shared.limits.lock().expect("the rate budget");
                    if limits.minutely.is_none() && limits.daily.is_none() {
                        // No headers at all: a minute, as Exact's shortest window.
                        limits.minutely = Some(crate::connectors::shared::Window {
                            remaining: 0,
                            reset_ms: Utc::now().timestamp_millis() + 60_000,
                        });
                    }
                }
                403 => {
                    let why = json.as_ref().and_then(wire::error_message).unwrap_or_else(|| "forbidden".into());
                    return Err(ConnectorError::Forbidden(format!("{what}: {why}")));
                }
                400 | 404 | 409 | 422 => {
                    let why = json.as_ref().and_then(wire::error_message).unwrap_or_else(|| format!("HTTP {status}"));
                    return Err(ConnectorError::Refused(format!("Exact Online refused {what}: {why}")));
                }
                _ if status.is_server_error() => {
                    return Err(ConnectorError::Remote(format!("{what} answered HTTP {status}")));
                }
                _ => return Err(ConnectorError::Protocol(format!("{what} answered HTTP {status}"))),
            }
        }
    }
}
