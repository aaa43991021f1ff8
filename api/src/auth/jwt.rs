//! Login tokens: HS256 JWTs with `iss`, `aud` and `exp` checked and the algorithm pinned.

use crate::error::{ApiError, ApiResult};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use koppel_entity::user;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const ISSUER: &str = "koppel";
pub const AUDIENCE: &str = "koppel-api";

/// The claims of a login token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The user's account.
    pub acc: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The keys that sign and check login tokens.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: chrono::Duration,
}

impl JwtKeys {
    pub fn new(secret: &[u8], ttl_minutes: u32) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl: chrono::Duration::minutes(ttl_minutes.into()),
        }
    }

    /// A token for the user, and when it expires.
    pub fn issue(&self, user: &user::Model) -> ApiResult<(String, chrono::DateTime<Utc>)> {
        let now = Utc::now();
        let expires = now + self.ttl;
        let claims = Claims {
            sub: user.id,
            acc: user.account_id,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now.timestamp(),
            exp: expires.timestamp(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok((token, expires))
    }

    /// The claims of a valid token; any defect (signature, algorithm, expiry, issuer, audience) is
    /// `UNAUTHENTICATED`.
    pub fn verify(&self, token: &str) -> ApiResult<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|data| data.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            let reason = match e.kind() {
                ErrorKind::ExpiredSignature => "the token has expired",
                _ => "the token is not valid",
            };
            ApiError::Unauthenticated(reason.into())
        })
    }
}
