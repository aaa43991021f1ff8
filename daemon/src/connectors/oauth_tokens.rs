//! The OAuth2 tokens of an integration at rest (Exact Online): one row per integration and mode,
//! the tokens encrypted together under the master key (bound to the integration and mode, like every
//! credential), never shown through the API.
//!
//! Refresh tokens are single use at Exact, so a rotation must never be lost: a connector stores the new
//! tokens (committed) *before* it uses the new access token, and stores them by compare-and-swap on
//! `generation`, so that two processes that refreshed at once find out (the loser reads the winner's
//! tokens instead of overwriting them).

use crate::connectors::ConnectorError;
use crate::crypto::MasterKey;
use chrono::{DateTime, Duration, Utc};
use koppel_entity::enums::IntegrationMode;
use koppel_entity::{IntegrationOwned, integration, oauth_connection};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use uuid::Uuid;

/// An access token, its refresh token and when the access token was issued.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// When the answer that carried them arrived (at or after the remote issued them).
    pub issued_at: DateTime<Utc>,
    /// The access token's life (`expires_in`), in seconds.
    pub lifetime_seconds: i64,
}

impl std::fmt::Debug for OAuthTokens {
    /// Never the tokens themselves.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokens").field("issued_at", &self.issued_at).finish_non_exhaustive()
    }
}

impl OAuthTokens {
    fn life_share(&self, per_mille: i64) -> Duration {
        Duration::milliseconds(self.lifetime_seconds * per_mille)
    }

    /// Until when the access token is used: 585 s of Exact's 600, so that it is refreshed before it
    /// expires and never before Exact allows a refresh ([`OAuthTokens::refresh_allowed_at`]).
    pub fn use_until(&self) -> DateTime<Utc> {
        self.issued_at + self.life_share(975)
    }

    /// From when the remote accepts a refresh: Exact refuses one in the first 570 s of 600
    /// (`TooEarlyToRefreshTokens`).
    pub fn refresh_allowed_at(&self) -> DateTime<Utc> {
        self.issued_at + self.life_share(950)
    }
}

/// The tokens as stored, with what the compare-and-swap needs.
#[derive(Debug, Clone)]
pub struct StoredTokens {
    pub tokens: OAuthTokens,
    pub generation: i64,
    pub connected: bool,
    pub division: Option<String>,
    pub problem: Option<String>,
}

/// The token row of one integration and mode; cheap to clone.
#[derive(Clone)]
pub struct TokenStore {
    db: DatabaseConnection,
    key: Arc<MasterKey>,
    account_id: Uuid,
    integration_id: Uuid,
    mode: IntegrationMode,
}

fn cannot(error: impl std::fmt::Display) -> ConnectorError {
    tracing::error!(%error, "cannot read or write the OAuth tokens");
    ConnectorError::Configuration("the stored OAuth tokens cannot be read or written".into())
}

impl TokenStore {
    pub fn new(
        db: DatabaseConnection,
        key: Arc<MasterKey>,
        integration: &integration::Model,
        mode: IntegrationMode,
    ) -> Self {
        Self { db, key, account_id: integration.account_id, integration_id: integration.id, mode }
    }

    pub fn integration_id(&self) -> Uuid {
        self.integration_id
    }

    pub fn mode(&self) -> IntegrationMode {
        self.mode
    }

    fn additional_data(&self) -> String {
        format!("oauth/{}/{}", self.integration_id, self.mode.as_str())
    }

    fn row(&self) -> sea_orm::Select<oauth_connection::Entity> {
        oauth_connection::Entity::find_owned(self.account_id, self.integration_id)
            .filter(oauth_connection::Column::Mode.eq(self.mode))
    }

    /// The stored tokens, or none when the integration was never connected in this mode.
    pub async fn load(&self) -> Result<Option<StoredTokens>, ConnectorError> {
        let Some(row) = self.row().one(&self.db).await.map_err(cannot)? else {
            return Ok(None);
        };
        let plain = self.key.decrypt(&row.ciphertext, &self.additional_data()).map_err(|_| {
            ConnectorError::Configuration("the stored OAuth tokens cannot be decrypted with the master key".into())
        })?;
        let tokens = serde_json::from_str(&plain).map_err(cannot)?;
        Ok(Some(StoredTokens {
            tokens,
            generation: row.generation,
            connected: row.connected,
            division: row.division,
            problem: row.problem,
        }))
    }

    /// Stores rotated tokens if the stored ones are still those of `generation`; false when another
    /// process stored others first (read them with [`TokenStore::load`]). Committed when it returns.
    pub async fn rotate(
        &self,
        generation: i64,
        tokens: &OAuthTokens,
        refresh_valid_until: DateTime<Utc>,
    ) -> Result<bool, ConnectorError> {
        let ciphertext = self.key.encrypt(&serde_json::to_string(tokens).map_err(cannot)?, &self.additional_data());
        let result = oauth_connection::Entity::update_owned(self.account_id, self.integration_id)
            .filter(oauth_connection::Column::Mode.eq(self.mode))
            .filter(oauth_connection::Column::Generation.eq(generation))
            .col_expr(oauth_connection::Column::Ciphertext, Expr::value(ciphertext))
            // A refresh Exact accepted proves the connection alive, even if a process that lost the
            // race for this rotation marked it lost meanwhile.
            .col_expr(oauth_connection::Column::Connected, Expr::value(true))
            .col_expr(oauth_connection::Column::Problem, Expr::value(Option::<String>::None))
            .col_expr(oauth_connection::Column::Generation, Expr::value(generation + 1))
            .col_expr(oauth_connection::Column::RefreshValidUntil, Expr::value(refresh_valid_until))
            .col_expr(oauth_connection::Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(&self.db)
            .await
            .map_err(cannot)?;
        Ok(result.rows_affected == 1)
    }

    /// Marks the connection lost (the remote refused the refresh token of `generation`), with why.
    pub async fn disconnect(&self, generation: i64, problem: &str) -> Result<(), ConnectorError> {
        oauth_connection::Entity::update_owned(self.account_id, self.integration_id)
            .filter(oauth_connection::Column::Mode.eq(self.mode))
            .filter(oauth_connection::Column::Generation.eq(generation))
            .col_expr(oauth_connection::Column::Connected, Expr::value(false))
            .col_expr(oauth_connection::Column::Problem, Expr::value(problem.to_owned()))
            .col_expr(oauth_connection::Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(&self.db)
            .await
            .map_err(cannot)?;
        tracing::warn!(integration = %self.integration_id, mode = self.mode.as_str(), problem, "OAuth connection lost");
        Ok(())
    }

    /// Stores the tokens of a completed authorization: a new connection, or a reconnection that replaces
    /// whatever was stored (a new generation, so a process rotating the old tokens loses its swap).
    pub async fn connect(
        &self,
        db: &impl ConnectionTrait,
        tokens: &OAuthTokens,
        division: Option<String>,
        identity: Option<String>,
        refresh_valid_until: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let ciphertext = self.key.encrypt(&serde_json::to_string(tokens).expect("serialises"), &self.additional_data());
        let now = Utc::now();
        let existing = self.row().one(db).await?;
        let mut row = oauth_connection::ActiveModel {
            ciphertext: Set(ciphertext),
            connected: Set(true),
            division: Set(division),
            identity: Set(identity),
            problem: Set(None),
            connected_at: Set(now),
            refresh_valid_until: Set(Some(refresh_valid_until)),
            updated_at: Set(now),
            ..Default::default()
        };
        match existing {
            Some(existing) => {
                row.id = sea_orm::Unchanged(existing.id);
                row.generation = Set(existing.generation + 1);
                row.update(db).await?;
            }
            None => {
                row.id = Set(Uuid::now_v7());
                row.account_id = Set(self.account_id);
                row.integration_id = Set(self.integration_id);
                row.mode = Set(self.mode);
                row.generation = Set(1);
                row.insert(db).await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_token_is_used_until_585_of_600_seconds_and_refreshable_from_570() {
        let issued_at = Utc::now();
        let tokens = OAuthTokens {
            access_token: "secret-access".into(),
            refresh_token: "secret-refresh".into(),
            issued_at,
            lifetime_seconds: 600,
        };
        assert_eq!(tokens.use_until() - issued_at, Duration::seconds(585));
        assert_eq!(tokens.refresh_allowed_at() - issued_at, Duration::seconds(570));
        assert!(tokens.refresh_allowed_at() < tokens.use_until(), "a due token may always be refreshed");
        assert!(!format!("{tokens:?}").contains("secret"), "never the tokens in logs");
    }
}
