//! Connecting an integration over OAuth2's authorization-code flow (Exact Online).
//!
//! [`start`] hands an admin the remote's sign-in URL with a `state`: 32 random bytes, bound to the
//! integration, the mode, the admin and the remote's origin, valid [`STATE_LIFETIME`], stored only as a
//! SHA-256. The remote sends the browser back to Koppel's callback with a code and that state;
//! [`complete`] takes the state once (a replay finds it used), checks it has not expired and that what
//! it was bound to still holds (the integration exists in the same account on the same host, the admin
//! still is one), exchanges the code and stores the tokens encrypted ([`TokenStore::connect`]). A refused
//! state changes nothing.

use crate::Context;
use crate::connectors::oauth_tokens::TokenStore;
use crate::connectors::{ConnectorError, exact_online};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use koppel_entity::enums::{IntegrationMode, Role};
use koppel_entity::{Scoped, integration, oauth_state, user};
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long an admin has from asking for the sign-in URL to coming back to the callback.
pub const STATE_LIFETIME: Duration = Duration::minutes(10);

/// Whether a kind connects over OAuth2.
pub fn is_oauth_kind(kind: &str) -> bool {
    kind == exact_online::SPEC.kind
}

/// Why an authorization cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the integration does not exist")]
    NotFound,
    #[error("{0} integrations are not connected over OAuth2: set their credentials instead")]
    NotOAuth(String),
    #[error("{0}")]
    Configuration(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Why a callback was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum CallbackRefusal {
    #[error("this sign-in link is not known to Koppel: start connecting again from Koppel")]
    Unknown,
    #[error("this sign-in link was used already: start connecting again from Koppel")]
    Replayed,
    #[error("this sign-in link expired: start connecting again from Koppel")]
    Expired,
    #[error("this sign-in link no longer fits its integration: {0}; start connecting again from Koppel")]
    Foreign(&'static str),
    #[error("the remote refused: {0}")]
    Remote(#[from] ConnectorError),
    #[error("the remote answered with an error: {0}")]
    Denied(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The sign-in URL to send the admin to.
#[derive(Debug)]
pub struct Started {
    pub url: url::Url,
    pub expires_at: DateTime<Utc>,
}

/// The integration a callback connected.
#[derive(Debug)]
pub struct Connected {
    pub integration_id: Uuid,
    pub integration_name: String,
    pub mode: IntegrationMode,
    pub division: String,
    pub identity: String,
}

fn hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

fn origin(url: &str) -> String {
    url::Url::parse(url).map(|u| u.origin().ascii_serialization()).unwrap_or_default()
}

/// Starts connecting `integration_id` (of `account_id`) in `mode` for admin `user_id`; the remote sends
/// the browser back to `redirect_uri`.
pub async fn start(
    ctx: &Context,
    account_id: Uuid,
    user_id: Uuid,
    integration_id: Uuid,
    mode: IntegrationMode,
    redirect_uri: &str,
) -> Result<Started, StartError> {
    let integration = integration::Entity::find_by_id_in(account_id, integration_id)
        .one(&ctx.db)
        .await?
        .ok_or(StartError::NotFound)?;
    if !is_oauth_kind(&integration.kind) {
        return Err(StartError::NotOAuth(integration.kind));
    }
    let base_url = crate::net::check_base_url(&integration.base_url, ctx.limits.allow_private_remotes)
        .map_err(|e| StartError::Configuration(format!("the base URL {e}")))?;
    let credentials = crate::credentials::decrypted(&ctx.db, &ctx.master_key, &integration, mode)
        .await
        .map_err(|e| StartError::Configuration(e.to_string()))?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let state = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let url = exact_online::authorization_url(&base_url, &credentials, redirect_uri, &state).map_err(|e| match e {
        ConnectorError::Configuration(message) => StartError::Configuration(format!(
            "{message}: set the client id and secret of your Exact App Center app first"
        )),
        other => StartError::Configuration(other.to_string()),
    })?;
    let now = Utc::now();
    let expires_at = now + STATE_LIFETIME;
    oauth_state::ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(account_id),
        integration_id: Set(integration.id),
        user_id: Set(user_id),
        mode: Set(mode),
        state_hash: Set(hash(&state)),
        origin: Set(origin(&integration.base_url)),
        expires_at: Set(expires_at),
        used_at: Set(None),
        created_at: Set(now),
    }
    .insert(&ctx.db)
    .await?;
    tracing::info!(integration = %integration.id, mode = mode.as_str(), "OAuth authorization started");
    Ok(Started { url, expires_at })
}

/// Completes an authorization from the callback's `state` and `code` (or the remote's `error`).
pub async fn complete(
    ctx: &Context,
    state: &str,
    code: Result<&str, &str>,
    redirect_uri: &str,
) -> Result<Connected, CallbackRefusal> {
    // The state is the capability here: the callback has no session, so it is looked up by its hash
    // across accounts, and everything else is then read within the state's account.
    let row = oauth_state::Entity::find()
        .filter(oauth_state::Column::StateHash.eq(hash(state)))
        .one(&ctx.db)
        .await?
        .ok_or(CallbackRefusal::Unknown)?;
    // Taken once: of two callbacks with the same state, one finds it unused.
    let now = Utc::now();
    let taken = oauth_state::Entity::update_many_in(row.account_id)
        .filter(oauth_state::Column::Id.eq(row.id))
        .filter(oauth_state::Column::UsedAt.is_null())
        .col_expr(oauth_state::Column::UsedAt, Expr::value(now))
        .exec(&ctx.db)
        .await?;
    if taken.rows_affected != 1 {
        return Err(CallbackRefusal::Replayed);
    }
    if now >= row.expires_at {
        return Err(CallbackRefusal::Expired);
    }
    let code = code.map_err(|error| CallbackRefusal::Denied(error.to_owned()))?;
    let integration = integration::Entity::find_by_id_in(row.account_id, row.integration_id)
        .one(&ctx.db)
        .await?
        .ok_or(CallbackRefusal::Foreign("the integration was deleted"))?;
    if origin(&integration.base_url) != row.origin {
        return Err(CallbackRefusal::Foreign("the integration's base URL moved to another host"));
    }
    let admin = user::Entity::find_by_id_in(row.account_id, row.user_id).one(&ctx.db).await?;
    if !admin.is_some_and(|u| u.role == Role::Admin && u.active) {
        return Err(CallbackRefusal::Foreign("the user who started it is no longer an admin of the account"));
    }
    let base_url = crate::net::check_base_url(&integration.base_url, ctx.limits.allow_private_remotes)
        .map_err(|e| ConnectorError::Configuration(format!("the base URL {e}")))?;
    let credentials = crate::credentials::decrypted(&ctx.db, &ctx.master_key, &integration, row.mode).await?;
    let authorized = exact_online::authorize(&ctx.http, &base_url, &credentials, code, redirect_uri).await?;
    let store = TokenStore::new(ctx.db.clone(), ctx.master_key.clone(), &integration, row.mode);
    let valid_until = Utc::now() + Duration::days(exact_online::REFRESH_TOKEN_DAYS);
    store
        .connect(
            &ctx.db,
            &authorized.tokens,
            Some(authorized.division.clone()),
            Some(authorized.identity.clone()),
            valid_until,
        )
        .await?;
    tracing::info!(integration = %integration.id, mode = row.mode.as_str(), division = %authorized.division, "OAuth connection stored");
    Ok(Connected {
        integration_id: integration.id,
        integration_name: integration.name,
        mode: row.mode,
        division: authorized.division,
        identity: authorized.identity,
    })
}
