//! The authenticated caller and the role checks resolvers make.

use crate::error::{ApiError, ApiResult};
use koppel_entity::{enums::Role, user};
use std::sync::Arc;
use uuid::Uuid;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Login,
    ApiToken { token_id: Uuid, integration_only: bool },
}

/// The caller of a request: a user of one account.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub account_id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub role: Role,
    pub credential: Credential,
    /// The user as read when the token was checked (`me` answers from it).
    pub user: Arc<user::Model>,
}

impl Principal {
    pub fn new(user: &user::Model, credential: Credential) -> Self {
        Self {
            user_id: user.id,
            account_id: user.account_id,
            organisation_id: user.organisation_id,
            role: user.role,
            credential,
            user: Arc::new(user.clone()),
        }
    }

    /// Whether the caller uses a token that is only for integrations (the provider surface).
    pub fn integration_only(&self) -> bool {
        matches!(self.credential, Credential::ApiToken { integration_only: true, .. })
    }

    /// Any signed-in user of the account, through the full API.
    pub fn require_user(&self) -> ApiResult<&Self> {
        if self.integration_only() {
            return Err(ApiError::Forbidden("this token may only be used for integrations".into()));
        }
        Ok(self)
    }

    /// Agents and admins: selling, reading the catalogue.
    pub fn require_agent(&self) -> ApiResult<&Self> {
        self.require_user()?;
        match self.role {
            Role::Admin | Role::Agent => Ok(self),
            Role::Integration => Err(ApiError::forbidden()),
        }
    }

    /// Admins: managing users, tokens, organisations, the catalogue and settings.
    pub fn require_admin(&self) -> ApiResult<&Self> {
        self.require_user()?;
        match self.role {
            Role::Admin => Ok(self),
            _ => Err(ApiError::Forbidden("only admins may do this".into())),
        }
    }

    /// The provider surface: the catalogue an organisation was granted, submitting sales, reading their
    /// statuses. Open to integration-only tokens and to any user of an organisation; returns that organisation.
    pub fn require_provider(&self) -> ApiResult<Uuid> {
        self.organisation_id.ok_or_else(|| {
            ApiError::Forbidden("the provider surface is for users of an organisation (integration tokens)".into())
        })
    }

    /// Whether the caller sees only what its organisation was granted: integration-only tokens, and
    /// integration users however they signed in.
    pub fn limited_to_grants(&self) -> bool {
        self.integration_only() || self.role == Role::Integration
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}
