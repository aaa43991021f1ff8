//! What every request and job shares.

use crate::auth::jwt::JwtKeys;
use crate::config::Config;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub jwt: Arc<JwtKeys>,
    /// Signs and checks the download links of files (keyed from the JWT secret).
    pub file_links: Arc<koppel_daemon::files::links::LinkSigner>,
    /// What engine functions receive: the same database, the master key, the HTTP client for remotes.
    pub engine: koppel_daemon::Context,
    /// Requests and login attempts per client, token and user.
    pub limits: Arc<crate::rate_limit::RateLimits>,
    /// The process's one listener of sync events and runs, for subscriptions.
    pub feed: koppel_daemon::feed::Feed,
    /// The process's one listener of changed sales and transmissions, for `saleUpdates`.
    pub sale_feed: koppel_daemon::sale_feed::SaleFeed,
    /// The tokens of live subscriptions, checked again together every few seconds.
    pub sessions: crate::auth::sessions::LiveSessions,
    /// The callers whose tokens were checked lately, forgotten at every change to users or tokens.
    pub auth: Arc<crate::auth::AuthCache>,
    /// Every SQL statement run, for `/metrics`.
    pub statements: Arc<AtomicU64>,
}
