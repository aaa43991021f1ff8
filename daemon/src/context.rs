//! What engine code receives: the database, the master key for credentials, the HTTP client for
//! remotes, the file store and the limits. The API's `AppState` holds one; `koppel daemon` builds its own.

use crate::crypto::MasterKey;
use sea_orm::DatabaseConnection;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Context {
    pub db: DatabaseConnection,
    /// Encrypts and decrypts integration credentials.
    pub master_key: Arc<MasterKey>,
    /// The HTTP client for remotes, with the SSRF guard ([`crate::net::client`]).
    pub http: reqwest::Client,
    /// Where the bytes of attachments and logos live ([`crate::files`]).
    pub files: crate::files::FileStore,
    pub limits: Limits,
    /// What the connectors of one integration share in this process (rate limits, the OAuth refresh).
    pub shared: crate::connectors::shared::SharedByIntegration,
}

/// Operator settings the engine obeys.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Remotes on private and loopback addresses are allowed (tests and the demo only).
    pub allow_private_remotes: bool,
    /// How often the products of an integration that sets no schedule are reconciled
    /// (`KOPPEL_PRODUCT_SYNC_MINUTES`): the schedule queues by it and the API shows it.
    pub product_sync_every: Duration,
    /// The largest file stored (`KOPPEL_MAX_FILE_BYTES`): uploads, and attachments a pass downloads.
    pub max_file_bytes: u64,
    /// The most bytes of files one account stores (`KOPPEL_MAX_ACCOUNT_FILE_BYTES`).
    pub max_account_file_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            allow_private_remotes: false,
            product_sync_every: Duration::from_secs(15 * 60),
            max_file_bytes: 10 * 1024 * 1024,
            max_account_file_bytes: 1024 * 1024 * 1024,
        }
    }
}
