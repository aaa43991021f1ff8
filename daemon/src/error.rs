//! Errors of engine work (imports, reconcile passes, alert webhook deliveries, jobs).
//!
//! Policy (after crates.io's `util/errors.rs` and kube-rs's controller errors): engine functions return
//! [`EngineError`], never `anyhow`; each variant says whether a retry can help ([`EngineError::is_permanent`]),
//! how long the remote asked to wait ([`EngineError::retry_after`]) and a stable label for metrics
//! ([`EngineError::label`]). Records that cannot be stored are data ([`Rejected`]): which record, which
//! field, why; the API shows them as `userErrors`, a job records them. `anyhow` is for the binary only.

use crate::connectors::ConnectorError;
use crate::net::AddressError;
use crate::problems::Rejected;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Remote(#[from] ConnectorError),
    /// What the remote sent (or what was asked for) cannot be stored.
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A run of an entity the engine has no pass for (yet): retrying cannot help.
    #[error("Koppel has no {0} pass yet")]
    NoPass(koppel_entity::enums::LinkedEntity),
    /// An alert webhook's receiver did not take the alert.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The file store failed (disk, object storage).
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Why an alert webhook delivery failed (timeouts and unreachable receivers are [`ConnectorError`]s).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// The receiver answered, but not with 2xx. 408, 429 and 5xx are worth trying again (after
    /// `Retry-After` on 429 and 503); any other 4xx says the request itself is refused.
    #[error("the receiver answered HTTP {status}")]
    Status { status: u16, retry_after: Option<Duration> },
    /// The webhook's URL is refused by the SSRF guard (e.g. private remotes are no longer allowed).
    #[error("the alert webhook's URL {0}")]
    Address(AddressError),
    #[error("the alert webhook's secret cannot be decrypted with the master key")]
    Secret,
}

/// Why the file store failed (see the `files` module).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// Reading or writing the backend failed (disk, network); worth trying again.
    #[error("file storage failed: {0}")]
    Backend(String),
    /// The stored bytes do not have the hash they are stored under.
    #[error("the stored object {0} is damaged (its content does not match its SHA-256)")]
    Corrupt(String),
    /// Not a SHA-256 in lower-case hex.
    #[error("{0:?} is not an object key")]
    BadKey(String),
}

impl DeliveryError {
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Status { status, .. } => (400..500).contains(status) && !matches!(status, 408 | 429),
            Self::Address(_) | Self::Secret => true,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Status { .. } if self.is_permanent() => "RECEIVER_REFUSED",
            Self::Status { .. } => "RECEIVER_FAILED",
            Self::Address(_) => "ADDRESS_REFUSED",
            Self::Secret => "CONFIGURATION",
        }
    }
}

impl EngineError {
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Remote(error) => error.is_permanent(),
            Self::Rejected(_) | Self::NoPass(_) => true,
            Self::Database(_) | Self::Storage(_) => false,
            Self::Delivery(error) => error.is_permanent(),
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Remote(error) => error.retry_after(),
            Self::Delivery(error) => error.retry_after(),
            _ => None,
        }
    }

    /// A stable label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Remote(error) => error.code(),
            Self::Rejected(_) => "REJECTED",
            Self::Database(_) => "DATABASE",
            Self::NoPass(_) => "NO_PASS",
            Self::Delivery(error) => error.code(),
            Self::Storage(_) => "STORAGE",
        }
    }
}

pub type EngineResult<T> = Result<T, EngineError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problems::{Problem, ProblemCode};

    #[test]
    fn permanence_and_retry_after() {
        let busy = EngineError::from(ConnectorError::RateLimited { retry_after_seconds: 30 });
        assert!(!busy.is_permanent());
        assert_eq!(busy.retry_after(), Some(std::time::Duration::from_secs(30)));
        assert_eq!(busy.label(), "RATE_LIMITED");
        assert!(EngineError::from(ConnectorError::Revoked).is_permanent());
        assert!(!EngineError::from(ConnectorError::Timeout).is_permanent());
        let refused = Rejected(vec![Problem { field: "x".into(), code: ProblemCode::Invalid, message: "bad".into() }]);
        assert!(EngineError::from(refused).is_permanent());
        assert!(!EngineError::from(sea_orm::DbErr::Custom("down".into())).is_permanent());
        let no_pass = EngineError::NoPass(koppel_entity::enums::LinkedEntity::SaleStatus);
        assert!(no_pass.is_permanent());
        assert_eq!(no_pass.label(), "NO_PASS");
        assert_eq!(no_pass.to_string(), "Koppel has no sale_status pass yet");
    }

    #[test]
    fn a_receiver_refusing_is_permanent_and_a_busy_one_is_retried_after_it_asked() {
        let status = |status, retry_after| EngineError::from(DeliveryError::Status { status, retry_after });
        for refused in [400, 401, 403, 404, 410, 422] {
            assert!(status(refused, None).is_permanent(), "{refused}");
            assert_eq!(status(refused, None).label(), "RECEIVER_REFUSED");
        }
        for temporary in [408, 429, 500, 502, 503, 504, 302] {
            assert!(!status(temporary, None).is_permanent(), "{temporary}");
            assert_eq!(status(temporary, None).label(), "RECEIVER_FAILED");
        }
        assert_eq!(status(503, Some(Duration::from_secs(30))).retry_after(), Some(Duration::from_secs(30)));
        assert!(EngineError::from(DeliveryError::Address(AddressError::Private)).is_permanent());
        assert!(EngineError::from(DeliveryError::Secret).is_permanent());
    }
}
