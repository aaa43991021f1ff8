//! Connecting an integration over OAuth2 (Exact Online): `startIntegrationAuthorization` gives the
//! remote's sign-in URL; the remote sends the admin's browser back to `/oauth/callback`
//! (the HTTP edge), which the engine completes ([`koppel_daemon::oauth`]). The integration shows its
//! connection per mode in `authorizations`, never the tokens.

use super::IntegrationMode;
use crate::error::{ApiError, ApiResult, UserErrorCode};
use crate::graphql::{ContextExt, ids};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use koppel_daemon::oauth::{self, StartError};
use koppel_entity::{IntegrationOwned, integration, oauth_connection};
use sea_orm::{ConnectionTrait, QueryOrder};

/// An integration's OAuth2 connection in one mode.
#[derive(SimpleObject, Clone)]
pub struct IntegrationAuthorization {
    pub mode: IntegrationMode,
    /// False once the remote refused the refresh token: connect again.
    pub connected: bool,
    /// The remote administration in use (Exact Online's division).
    pub division: Option<String>,
    /// Who connected it, as the remote says.
    pub identity: Option<String>,
    /// Why it is no longer connected.
    pub problem: Option<String>,
    pub connected_at: DateTime<Utc>,
    /// Until when the stored refresh token is known to be valid (Exact Online: 30 days after its last
    /// rotation, which happens at every use after the access token's 10 minutes).
    pub refresh_token_valid_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

pub async fn of(db: &impl ConnectionTrait, model: &integration::Model) -> ApiResult<Vec<IntegrationAuthorization>> {
    let rows = oauth_connection::Entity::find_owned(model.account_id, model.id)
        .order_by_asc(oauth_connection::Column::Mode)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| IntegrationAuthorization {
            mode: r.mode.into(),
            connected: r.connected,
            division: r.division,
            identity: r.identity,
            problem: r.problem,
            connected_at: r.connected_at,
            refresh_token_valid_until: r.refresh_valid_until,
            updated_at: r.updated_at,
        })
        .collect())
}

#[derive(InputObject)]
pub struct StartIntegrationAuthorizationInput {
    pub id: ID,
    /// Defaults to the integration's mode.
    pub mode: Option<IntegrationMode>,
}

/// Where to send the admin: the remote's sign-in page.
#[derive(SimpleObject)]
pub struct AuthorizationStart {
    /// Open it in the browser; after signing in, the remote sends the browser back to Koppel.
    pub url: String,
    /// The link works once, until then.
    pub expires_at: DateTime<Utc>,
    pub mode: IntegrationMode,
}

crate::payload!(StartIntegrationAuthorizationPayload { authorization: AuthorizationStart });

#[derive(Default)]
pub struct AuthorizationMutation;

#[Object]
impl AuthorizationMutation {
    /// Starts connecting an OAuth2 integration (Exact Online; admins only): answers the remote's sign-in
    /// URL, valid once for 10 minutes, for this admin. Needs `KOPPEL_PUBLIC_URL` and the kind's client
    /// credentials.
    async fn start_integration_authorization(
        &self,
        ctx: &Context<'_>,
        input: StartIntegrationAuthorizationInput,
    ) -> ApiResult<StartIntegrationAuthorizationPayload> {
        let principal = ctx.principal()?.require_admin()?;
        let state = ctx.state();
        let result = async {
            let id = ids::parse(&input.id, "integration")?;
            let integration = super::service::find(&state.db, principal.account_id, id).await?;
            let mode = input.mode.map(Into::into).unwrap_or(integration.mode);
            let Some(redirect_uri) = state.config.oauth_redirect_uri() else {
                return Err(ApiError::invalid(
                    "id",
                    UserErrorCode::Invalid,
                    "the server has no public URL (KOPPEL_PUBLIC_URL), which the remote sends the browser back to: \
                     ask the operator to set it",
                ));
            };
            let started = oauth::start(&state.engine, principal.account_id, principal.user_id, id, mode, &redirect_uri)
                .await
                .map_err(|e| match e {
                    StartError::NotFound => ApiError::NotFound("integration"),
                    StartError::NotOAuth(_) => ApiError::invalid("id", UserErrorCode::Invalid, e.to_string()),
                    StartError::Configuration(message) => ApiError::invalid("id", UserErrorCode::Required, message),
                    StartError::Db(db) => db.into(),
                })?;
            Ok(AuthorizationStart { url: started.url.to_string(), expires_at: started.expires_at, mode: mode.into() })
        }
        .await;
        StartIntegrationAuthorizationPayload::from_result(result)
    }
}
