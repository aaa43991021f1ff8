//! Opaque ids: UUIDs on the wire. A malformed id is treated like an id that does not exist.

use crate::error::{ApiError, ApiResult, Problems, UserErrorCode};
use async_graphql::ID;
use uuid::Uuid;

pub fn to_id(id: Uuid) -> ID {
    ID(id.to_string())
}

/// The UUID of an id argument of a query; a malformed one is `NOT_FOUND`.
pub fn parse(id: &ID, what: &'static str) -> ApiResult<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| ApiError::NotFound(what))
}

/// The UUID of an id in a mutation's input; a malformed one is a user error on `field`.
pub fn parse_field(id: &ID, field: &str, problems: &mut Problems) -> Option<Uuid> {
    let parsed = Uuid::parse_str(id.as_str()).ok();
    if parsed.is_none() {
        problems.add(field, UserErrorCode::NotFound, format!("{} does not exist", id.as_str()));
    }
    parsed
}
