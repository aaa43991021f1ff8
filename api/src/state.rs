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
    /// Encrypts integration credentials.
    pub master_key: Arc<crate::crypto::MasterKey>,
    /// The HTTP client for remotes, with the SSRF guard.
    pub remotes: reqwest::Client,
    /// Requests and login attempts per client, token and user.
    pub limits: Arc<crate::rate_limit::RateLimits>,
    /// Every SQL statement run, for `/metrics`.
    pub statements: Arc<AtomicU64>,
}
