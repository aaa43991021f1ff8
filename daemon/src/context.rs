//! What engine code receives: the database, the master key for credentials, the HTTP client for
//! remotes and the limits. The API's `AppState` holds one; `koppel daemon` builds its own.

use crate::crypto::MasterKey;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

#[derive(Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    /// Encrypts and decrypts integration credentials.
    pub master_key: Arc<MasterKey>,
    /// The HTTP client for remotes, with the SSRF guard ([`crate::net::client`]).
    pub http: reqwest::Client,
    pub limits: Limits,
}

/// Operator settings the engine obeys.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Remotes on private and loopback addresses are allowed (tests and the demo only).
    pub allow_private_remotes: bool,
}
