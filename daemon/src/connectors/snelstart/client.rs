//! SnelStart's B2B API v2 over HTTP: the koppelsleutel exchanged for a bearer token (kept until shortly
//! before it expires, across connectors of the same integration, and fetched again when SnelStart says
//! it expired), the subscription key on every call, and SnelStart's errors as [`ConnectorError`]s.

use crate::connectors::ConnectorError;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// What to do when SnelStart refuses the API key: the seed's advice (004's FAQ).
pub const KEY_ADVICE: &str = "check the API key (the subscription key of your SnelStart B2B account): it is \
                              case-sensitive and may not contain spaces";

/// What to do when SnelStart refuses the koppelsleutel.
const CLIENT_KEY_ADVICE: &str = "check the koppelsleutel (client key) the administration's owner gave you in \
                                 SnelStart: it is case-sensitive and may not contain spaces";

/// A bearer token and until when it is used.
#[derive(Clone)]
struct Token {
    bearer: String,
    until: Instant,
}

/// Tokens by token URL and koppelsleutel (hashed): a pass builds a new connector, and a token lives an
/// hour, so one token serves every pass of that hour.
static TOKENS: LazyLock<Mutex<HashMap<[u8; 32], Token>>> = LazyLock::new(Default::default);

pub struct SnelStartClient {
    http: reqwest::Client,
    /// The API's base, ending in a slash (`https://b2bapi.snelstart.nl/v2/`).
    api: url::Url,
    token_url: url::Url,
    subscription_key: String,
    client_key: String,
}

impl SnelStartClient {
    pub fn new(
        http: reqwest::Client,
        api: url::Url,
        token_url: url::Url,
        subscription_key: String,
        client_key: String,
    ) -> Self {
        Self { http, api, token_url, subscription_key, client_key }
    }

    fn cache_key(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(self.token_url.as_str().as_bytes());
        hash.update([0]);
        hash.update(self.client_key.as_bytes());
        hash.finalize().into()
    }

    /// The cached token, or a new one.
    async fn token(&self) -> Result<String, ConnectorError> {
        let key = self.cache_key();
        if let Some(token) = TOKENS.lock().expect("the token cache").get(&key).cloned()
            && Instant::now() < token.until
        {
            return Ok(token.bearer);
        }
        let token = self.exchange().await?;
        TOKENS.lock().expect("the token cache").insert(key, token.clone());
        Ok(token.bearer)
    }

    fn forget_token(&self) {
        TOKENS.lock().expect("the token cache").remove(&self.cache_key());
    }

    /// `grant_type=clientkey`: the koppelsleutel for a bearer token.
    async fn exchange(&self) -> Result<Token, ConnectorError> {
        let response = self
            .http
            .post(self.token_url.clone())
            .form(&[("grant_type", "clientkey"), ("clientkey", self.client_key.as_str())])
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let body: Value = response.json().await.unwrap_or(Value::Null);
        match status.as_u16() {
            200 => {}
            429 => return Err(ConnectorError::RateLimited { retry_after_seconds: retry_after.unwrap_or(60) }),
            400 | 401 => {
                let said = body["error_description"].as_str().or(body["error"].as_str()).unwrap_or("refused");
                return Err(ConnectorError::WrongCredentials(format!(
                    "SnelStart refused the koppelsleutel ({said}): {CLIENT_KEY_ADVICE}"
                )));
            }
            _ if status.is_server_error() => {
                return Err(ConnectorError::Remote(format!("the token endpoint answered HTTP {status}")));
            }
            _ => return Err(ConnectorError::Protocol(format!("the token endpoint answered HTTP {status}"))),
        }
        let bearer = body["access_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ConnectorError::Protocol("the token endpoint answered no access_token".into()))?;
        let lifetime = Duration::from_secs(body["expires_in"].as_u64().unwrap_or(3599));
        // Renewed a little before SnelStart would refuse it: a tenth of its life, at most 30 s.
        let margin = (lifetime / 10).min(Duration::from_secs(30));
        Ok(Token { bearer: bearer.to_owned(), until: Instant::now() + lifetime - margin })
    }

    /// GETs `path` (relative to the API base) with `query`; `Value::Null` for an empty answer (204). A
    /// token SnelStart calls expired or unknown is fetched again once.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ConnectorError> {
        let url = self.api.join(path).map_err(|e| ConnectorError::Configuration(format!("the base URL: {e}")))?;
        let mut fresh = false;
        loop {
            let bearer = self.token().await?;
            let response = self
                .http
                .get(url.clone())
                .query(query)
                .bearer_auth(&bearer)
                .header("Ocp-Apim-Subscription-Key", &self.subscription_key)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(transport_error)?;
            let status = response.status();
            let retry_after = retry_after(&response);
            let text = response.text().await.map_err(transport_error)?;
            let body: Value =
                if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::Null) };
            match status.as_u16() {
                200..=299 => {
                    return if text.trim().is_empty() || !body.is_null() {
                        Ok(body)
                    } else {
                        Err(ConnectorError::Protocol(format!("{path} answered something that is not JSON")))
                    };
                }
                // The API gateway's own answer: the subscription key is missing or wrong.
                401 if body.get("statusCode").is_some() => {
                    let said = body["message"].as_str().unwrap_or("access denied");
                    return Err(ConnectorError::WrongCredentials(format!(
                        "SnelStart refused the API key ({said}): {KEY_ADVICE}"
                    )));
                }
                // The API's: the token expired (or was never valid). One new token, once.
                401 if !fresh => {
                    self.forget_token();
                    fresh = true;
                    tracing::debug!("SnelStart refused the token: fetching a new one");
                }
                401 => {
                    return Err(ConnectorError::WrongCredentials(format!(
                        "SnelStart refused a new token too: {CLIENT_KEY_ADVICE}"
                    )));
                }
                429 => {
                    let wait = retry_after.or_else(|| seconds_in(body["message"].as_str())).unwrap_or(60);
                    return Err(ConnectorError::RateLimited { retry_after_seconds: wait });
                }
                503 if retry_after.is_some() => {
                    return Err(ConnectorError::RateLimited { retry_after_seconds: retry_after.unwrap_or(60) });
                }
                403 => return Err(ConnectorError::Forbidden(message_of(&body).unwrap_or("forbidden".into()))),
                400 => {
                    let why = message_of(&body).unwrap_or_else(|| "bad request".into());
                    return Err(ConnectorError::Protocol(format!("SnelStart refused {path}: {why}")));
                }
                _ if status.is_server_error() => {
                    return Err(ConnectorError::Remote(format!("{path} answered HTTP {status}")));
                }
                _ => {
                    let why = message_of(&body).unwrap_or_else(|| format!("HTTP {status}"));
                    return Err(ConnectorError::Protocol(format!("{path}: {why}")));
                }
            }
        }
    }
}

/// The message of SnelStart's error shapes: `[{errorCode, message}]`, `{"Message": …}`,
/// `{"modelState": {field: [..]}}`, the gateway's `{statusCode, message}`.
fn message_of(body: &Value) -> Option<String> {
    if let Some(first) = body.as_array().and_then(|errors| errors.first()) {
        let code = first["errorCode"].as_str().unwrap_or_default();
        return first["message"].as_str().map(|m| if code.is_empty() { m.to_owned() } else { format!("{m} ({code})") });
    }
    if let Some(state) = body["modelState"].as_object() {
        let all: Vec<String> = state.iter().map(|(field, problems)| format!("{field}: {problems}")).collect();
        return Some(all.join("; "));
    }
    body["Message"].as_str().or(body["message"].as_str()).map(str::to_owned)
}

fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// The N of "Rate limit is exceeded. Try again in N seconds.", when the header is missing.
fn seconds_in(message: Option<&str>) -> Option<u64> {
    let rest = message?.split("Try again in ").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

fn transport_error(error: reqwest::Error) -> ConnectorError {
    let error = error.without_url();
    if error.is_timeout() {
        ConnectorError::Timeout
    } else if error.is_connect() || error.is_request() || error.is_redirect() {
        let mut message = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        ConnectorError::Unreachable(message)
    } else {
        ConnectorError::Remote(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_every_error_shape_of_snelstart() {
        assert_eq!(message_of(&json!([{"errorCode": "E1", "message": "fout"}])).as_deref(), Some("fout (E1)"));
        assert_eq!(message_of(&json!({"Message": "niet gevonden"})).as_deref(), Some("niet gevonden"));
        assert_eq!(message_of(&json!({"statusCode": 429, "message": "busy"})).as_deref(), Some("busy"));
        assert!(message_of(&json!({"modelState": {"naam": ["verplicht"]}})).unwrap().contains("naam"));
        assert_eq!(seconds_in(Some("Rate limit is exceeded. Try again in 17 seconds.")), Some(17));
        assert_eq!(seconds_in(Some("busy")), None);
    }
}
