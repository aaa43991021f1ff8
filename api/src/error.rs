//! Errors at the API's edge.
//!
//! Policy (after crates.io's `util/errors.rs`):
//! - inside the API, service functions return [`ApiError`]; database errors become `Internal`;
//! - validation problems of a mutation are [`UserError`]s collected into `ApiError::Invalid` and returned
//!   in the mutation's payload as `userErrors`, never as top-level errors;
//! - everything else becomes one top-level GraphQL error with a stable `extensions.code`;
//! - internal details are logged with an incident id and never sent to the client;
//! - `anyhow` is only for start-up, the CLI and job bodies.

use async_graphql::{Enum, ErrorExtensions, SimpleObject};
use koppel_daemon::problems::{Problem, Rejected};
use sea_orm::DbErr;

pub use koppel_daemon::problems::Problems;

/// The stable codes of top-level errors, in `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadUserInput,
    NotFound,
    Unauthenticated,
    Forbidden,
    Conflict,
    RateLimited,
    /// A remote system failed or refused; `extensions.remoteCode` says how.
    RemoteError,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::NotFound => "NOT_FOUND",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::Conflict => "CONFLICT",
            Self::RateLimited => "RATE_LIMITED",
            Self::RemoteError => "REMOTE_ERROR",
            Self::Internal => "INTERNAL",
        }
    }
}

/// What a validation problem is, so that clients can react without parsing messages.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "koppel_daemon::problems::ProblemCode")]
pub enum UserErrorCode {
    /// A value is required but missing or empty.
    Required,
    /// A value is malformed or out of range.
    Invalid,
    /// A value is longer than allowed.
    TooLong,
    /// A value is not one of the allowed options.
    NotAnOption,
    /// A referenced record does not exist (in this account).
    NotFound,
    /// The value is already used by another record.
    Taken,
    /// A value is not known (e.g. an extra field or a question that does not exist).
    Unknown,
}

/// One validation problem, naming the field it is about.
#[derive(SimpleObject, Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    /// The input field, as a dotted path from the mutation's input (e.g. `answers.rehousing`).
    pub field: String,
    pub message: String,
    pub code: UserErrorCode,
}

impl UserError {
    pub fn new(field: impl Into<String>, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), code }
    }
}

impl From<Problem> for UserError {
    fn from(problem: Problem) -> Self {
        Self { field: problem.field, message: problem.message, code: problem.code.into() }
    }
}

/// An error of an API operation.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    /// The API token was revoked. `UNAUTHENTICATED` with `extensions.reason` [`REASON_TOKEN_REVOKED`],
    /// so that a peer tells a revoked token from a wrong one without reading the message.
    #[error("this API token has been revoked")]
    TokenRevoked,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    BadUserInput(String),
    #[error("{0}")]
    Conflict(String),
    #[error("validation failed")]
    Invalid(Vec<UserError>),
    #[error("{0}")]
    Remote(koppel_daemon::connectors::ConnectorError),
    #[error("internal error")]
    Internal(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// `extensions.reason` of the error a revoked API token gets (the peer connector reads it).
pub const REASON_TOKEN_REVOKED: &str = "TOKEN_REVOKED";

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated(_) | Self::TokenRevoked => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadUserInput(_) | Self::Invalid(_) => ErrorCode::BadUserInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::Remote(_) => ErrorCode::RemoteError,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// A machine-readable refinement of the code, in `extensions.reason`.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::TokenRevoked => Some(REASON_TOKEN_REVOKED),
            _ => None,
        }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(std::sync::Arc::new(error))
    }

    pub fn forbidden() -> Self {
        Self::Forbidden("you are not allowed to do this".into())
    }

    /// One validation problem.
    pub fn invalid(field: impl Into<String>, code: UserErrorCode, message: impl Into<String>) -> Self {
        Self::Invalid(vec![UserError::new(field, code, message)])
    }
}

impl From<koppel_daemon::connectors::ConnectorError> for ApiError {
    fn from(error: koppel_daemon::connectors::ConnectorError) -> Self {
        Self::Remote(error)
    }
}

impl From<koppel_daemon::error::EngineError> for ApiError {
    fn from(error: koppel_daemon::error::EngineError) -> Self {
        use koppel_daemon::error::EngineError;
        match error {
            EngineError::Remote(remote) => Self::Remote(remote),
            EngineError::Rejected(rejected) => rejected.into(),
            EngineError::Database(db) => db.into(),
        }
    }
}

impl From<Rejected> for ApiError {
    fn from(Rejected(problems): Rejected) -> Self {
        Self::Invalid(problems.into_iter().map(UserError::from).collect())
    }
}

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        // Validation checks uniqueness before writing; a violation here means a concurrent request
        // wrote the same thing first. That is worth a retry, not an incident.
        if matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
            tracing::info!(%error, "unique constraint raced");
            return Self::Conflict("another request changed the same record at the same time; try again".into());
        }
        Self::internal(error)
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(error: ApiError) -> Self {
        let code = error.code();
        let message = match &error {
            ApiError::Internal(source) => {
                let incident = uuid::Uuid::now_v7();
                tracing::error!(%incident, error = %source, "internal error");
                format!("internal error (incident {incident})")
            }
            ApiError::Invalid(errors) => {
                errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ")
            }
            other => other.to_string(),
        };
        let mut gql = async_graphql::Error::new(message);
        gql = gql.extend_with(|_, ext| ext.set("code", code.as_str()));
        if let Some(reason) = error.reason() {
            gql = gql.extend_with(|_, ext| ext.set("reason", reason));
        }
        if let ApiError::Remote(remote) = &error {
            let remote_code = remote.code();
            gql = gql.extend_with(|_, ext| ext.set("remoteCode", remote_code));
        }
        if let ApiError::Invalid(errors) = &error {
            let fields: Vec<async_graphql::Value> =
                errors.iter().map(|e| async_graphql::Value::from(e.field.clone())).collect();
            gql = gql.extend_with(|_, ext| ext.set("fields", fields));
        }
        gql
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(error: ApiError) -> String {
        let gql: async_graphql::Error = error.into();
        let ext = gql.extensions.expect("extensions are always set");
        match ext.get("code") {
            Some(async_graphql::Value::String(code)) => code.clone(),
            other => panic!("no code: {other:?}"),
        }
    }

    #[test]
    fn every_error_carries_its_stable_code() {
        assert_eq!(code_of(ApiError::Unauthenticated("x".into())), "UNAUTHENTICATED");
        assert_eq!(code_of(ApiError::TokenRevoked), "UNAUTHENTICATED");
        assert_eq!(code_of(ApiError::forbidden()), "FORBIDDEN");
        assert_eq!(code_of(ApiError::NotFound("product")), "NOT_FOUND");
        assert_eq!(code_of(ApiError::BadUserInput("x".into())), "BAD_USER_INPUT");
        assert_eq!(code_of(ApiError::invalid("name", UserErrorCode::Required, "required")), "BAD_USER_INPUT");
        assert_eq!(code_of(ApiError::Conflict("x".into())), "CONFLICT");
        assert_eq!(code_of(DbErr::Custom("secret detail".into()).into()), "INTERNAL");
    }

    #[test]
    fn internal_details_are_not_sent() {
        let gql: async_graphql::Error = ApiError::from(DbErr::Custom("password=hunter2".into())).into();
        assert!(!gql.message.contains("hunter2"), "{}", gql.message);
        assert!(gql.message.starts_with("internal error"));
    }
}
