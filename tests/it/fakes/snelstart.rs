//! A fake SnelStart B2B API v2 (`../shared/REMOTES.md`), serving the token endpoint and the API on one
//! port: `POST /b2b/token` (at `auth.snelstart.nl` for real) exchanges the koppelsleutel
//! (`grant_type=clientkey`) for a bearer token that expires; everything under `/v2/` wants the
//! subscription key (`Ocp-Apim-Subscription-Key`, or the `subscription-key` query parameter) and an
//! unexpired token. Lists are bare JSON arrays paged with `$skip`/`$top` (1–500, default 500) until an
//! empty page, filtered with `$filter=ModifiedOn gt datetime'…'`. Errors have SnelStart's shapes: the
//! API gateway's `{statusCode, message}` for a missing or wrong subscription key and for rate limits
//! (429 with `Retry-After`), `{"Message": …}` for a refused token, `[{errorCode, message}]` for a bad
//! request. What a test changes (records, token lifetime, the rate limit) it changes through
//! [`SnelStart`]; what the fake was asked it keeps in [`SnelStart::requests`].

use super::FakeRemote;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::{get, post};
use chrono::{DateTime, Duration as Span, NaiveDateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The API key a test integration is given (SnelStart's subscription key; case-sensitive).
pub const SUBSCRIPTION_KEY: &str = "f3a9c2e1b7d84c6a9e0f1a2b3c4d5e6f";
/// The koppelsleutel the administration's owner handed over.
pub const CLIENT_KEY: &str = "S2xhbnRCOmtvcHBlbHNsZXV0ZWwtdm9vci10ZXN0cw==";

const MISSING_KEY: &str = "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.";
const INVALID_KEY: &str =
    "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription.";
const DENIED: &str = "Authorization has been denied for this request.";

/// A rate limit of the API gateway: so many calls per window, counted from the window's first call.
#[derive(Debug, Clone, Copy)]
struct RateLimit {
    calls: u32,
    window: Duration,
}

#[derive(Debug)]
struct State {
    /// The tokens handed out and when each expires.
    tokens: HashMap<String, Instant>,
    token_lifetime: Duration,
    token_requests: u32,
    relaties: Vec<Value>,
    verkoopfacturen: Vec<Value>,
    limit: Option<RateLimit>,
    window: Option<(Instant, u32)>,
    refused_for_rate: u32,
    /// `METHOD path?query` of every call under `/v2/`, answered or not.
    requests: Vec<String>,
    /// The last `modifiedOn` handed out, so every change is later than the one before.
    clock: NaiveDateTime,
    /// The positions of the records a list and `$filter` select, kept until a record changes, so that
    /// paging through a large list (a benchmark's) is not a scan of the whole list per page.
    matching: HashMap<(&'static str, Option<String>), Vec<usize>>,
}

/// The fake's handle: change its records and limits, read what it was asked. Stops when dropped.
pub struct SnelStart {
    remote: FakeRemote,
    state: Arc<Mutex<State>>,
}

pub async fn snelstart() -> SnelStart {
    let state = Arc::new(Mutex::new(State {
        tokens: HashMap::new(),
        token_lifetime: Duration::from_secs(3599),
        token_requests: 0,
        relaties: Vec::new(),
        verkoopfacturen: Vec::new(),
        limit: None,
        window: None,
        refused_for_rate: 0,
        requests: Vec::new(),
        clock: Utc::now().naive_utc() - Span::days(1),
        matching: HashMap::new(),
    }));
    let app = Router::new()
        .route("/b2b/token", post(token))
        .route("/v2/echo/", get(echo_empty))
        .route("/v2/echo/{input}", get(echo))
        .route("/v2/companyInfo", get(company_info))
        .route("/v2/relaties", get(relaties))
        .route("/v2/relaties/{id}", get(relatie))
        .route("/v2/verkoopfacturen", get(verkoopfacturen))
        .fallback(not_found)
        .with_state(state.clone());
    SnelStart { remote: FakeRemote::serve(app).await, state }
}

/// A SnelStart date-time as the API writes it: local, milliseconds, no zone.
pub fn snelstart_time(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()
}

impl SnelStart {
    /// What an integration's base URL points at (the API under `/v2/`, the token at `/b2b/token`).
    pub fn base_url(&self) -> String {
        format!("{}/v2/", self.remote.base_url())
    }

    fn next_time(state: &mut State) -> String {
        let now = Utc::now().naive_utc().max(state.clock + Span::milliseconds(1));
        state.clock = now;
        snelstart_time(now)
    }

    /// Adds or replaces a relatie (by `id`); its `modifiedOn` is now unless it brings one.
    pub fn put_relatie(&self, mut relatie: Value) {
        let mut state = self.state.lock().unwrap();
        state.matching.clear();
        if relatie["modifiedOn"].is_null() {
            relatie["modifiedOn"] = Self::next_time(&mut state).into();
        }
        match state.relaties.iter_mut().find(|r| r["id"] == relatie["id"]) {
            Some(existing) => *existing = relatie,
            None => state.relaties.push(relatie),
        }
    }

    /// Changes a relatie the way a bookkeeper does: its `modifiedOn` moves.
    pub fn edit_relatie(&self, id: &str, change: impl FnOnce(&mut Value)) {
        let mut state = self.state.lock().unwrap();
        state.matching.clear();
        let time = Self::next_time(&mut state);
        let relatie = state.relaties.iter_mut().find(|r| r["id"] == id).expect("a relatie of the fake");
        change(relatie);
        relatie["modifiedOn"] = time.into();
    }

    /// Deletes a relatie (SnelStart has no deletion feed: it is simply no longer listed).
    pub fn delete_relatie(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        state.matching.clear();
        state.relaties.retain(|r| r["id"] != id);
    }

    /// Adds or replaces a verkoopfactuur (by `id`); its `modifiedOn` is now unless it brings one.
    pub fn put_factuur(&self, mut factuur: Value) {
        let mut state = self.state.lock().unwrap();
        state.matching.clear();
        if factuur["modifiedOn"].is_null() {
            factuur["modifiedOn"] = Self::next_time(&mut state).into();
        }
        match state.verkoopfacturen.iter_mut().find(|f| f["id"] == factuur["id"]) {
            Some(existing) => *existing = factuur,
            None => state.verkoopfacturen.push(factuur),
        }
    }

    /// Adds many relaties and verkoopfacturen at once (a benchmark's remote) without looking for ones to
    /// replace: their ids must be new, and each brings its `modifiedOn`. (Used by
    /// `daemon/examples/bench_snelstart.rs`, which compiles this file too.)
    #[allow(dead_code)]
    pub fn load(&self, relaties: Vec<Value>, verkoopfacturen: Vec<Value>) {
        let mut state = self.state.lock().unwrap();
        state.matching.clear();
        state.relaties.extend(relaties);
        state.verkoopfacturen.extend(verkoopfacturen);
    }

    /// Deletes a verkoopfactuur (no deletion feed either: it is simply no longer listed).
    pub fn delete_factuur(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        state.matching.clear();
        state.verkoopfacturen.retain(|f| f["id"] != id);
    }

    /// A payment booked against an invoice: what is still open goes down, and `modifiedOn` moves.
    pub fn pay(&self, id: &str, amount: f64) {
        let mut state = self.state.lock().unwrap();
        state.matching.clear();
        let time = Self::next_time(&mut state);
        let factuur = state.verkoopfacturen.iter_mut().find(|f| f["id"] == id).expect("a factuur of the fake");
        let open = factuur["openstaandSaldo"].as_f64().unwrap_or(0.0) - amount;
        factuur["openstaandSaldo"] = json!((open * 100.0).round() / 100.0);
        factuur["modifiedOn"] = time.into();
    }

    /// Tokens handed out from now on live this long (SnelStart's live an hour: `expires_in` 3599).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.lock().unwrap().token_lifetime = lifetime;
    }

    /// Every token handed out so far expires now.
    pub fn expire_tokens(&self) {
        let now = Instant::now();
        self.state.lock().unwrap().tokens.values_mut().for_each(|until| *until = now);
    }

    /// How many tokens were asked for (successfully or not).
    pub fn token_requests(&self) -> u32 {
        self.state.lock().unwrap().token_requests
    }

    /// At most `calls` API calls per `window`; more are refused with 429 until the window ends.
    pub fn limit_rate(&self, calls: u32, window: Duration) {
        let mut state = self.state.lock().unwrap();
        state.limit = Some(RateLimit { calls, window });
        state.window = None;
    }

    /// How many calls the rate limit refused.
    pub fn refused_for_rate(&self) -> u32 {
        self.state.lock().unwrap().refused_for_rate
    }

    /// `METHOD path?query` of every API call so far (not the token's).
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn respond(status: StatusCode, headers: &[(&str, String)], body: Option<Value>) -> Response<Body> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    match body {
        Some(body) => response
            .header("content-type", "application/json; charset=utf-8")
            .body(Body::from(body.to_string()))
            .expect("a valid response"),
        None => response.body(Body::empty()).expect("a valid response"),
    }
}

/// `POST /b2b/token`: `grant_type=clientkey&clientkey=…` (form) → a bearer token.
async fn token(Shared(state): Shared<Arc<Mutex<State>>>, body: String) -> Response<Body> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let mut state = state.lock().unwrap();
    state.token_requests += 1;
    let refused = |error: &str, description: &str| {
        respond(StatusCode::BAD_REQUEST, &[], Some(json!({"error": error, "error_description": description})))
    };
    match form.get("grant_type").map(String::as_str) {
        Some("clientkey") => {}
        Some(_) => return refused("unsupported_grant_type", "The grant type is not supported."),
        None => return refused("invalid_request", "The mandatory 'grant_type' parameter is missing."),
    }
    if form.get("clientkey").map(String::as_str) != Some(CLIENT_KEY) {
        return refused("invalid_grant", "The client key is invalid.");
    }
    let token = format!("ss-{}", uuid::Uuid::now_v7().simple());
    let lifetime = state.token_lifetime;
    state.tokens.insert(token.clone(), Instant::now() + lifetime);
    respond(
        StatusCode::OK,
        &[],
        Some(json!({"access_token": token, "token_type": "bearer", "expires_in": lifetime.as_secs()})),
    )
}

/// The API gateway's and the API's checks every call goes through, in their order: the subscription
/// key, the rate limit, the bearer token. The refusal, when one fails.
fn refuse(
    state: &Mutex<State>,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    call: String,
) -> Option<Response<Body>> {
    let mut state = state.lock().unwrap();
    state.requests.push(call);
    let key = headers
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query.get("subscription-key").cloned());
    let gateway = |status: StatusCode, message: String| {
        respond(status, &[], Some(json!({"statusCode": status.as_u16(), "message": message})))
    };
    match key.as_deref() {
        None => return Some(gateway(StatusCode::UNAUTHORIZED, MISSING_KEY.into())),
        Some(SUBSCRIPTION_KEY) => {}
        Some(_) => return Some(gateway(StatusCode::UNAUTHORIZED, INVALID_KEY.into())),
    }
    if let Some(limit) = state.limit {
        let now = Instant::now();
        let (started, calls) = match state.window {
            Some((started, calls)) if now < started + limit.window => (started, calls),
            _ => (now, 0),
        };
        if calls >= limit.calls {
            let wait = (started + limit.window - now).as_secs_f64().ceil().max(1.0) as u64;
            state.refused_for_rate += 1;
            return Some(respond(
                StatusCode::TOO_MANY_REQUESTS,
                &[("retry-after", wait.to_string())],
                Some(
                    json!({"statusCode": 429, "message": format!("Rate limit is exceeded. Try again in {wait} seconds.")}),
                ),
            ));
        }
        state.window = Some((started, calls + 1));
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    match bearer.and_then(|token| state.tokens.get(token)) {
        Some(until) if Instant::now() < *until => None,
        _ => Some(respond(StatusCode::UNAUTHORIZED, &[], Some(json!({"Message": DENIED})))),
    }
}

fn bad_request(code: &str, message: &str) -> Response<Body> {
    respond(StatusCode::BAD_REQUEST, &[], Some(json!([{"errorCode": code, "message": message}])))
}

fn call(path: &str, query: &HashMap<String, String>) -> String {
    let mut pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    if pairs.is_empty() { format!("GET {path}") } else { format!("GET {path}?{}", pairs.join("&")) }
}

async fn echo_empty(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    if let Some(refused) = refuse(&state, &headers, &query, call("/v2/echo/", &query)) {
        return refused;
    }
    respond(StatusCode::NO_CONTENT, &[], None)
}

async fn echo(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(input): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    if let Some(refused) = refuse(&state, &headers, &query, call(&format!("/v2/echo/{input}"), &query)) {
        return refused;
    }
    respond(StatusCode::OK, &[], Some(Value::String(input)))
}

async fn company_info(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    if let Some(refused) = refuse(&state, &headers, &query, call("/v2/companyInfo", &query)) {
        return refused;
    }
    respond(
        StatusCode::OK,
        &[],
        Some(
            json!({"administratieNaam": "Bakkerij De Korenschoof", "kvkNummer": "69599068", "btwNummer": "NL001234567B01"}),
        ),
    )
}

async fn relaties(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    if let Some(refused) = refuse(&state, &headers, &query, call("/v2/relaties", &query)) {
        return refused;
    }
    let mut state = state.lock().unwrap();
    let State { relaties, matching, .. } = &mut *state;
    list("relaties", relaties, matching, &query)
}

async fn relatie(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    if let Some(refused) = refuse(&state, &headers, &query, call(&format!("/v2/relaties/{id}"), &query)) {
        return refused;
    }
    match state.lock().unwrap().relaties.iter().find(|r| r["id"] == id.as_str()) {
        Some(found) => respond(StatusCode::OK, &[], Some(found.clone())),
        None => respond(StatusCode::NOT_FOUND, &[], Some(json!({"Message": format!("Relatie {id} niet gevonden.")}))),
    }
}

async fn verkoopfacturen(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    if let Some(refused) = refuse(&state, &headers, &query, call("/v2/verkoopfacturen", &query)) {
        return refused;
    }
    let mut state = state.lock().unwrap();
    let State { verkoopfacturen, matching, .. } = &mut *state;
    list("verkoopfacturen", verkoopfacturen, matching, &query)
}

async fn not_found() -> Response<Body> {
    respond(StatusCode::NOT_FOUND, &[], Some(json!({"statusCode": 404, "message": "Resource not found"})))
}

/// One page of a list: `$filter` (only `ModifiedOn gt datetime'…'`), then `$skip` and `$top`.
fn list(
    which: &'static str,
    records: &[Value],
    matching: &mut HashMap<(&'static str, Option<String>), Vec<usize>>,
    query: &HashMap<String, String>,
) -> Response<Body> {
    let top = match query.get("$top").map(|t| t.parse::<usize>()) {
        None => 500,
        Some(Ok(top)) if (1..=500).contains(&top) => top,
        Some(_) => return bad_request("OData-TopOutOfRange", "$top moet tussen 1 en 500 liggen."),
    };
    let skip = match query.get("$skip").map(|s| s.parse::<usize>()) {
        None => 0,
        Some(Ok(skip)) => skip,
        Some(Err(_)) => return bad_request("OData-InvalidSkip", "$skip moet een geheel getal zijn."),
    };
    let since = match query.get("$filter") {
        None => None,
        Some(filter) => match modified_since(filter) {
            Some(since) => Some(since),
            None => {
                return bad_request("OData-InvalidFilter", &format!("Het filter '{filter}' wordt niet ondersteund."));
            }
        },
    };
    // Only the page is copied, from the records the filter selected (found once per filter while no
    // record changes).
    let selected = matching.entry((which, query.get("$filter").cloned())).or_insert_with(|| {
        records
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                since.is_none_or(|since| parse_time(r["modifiedOn"].as_str().unwrap_or_default()) > Some(since))
            })
            .map(|(at, _)| at)
            .collect()
    });
    let page: Vec<Value> = selected.iter().skip(skip).take(top).map(|at| records[*at].clone()).collect();
    respond(StatusCode::OK, &[], Some(Value::Array(page)))
}

/// `ModifiedOn gt datetime'2017-07-16T23:59:59.999'`: field names are UpperCamelCase and
/// case-sensitive, as at SnelStart.
fn modified_since(filter: &str) -> Option<NaiveDateTime> {
    let literal = filter.strip_prefix("ModifiedOn gt datetime'")?.strip_suffix('\'')?;
    parse_time(literal)
}

fn parse_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|t| t.naive_utc()))
}
