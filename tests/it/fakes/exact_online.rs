//! A fake Exact Online (`../shared/REMOTES.md`), the OAuth2 server and the REST API on one port.
//!
//! - `GET /api/oauth2/auth?client_id&redirect_uri&response_type=code&state`: the sign-in page. Koppel
//!   never calls it; a test plays the browser: the fake "signs in" at once and answers 302 to
//!   `redirect_uri?code=…&state=…`.
//! - `POST /api/oauth2/token` (a form with `client_id`, `client_secret`): `grant_type=authorization_code`
//!   (a code is single use and lives 3 minutes, its `redirect_uri` must match) or
//!   `grant_type=refresh_token`. Refresh tokens are single use: a used one is void (401
//!   `unauthorized_client` "Old refresh token used."); refreshing before 95 % of the access token's
//!   life (570 s of 600) is 400 `access_denied` with `Reason: TooEarlyToRefreshTokens`. `expires_in` is
//!   a string (`"600"`); the lifetime can be shortened by the test.
//! - `GET /api/v1/current/Me` and `/api/v1/{division}/{crm/Accounts,logistics/Items,salesorder/SalesOrders}` (OData: `$top`, `$select`,
//!   `$skiptoken`, pages of 60 with `__next`) with `Authorization: Bearer`: a missing or unknown token is
//!   401 with an HTML "Object moved" page, an expired one 401 with `WWW-Authenticate` "access token
//!   expired", another division 403 with `Reason: NoDivisionAccess`; without `Accept: application/json`
//!   the answer is XML.
//! - Rate limits per app and company: minutely (on the clock minute; the test may shrink the window) and
//!   daily (midnight UTC), `X-RateLimit-{Limit,Remaining,Reset}` and
//!   `X-RateLimit-Minutely-{Limit,Remaining,Reset}` with resets in epoch milliseconds; a 429 has an empty
//!   body and only the headers of the limit hit.
//!
//! Records (Accounts, Items, SalesOrders) live in the fake's state, for endpoints to come. The writes
//! of the order push are in `records`, those of the product push (items, item groups) in `item_writes`.

mod item_writes;
mod odata;
mod records;

use super::FakeRemote;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State as Shared};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::routing::{get, post, put};
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The app registered in Exact's App Center that the tests use.
pub const CLIENT_ID: &str = "8f2f6a4e-3c1d-4b7a-9e55-0d2c1b6a7f90";
pub const CLIENT_SECRET: &str = "Xq7rT2mVb9KpL4sW";
/// The division of the signed-in user.
pub const DIVISION: i64 = 1_234_567;

const OBJECT_MOVED: &str = "<html><head><title>Object moved</title></head><body>\n<h2>Object moved to <a href=\"/api/oauth2/auth\">here</a>.</h2>\n</body></html>";

struct AccessToken {
    issued: Instant,
    expires: Instant,
    used: bool,
    /// Given by a refresh (not by a code).
    refreshed: bool,
}

struct RefreshToken {
    /// The access token given with it: a refresh is allowed from 95 % of its life.
    access: String,
    void: bool,
}

struct Code {
    issued: Instant,
    redirect_uri: String,
    used: bool,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    minutely: u32,
    daily: u32,
    window: Duration,
}

/// What a test reads of the fake's token traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TokenCounts {
    pub codes_exchanged: u32,
    pub refreshes: u32,
    pub old_refresh_token_used: u32,
    pub too_early: u32,
    /// Access tokens from a refresh that were then used for the first time.
    pub first_uses: u32,
}

struct State {
    lifetime: Duration,
    codes: HashMap<String, Code>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshToken>,
    counts: TokenCounts,
    limits: Limits,
    /// (window index, calls) and (day, calls).
    minute: (i64, u32),
    day: (i64, u32),
    rate_limited: u32,
    requests: Vec<String>,
    accounts: Vec<Value>,
    items: Vec<Value>,
    sales_orders: Vec<Value>,
    contacts: Vec<Value>,
    item_groups: Vec<Value>,
    /// The Sync API: the last `Timestamp` given (every change takes the next), `sync/Deleted`'s rows,
    /// and its page size (1000; a test may shrink it).
    timestamp: i64,
    deleted: Vec<Value>,
    sync_page: usize,
    /// The next sales order is stored, but its answer is lost (a 500), as when a connection breaks
    /// after Exact took the order.
    lose_next_order_answer: bool,
}

impl State {
    fn tick(&mut self) -> i64 {
        self.timestamp += 1;
        self.timestamp
    }

    /// A row of `sync/Deleted` for the record `id` of `entity_type` (2 accounts, 9 items), with the next
    /// `Timestamp`.
    fn record_deletion(&mut self, id: &str, entity_type: i64) {
        let row = json!({
            "Timestamp": self.tick(), "DeletedBy": "b2c3d4e5-0000-4000-8000-000000000001",
            "DeletedDate": format!("/Date({})/", Utc::now().timestamp_millis()), "Division": DIVISION,
            "EntityKey": id, "EntityType": entity_type, "ID": uuid::Uuid::new_v4().to_string(),
        });
        self.deleted.push(row);
    }
}

/// The fake's handle; it stops when dropped.
pub struct ExactOnline {
    remote: FakeRemote,
    state: Arc<Mutex<State>>,
}

pub async fn exact_online() -> ExactOnline {
    let state = Arc::new(Mutex::new(State {
        lifetime: Duration::from_secs(600),
        codes: HashMap::new(),
        access: HashMap::new(),
        refresh: HashMap::new(),
        counts: TokenCounts::default(),
        limits: Limits { minutely: 60, daily: 5000, window: Duration::from_secs(60) },
        minute: (0, 0),
        day: (0, 0),
        rate_limited: 0,
        requests: Vec::new(),
        accounts: Vec::new(),
        items: Vec::new(),
        sales_orders: Vec::new(),
        contacts: Vec::new(),
        item_groups: Vec::new(),
        timestamp: 1000,
        deleted: Vec::new(),
        sync_page: 1000,
        lose_next_order_answer: false,
    }));
    let app = Router::new()
        .route("/api/oauth2/auth", get(authorize))
        .route("/api/oauth2/token", post(token))
        .route("/api/v1/current/Me", get(me))
        .route("/api/v1/{division}/crm/Accounts", get(accounts).post(records::create_account))
        .route("/api/v1/{division}/crm/{record}", put(records::update_record))
        .route("/api/v1/{division}/crm/Contacts", get(records::contacts).post(records::create_contact))
        .route("/api/v1/{division}/logistics/Items", get(items).post(item_writes::create_item))
        .route("/api/v1/{division}/logistics/{record}", put(item_writes::update_item))
        .route(
            "/api/v1/{division}/logistics/ItemGroups",
            get(item_writes::item_groups).post(item_writes::create_item_group),
        )
        .route("/api/v1/{division}/sync/Logistics/Items", get(sync_items))
        .route("/api/v1/{division}/salesorder/SalesOrders", get(sales_orders).post(records::create_sales_order))
        .route("/api/v1/{division}/sync/CRM/Accounts", get(sync_accounts))
        .route("/api/v1/{division}/sync/Deleted", get(sync_deleted))
        .fallback(not_found)
        .with_state(state.clone());
    ExactOnline { remote: FakeRemote::serve(app).await, state }
}

fn random(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

impl ExactOnline {
    /// The region host an integration's base URL points at (`https://start.exactonline.nl` for real).
    pub fn base_url(&self) -> String {
        self.remote.base_url()
    }

    /// Access tokens given from now on live this long (Exact's: 600 s); refreshing is allowed from 95 %.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state.lock().unwrap().lifetime = lifetime;
    }

    /// Every access token expires now, as if its ten minutes had passed (a refresh is allowed).
    pub fn expire_access_tokens(&self) {
        let mut state = self.state.lock().unwrap();
        let (now, lifetime) = (Instant::now(), state.lifetime);
        for token in state.access.values_mut() {
            token.expires = now;
            token.issued = now.checked_sub(lifetime).unwrap_or(token.issued);
        }
    }

    /// Voids every refresh token (as when the user revokes the app at Exact).
    pub fn void_refresh_tokens(&self) {
        self.state.lock().unwrap().refresh.values_mut().for_each(|r| r.void = true);
    }

    /// At most `minutely` calls per `window` (Exact's: 60 a minute, on the clock minute) and `daily` a day.
    pub fn limit_rate(&self, minutely: u32, daily: u32, window: Duration) {
        let mut state = self.state.lock().unwrap();
        state.limits = Limits { minutely, daily, window };
        state.minute = (0, 0);
        state.day = (0, 0);
    }

    /// Every access and refresh token handed out, to look for them where they must not be.
    pub fn tokens_issued(&self) -> Vec<String> {
        let state = self.state.lock().unwrap();
        state.access.keys().chain(state.refresh.keys()).cloned().collect()
    }

    pub fn token_counts(&self) -> TokenCounts {
        self.state.lock().unwrap().counts
    }

    /// How many API calls were refused with 429.
    pub fn rate_limited(&self) -> u32 {
        self.state.lock().unwrap().rate_limited
    }

    /// `METHOD path?query` of every API call (not OAuth's), answered or not.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Adds or replaces an account (by `ID`); it gets the next Sync API `Timestamp`.
    pub fn put_account(&self, mut account: Value) {
        let mut state = self.state.lock().unwrap();
        state.timestamp += 1;
        account["Timestamp"] = state.timestamp.into();
        match state.accounts.iter_mut().find(|a| a["ID"] == account["ID"]) {
            Some(existing) => *existing = account,
            None => state.accounts.push(account),
        }
    }

    /// Adds or replaces an item (`logistics/Items`, by `ID`), with a new `Timestamp` (so the Sync API lists
    /// it again).
    pub fn put_item(&self, mut item: Value) {
        let mut state = self.state.lock().unwrap();
        item["Timestamp"] = json!(state.tick());
        match state.items.iter_mut().find(|i| i["ID"] == item["ID"]) {
            Some(existing) => *existing = item,
            None => state.items.push(item),
        }
    }

    /// Deletes an item: `sync/Deleted` gets a row of EntityType 9 with the next `Timestamp`.
    pub fn remove_item(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        state.items.retain(|i| i["ID"] != id);
        state.record_deletion(id, 9);
    }

    /// Rows per Sync API page (Exact's: 1000), smaller to see paging.
    pub fn set_sync_page(&self, rows: usize) {
        self.state.lock().unwrap().sync_page = rows.max(1);
    }

    /// The accounts as Exact keeps them now.
    pub fn accounts(&self) -> Vec<Value> {
        self.state.lock().unwrap().accounts.clone()
    }

    /// The contact persons as Exact keeps them now.
    pub fn contacts(&self) -> Vec<Value> {
        self.state.lock().unwrap().contacts.clone()
    }

    /// Deletes an account: `sync/Deleted` gets a row of EntityType 2 with the next `Timestamp`.
    pub fn delete_account(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        state.accounts.retain(|a| a["ID"] != id);
        state.record_deletion(id, 2);
    }

    /// The last Sync API `Timestamp` given.
    pub fn last_timestamp(&self) -> i64 {
        self.state.lock().unwrap().timestamp
    }

    /// Adds a sales order (`salesorder/SalesOrders`, key `OrderID`).
    pub fn put_sales_order(&self, order: Value) {
        self.state.lock().unwrap().sales_orders.push(order);
    }

    /// Stores the next sales order but answers 500, as when the answer is lost on the way back.
    pub fn lose_next_order_answer(&self) {
        self.state.lock().unwrap().lose_next_order_answer = true;
    }

    /// The sales orders as Exact keeps them now, with their lines.
    pub fn sales_orders(&self) -> Vec<Value> {
        self.state.lock().unwrap().sales_orders.clone()
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

fn oauth_error(status: StatusCode, error: &str, description: &str, headers: &[(&str, String)]) -> Response<Body> {
    respond(status, headers, Some(json!({"error": error, "error_description": description})))
}

/// `GET /api/oauth2/auth`: the user signs in and allows the app; back to `redirect_uri` with a code.
async fn authorize(
    Shared(state): Shared<Arc<Mutex<State>>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response<Body> {
    if query.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || query.get("response_type").map(String::as_str) != Some("code")
    {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("content-type", "text/html")
            .body(Body::from("<html><body>The client_id or response_type is not valid.</body></html>"))
            .unwrap();
    }
    let Some(redirect_uri) = query.get("redirect_uri").cloned() else {
        return respond(StatusCode::BAD_REQUEST, &[], None);
    };
    let code = random("code-");
    state
        .lock()
        .unwrap()
        .codes
        .insert(code.clone(), Code { issued: Instant::now(), redirect_uri: redirect_uri.clone(), used: false });
    let mut location = url::Url::parse(&redirect_uri).expect("a redirect URI");
    location.query_pairs_mut().append_pair("code", &code);
    if let Some(s) = query.get("state") {
        location.query_pairs_mut().append_pair("state", s);
    }
    Response::builder().status(StatusCode::FOUND).header("location", location.as_str()).body(Body::empty()).unwrap()
}

/// `POST /api/oauth2/token`.
async fn token(Shared(state): Shared<Arc<Mutex<State>>>, body: String) -> Response<Body> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    if field("client_id") != Some(CLIENT_ID) || field("client_secret") != Some(CLIENT_SECRET) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_client", "The client credentials are invalid.", &[]);
    }
    let mut state = state.lock().unwrap();
    let now = Instant::now();
    match field("grant_type") {
        Some("authorization_code") => {
            let redirect = field("redirect_uri").unwrap_or_default().to_owned();
            let Some(code) = field("code").and_then(|c| state.codes.get_mut(c)) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code is invalid.",
                    &[],
                );
            };
            if code.used || now > code.issued + Duration::from_secs(180) || code.redirect_uri != redirect {
                code.used = true;
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code is invalid or expired.",
                    &[],
                );
            }
            code.used = true;
            state.counts.codes_exchanged += 1;
            issue(&mut state, false)
        }
        Some("refresh_token") => {
            let lifetime = state.lifetime;
            let given = field("refresh_token").unwrap_or_default().to_owned();
            let Some(refresh) = state.refresh.get(&given) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "The refresh token is invalid.", &[]);
            };
            if refresh.void {
                state.counts.old_refresh_token_used += 1;
                return oauth_error(StatusCode::UNAUTHORIZED, "unauthorized_client", "Old refresh token used.", &[]);
            }
            let issued = state.access.get(&refresh.access).map(|a| a.issued).unwrap_or(now - lifetime);
            if now < issued + lifetime.mul_f64(0.95) {
                state.counts.too_early += 1;
                let reason = "TooEarlyToRefreshTokens: the access token has not expired yet".to_owned();
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "access_denied",
                    "Rate limit exceeded: access_token not expired",
                    &[("Reason", reason)],
                );
            }
            state.refresh.get_mut(&given).expect("found above").void = true;
            state.counts.refreshes += 1;
            issue(&mut state, true)
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "The grant type is not supported.", &[]),
    }
}

fn issue(state: &mut State, refreshed: bool) -> Response<Body> {
    let now = Instant::now();
    let (access, refresh) = (random("at-"), random("rt-"));
    state
        .access
        .insert(access.clone(), AccessToken { issued: now, expires: now + state.lifetime, used: false, refreshed });
    state.refresh.insert(refresh.clone(), RefreshToken { access: access.clone(), void: false });
    respond(
        StatusCode::OK,
        &[],
        Some(json!({
            "access_token": access, "token_type": "bearer", "refresh_token": refresh,
            "expires_in": state.lifetime.as_secs().max(1).to_string(),
        })),
    )
}

fn call(path: &str, query: &HashMap<String, String>) -> String {
    let mut pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    if pairs.is_empty() { format!("GET {path}") } else { format!("GET {path}?{}", pairs.join("&")) }
}

/// The checks every API call goes through, in order: the token, the rate limits, the division. The
/// refusal when one fails, else the rate-limit headers to answer with.
#[allow(clippy::result_large_err)]
fn admit(
    state: &Mutex<State>,
    headers: &HeaderMap,
    division: Option<i64>,
    call: String,
) -> Result<Vec<(&'static str, String)>, Response<Body>> {
    let mut state = state.lock().unwrap();
    state.requests.push(call);
    let now = Instant::now();
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or_default()
        .to_owned();
    let Some(token) = state.access.get_mut(&bearer) else {
        return Err(Response::builder()
            .status(StatusCode::UNAUTHORIZED)
            .header("content-type", "text/html; charset=utf-8")
            .body(Body::from(OBJECT_MOVED))
            .unwrap());
    };
    if now >= token.expires {
        return Err(respond(
            StatusCode::UNAUTHORIZED,
            &[(
                "WWW-Authenticate",
                "Bearer error=\"invalid_token\", error_description=\"access token expired\"".into(),
            )],
            None,
        ));
    }
    if !token.used {
        token.used = true;
        if token.refreshed {
            state.counts.first_uses += 1;
        }
    }
    // The rate limits: the minute on the clock (or the test's window), the day in UTC.
    let now_ms = Utc::now().timestamp_millis();
    let limits = state.limits;
    let window_ms = limits.window.as_millis().max(1) as i64;
    let (minute, day) = (now_ms / window_ms, now_ms / 86_400_000);
    if state.minute.0 != minute {
        state.minute = (minute, 0);
    }
    if state.day.0 != day {
        state.day = (day, 0);
    }
    let minutely_reset = ((minute + 1) * window_ms).to_string();
    let daily_reset = ((day + 1) * 86_400_000).to_string();
    if state.day.1 >= limits.daily {
        state.rate_limited += 1;
        return Err(respond(
            StatusCode::TOO_MANY_REQUESTS,
            &[
                ("X-RateLimit-Limit", limits.daily.to_string()),
                ("X-RateLimit-Remaining", "0".into()),
                ("X-RateLimit-Reset", daily_reset),
            ],
            None,
        ));
    }
    if state.minute.1 >= limits.minutely {
        state.rate_limited += 1;
        return Err(respond(
            StatusCode::TOO_MANY_REQUESTS,
            &[
                ("X-RateLimit-Minutely-Limit", limits.minutely.to_string()),
                ("X-RateLimit-Minutely-Remaining", "0".into()),
                ("X-RateLimit-Minutely-Reset", minutely_reset),
            ],
            None,
        ));
    }
    state.minute.1 += 1;
    state.day.1 += 1;
    let rate_headers = vec![
        ("X-RateLimit-Limit", limits.daily.to_string()),
        ("X-RateLimit-Remaining", (limits.daily - state.day.1).to_string()),
        ("X-RateLimit-Reset", daily_reset),
        ("X-RateLimit-Minutely-Limit", limits.minutely.to_string()),
        ("X-RateLimit-Minutely-Remaining", (limits.minutely - state.minute.1).to_string()),
        ("X-RateLimit-Minutely-Reset", minutely_reset),
    ];
    if division.is_some_and(|d| d != DIVISION) {
        return Err(respond(
            StatusCode::FORBIDDEN,
            &[("Reason", "NoDivisionAccess".into())],
            Some(json!({"error": {"code": "", "message": {"lang": "", "value": "Forbidden"}}})),
        ));
    }
    Ok(rate_headers)
}

/// JSON when asked for it, else XML (Exact's default).
fn answer(headers: &HeaderMap, rate: Vec<(&'static str, String)>, body: Value) -> Response<Body> {
    let wants_json =
        headers.get("accept").and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
    if wants_json {
        return respond(StatusCode::OK, &rate, Some(body));
    }
    let mut response = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/atom+xml;type=feed;charset=utf-8");
    for (name, value) in rate {
        response = response.header(name, value);
    }
    response
        .body(Body::from(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"></feed>",
        ))
        .unwrap()
}

async fn me(Shared(state): Shared<Arc<Mutex<State>>>, headers: HeaderMap) -> Response<Body> {
    let rate = match admit(&state, &headers, None, "GET /api/v1/current/Me".into()) {
        Ok(rate) => rate,
        Err(refused) => return refused,
    };
    let me = json!({
        "__metadata": {"uri": "https://start.exactonline.nl/api/v1/current/Me(guid'b2c3')", "type": "Exact.Web.Api.System.Me"},
        "CurrentDivision": DIVISION, "FullName": "Jan Jansen", "UserName": "jan@bakkerij.nl",
        "UserID": "b2c3d4e5-0000-4000-8000-000000000001", "Email": "jan@bakkerij.nl", "LanguageCode": "nl-NL",
    });
    answer(&headers, rate, json!({"d": {"results": [me]}}))
}

/// `crm/Accounts`, `logistics/Items`, `salesorder/SalesOrders`: pages of 60 (or `$top`), `__next` with a
/// `$skiptoken` of the last ID.
async fn accounts(
    state: Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    query: Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/crm/Accounts");
    collection(state, headers, division, query, uri, path, "Account", "ID", |s| s.accounts.clone()).await
}

async fn items(
    state: Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    query: Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/logistics/Items");
    collection(state, headers, division, query, uri, path, "Item", "ID", |s| s.items.clone()).await
}

async fn sales_orders(
    state: Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    query: Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/salesorder/SalesOrders");
    collection(state, headers, division, query, uri, path, "SalesOrder", "OrderID", |s| s.sales_orders.clone()).await
}

#[allow(clippy::too_many_arguments)]
async fn collection(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    division: String,
    Query(query): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
    path: String,
    type_name: &str,
    key: &str,
    records: fn(&State) -> Vec<Value>,
) -> Response<Body> {
    let Ok(division) = division.parse::<i64>() else { return not_found().await };
    let rate = match admit(&state, &headers, Some(division), call(&path, &query)) {
        Ok(rate) => rate,
        Err(refused) => return refused,
    };
    let records = match records::filtered(records(&state.lock().unwrap()), &query) {
        Ok(records) => records,
        Err(refused) => return refused,
    };
    let top = query.get("$top").and_then(|t| t.parse::<usize>().ok()).unwrap_or(60).min(60);
    let after = query.get("$skiptoken").map(|t| t.trim_start_matches("guid'").trim_end_matches('\'').to_owned());
    let start = after.and_then(|id| records.iter().position(|r| r[key] == id.as_str()).map(|i| i + 1)).unwrap_or(0);
    let page: Vec<Value> = records
        .iter()
        .skip(start)
        .take(top)
        .cloned()
        .map(|mut r| {
            let id = r[key].as_str().unwrap_or_default().to_owned();
            r["__metadata"] = json!({
                "uri": format!("https://start.exactonline.nl{path}(guid'{id}')"),
                "type": format!("Exact.Web.Api.Models.{type_name}"),
            });
            records::select(r, &query)
        })
        .collect();
    let mut d = json!({"results": page});
    // `$top` asks for that many and no more: no next link then.
    if !query.contains_key("$top") && start + page_len(&d) < records.len() {
        let last = records[start + page_len(&d) - 1][key].as_str().unwrap_or_default().to_owned();
        d["__next"] = records::next_link(&headers, &uri, &query, &format!("guid'{last}'")).into();
    }
    answer(&headers, rate, json!({"d": d}))
}

fn page_len(d: &Value) -> usize {
    d["results"].as_array().map_or(0, Vec::len)
}

async fn not_found() -> Response<Body> {
    respond(
        StatusCode::NOT_FOUND,
        &[],
        Some(json!({"error": {"code": "", "message": {"lang": "", "value": "Resource not found"}}})),
    )
}

/// `sync/CRM/Accounts`: the accounts changed after `$filter=Timestamp gt N` (`N` or `NL`), in
/// `Timestamp` order, pages of 1000 with a `__next` that goes on after the page's last Timestamp; only
/// the `$select`ed fields; without `$select` 400. An account added without a Timestamp (by a POST of
/// endpoints to come) gets one when first read.
async fn sync_accounts(
    state: Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    query: Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/sync/CRM/Accounts");
    sync_collection(state, headers, division, query, uri, path, "Account", |s| {
        for account in s.accounts.iter_mut() {
            if account.get("Timestamp").is_none() {
                s.timestamp += 1;
                account["Timestamp"] = s.timestamp.into();
            }
        }
        s.accounts.clone()
    })
    .await
}

/// `sync/Logistics/Items`: the items changed after the Timestamp (each `put_item` stamps a new one).
async fn sync_items(
    state: Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    query: Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/sync/Logistics/Items");
    sync_collection(state, headers, division, query, uri, path, "Item", |s| s.items.clone()).await
}

/// `sync/Deleted`: the deletions after the Timestamp, paged like `sync/CRM/Accounts`.
async fn sync_deleted(
    state: Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    Path(division): Path<String>,
    query: Query<HashMap<String, String>>,
    uri: axum::http::Uri,
) -> Response<Body> {
    let path = format!("/api/v1/{division}/sync/Deleted");
    sync_collection(state, headers, division, query, uri, path, "Deleted", |s| s.deleted.clone()).await
}

#[allow(clippy::too_many_arguments)]
async fn sync_collection(
    Shared(state): Shared<Arc<Mutex<State>>>,
    headers: HeaderMap,
    division: String,
    Query(query): Query<HashMap<String, String>>,
    uri: axum::http::Uri,
    path: String,
    type_name: &str,
    records: fn(&mut State) -> Vec<Value>,
) -> Response<Body> {
    let Ok(division) = division.parse::<i64>() else { return not_found().await };
    let rate = match admit(&state, &headers, Some(division), call(&path, &query)) {
        Ok(rate) => rate,
        Err(refused) => return refused,
    };
    let Some(select) = query.get("$select").filter(|s| !s.is_empty()) else {
        return records::error(StatusCode::BAD_REQUEST, records::SELECT_REQUIRED);
    };
    let fields: Vec<&str> = select.split(',').map(str::trim).collect();
    let since = match query.get("$filter").map(|f| f.trim()) {
        None => 0,
        Some(filter) => match filter
            .strip_prefix("Timestamp gt ")
            .map(|n| n.trim().trim_end_matches('L'))
            .and_then(|n| n.parse::<i64>().ok())
        {
            Some(since) => since,
            None => return records::error(StatusCode::BAD_REQUEST, &format!("Invalid filter: {filter}")),
        },
    };
    let (mut rows, size) = {
        let mut state = state.lock().unwrap();
        (records(&mut state), state.sync_page)
    };
    // A next page goes on after the last Timestamp of the page before (`$skiptoken`).
    let after = query.get("$skiptoken").and_then(|t| t.trim_end_matches('L').parse::<i64>().ok()).unwrap_or(since);
    rows.retain(|r| r["Timestamp"].as_i64().unwrap_or(0) > after.max(since));
    rows.sort_by_key(|r| r["Timestamp"].as_i64().unwrap_or(0));
    let more = rows.len() > size;
    rows.truncate(size);
    let last = rows.last().and_then(|r| r["Timestamp"].as_i64()).unwrap_or(after);
    let page: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            let mut out = json!({"__metadata": {
                "uri": format!("https://start.exactonline.nl{path}({})", row["Timestamp"]),
                "type": format!("Exact.Web.Api.Models.Sync.{type_name}"),
            }});
            for field in &fields {
                out[*field] = row.get(*field).cloned().unwrap_or(Value::Null);
            }
            out
        })
        .collect();
    let mut d = json!({"results": page});
    if more {
        d["__next"] = records::next_link(&headers, &uri, &query, &format!("{last}L")).into();
    }
    answer(&headers, rate, json!({"d": d}))
}
