//! Errors at the API's edge.
//!
//! Policy (after crates.io's `util/errors.rs`):
//! - inside the API, service functions return [`ApiError`]; database errors become `Internal`, except
//!   lost or unobtainable connections, which are `Unavailable` (HTTP 503 with `Retry-After`: the client
//!   should simply try again, and the pool reconnects by itself);
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
    /// Too many requests or login attempts; `extensions.retryAfter` and the `Retry-After` header say
    /// how many seconds to wait.
    RateLimited,
    /// The database cannot be reached; try again after `extensions.retryAfter` seconds.
    Unavailable,
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
            Self::Unavailable => "UNAVAILABLE",
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
    /// A file is larger than allowed (`KOPPEL_MAX_FILE_BYTES`), or does not fit in what the account may
    /// store (`KOPPEL_MAX_ACCOUNT_FILE_BYTES`).
    TooLarge,
    /// A value is not one of the allowed options.
    NotAnOption,
    /// A referenced record does not exist (in this account).
    NotFound,
    /// The value is already used by another record.
    Taken,
    /// The value was already used for something else (e.g. an idempotency key sent again with a
    /// different sale).
    Conflict,
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
    #[error("too many requests; try again in {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    #[error("the database cannot be reached at the moment; try again shortly")]
    Unavailable(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
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
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) => ErrorCode::Unavailable,
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

    /// How long the client should wait before trying again, for `Retry-After`.
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_seconds } => Some(*retry_after_seconds),
            Self::Unavailable(_) => Some(UNAVAILABLE_RETRY_AFTER_SECONDS),
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
            // The caller asked for an entity Koppel cannot reconcile yet.
            no_pass @ EngineError::NoPass(_) => Self::BadUserInput(no_pass.to_string()),
            // Deliveries run in jobs, never for a request.
            EngineError::Delivery(delivery) => Self::internal(delivery),
            EngineError::Storage(storage) => Self::internal(storage),
        }
    }
}

impl From<Rejected> for ApiError {
    fn from(Rejected(problems): Rejected) -> Self {
        Self::Invalid(problems.into_iter().map(UserError::from).collect())
    }
}

/// What `Retry-After` says while the database is unreachable: long enough not to hammer a recovering
/// database, short enough that clients notice the recovery soon.
pub const UNAVAILABLE_RETRY_AFTER_SECONDS: u64 = 5;

impl From<crate::rate_limit::Refused> for ApiError {
    fn from(refused: crate::rate_limit::Refused) -> Self {
        Self::RateLimited { retry_after_seconds: refused.retry_after_seconds() }
    }
}

/// Whether a database error means the database could not be reached (no connection could be had, or
/// the connection broke), as opposed to a statement that failed.
pub fn is_connection_error(error: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx};
    let runtime = match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(runtime) | DbErr::Query(runtime) => runtime,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx_error) = runtime else { return false };
    match sqlx_error.as_ref() {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
        // SQLSTATE class 08 (connection exception) and 57P01–57P03 (the server shuts down or starts up).
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

impl From<DbErr> for ApiError {
    fn from(error: DbErr) -> Self {
        if is_connection_error(&error) {
            return Self::Unavailable(std::sync::Arc::new(error));
        }
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
            ApiError::Unavailable(source) => {
                tracing::warn!(error = %source, "database unreachable");
                error.to_string()
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
        if let Some(seconds) = error.retry_after_seconds() {
            gql = gql.extend_with(|_, ext| ext.set("retryAfter", seconds));
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
        assert_eq!(code_of(ApiError::RateLimited { retry_after_seconds: 3 }), "RATE_LIMITED");
    }

    fn retry_after_of(error: ApiError) -> Option<async_graphql::Value> {
        let gql: async_graphql::Error = error.into();
        gql.extensions.expect("extensions are always set").get("retryAfter").cloned()
    }

    #[test]
    fn lost_database_connections_are_unavailable_and_say_when_to_retry() {
        use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused by 10.0.0.5");
        let unreachable = [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed),
            DbErr::Conn(RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::Io(refused)))),
            DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "eof",
            ))))),
            DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::PoolTimedOut))),
        ];
        for error in unreachable {
            let described = error.to_string();
            assert_eq!(code_of(error.clone().into()), "UNAVAILABLE", "{described}");
            assert_eq!(retry_after_of(error.clone().into()), Some(UNAVAILABLE_RETRY_AFTER_SECONDS.into()));
            let gql: async_graphql::Error = ApiError::from(error).into();
            assert!(!gql.message.contains("10.0.0.5"), "{}", gql.message);
        }
        // A statement that failed is not an outage.
        let failed = DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(sqlx::Error::RowNotFound)));
        assert_eq!(code_of(failed.into()), "INTERNAL");
        assert_eq!(code_of(DbErr::RecordNotFound("x".into()).into()), "INTERNAL");
        assert_eq!(retry_after_of(DbErr::Custom("x".into()).into()), None);
    }

    #[test]
    fn refused_requests_are_rate_limited_with_whole_seconds() {
        let refused = crate::rate_limit::Refused { retry_after: std::time::Duration::from_millis(2300) };
        let error = ApiError::from(refused);
        assert_eq!(error.retry_after_seconds(), Some(3));
        assert_eq!(code_of(error.clone()), "RATE_LIMITED");
        assert_eq!(retry_after_of(error), Some(3.into()));
    }

    #[test]
    fn internal_details_are_not_sent() {
        let gql: async_graphql::Error = ApiError::from(DbErr::Custom("password=hunter2".into())).into();
        assert!(!gql.message.contains("hunter2"), "{}", gql.message);
        assert!(gql.message.starts_with("internal error"));
    }
}
