//! Errors of engine work (imports, reconcile passes, and next jobs and the outbox).
//!
//! Policy (after crates.io's `util/errors.rs` and kube-rs's controller errors): engine functions return
//! [`EngineError`], never `anyhow`; each variant says whether a retry can help ([`EngineError::is_permanent`]),
//! how long the remote asked to wait ([`EngineError::retry_after`]) and a stable label for metrics
//! ([`EngineError::label`]). Records that cannot be stored are data ([`Rejected`]): which record, which
//! field, why; the API shows them as `userErrors`, a job records them. `anyhow` is for the binary only.

use crate::connectors::ConnectorError;
use crate::problems::Rejected;

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
}

impl EngineError {
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Remote(error) => error.is_permanent(),
            Self::Rejected(_) | Self::NoPass(_) => true,
            Self::Database(_) => false,
        }
    }

    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::Remote(error) => error.retry_after(),
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
}
