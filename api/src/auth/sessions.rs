//! The tokens of running subscriptions, checked again together: every few seconds ONE task reads the
//! users and API tokens of every live subscription in a statement or two, and tells each subscription
//! whose token was revoked, expired or whose user was disabled. A thousand subscribers cost the database
//! what one costs (a check per subscriber would be a poll per subscriber).

use super::{api_token, jwt::JwtKeys};
use crate::error::{ApiError, ApiResult};
use chrono::Utc;
use koppel_entity::{api_token as token_entity, user};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use uuid::Uuid;

/// Who holds a live subscription.
#[derive(Debug, Clone)]
enum Holder {
    /// A signed-in user's JWT, valid until `expires` (unix seconds).
    Login { user: Uuid, expires: i64 },
    /// An API token, by its hash.
    ApiToken { hash: String },
}

struct Watched {
    holder: Holder,
    ended: watch::Sender<Option<ApiError>>,
}

type Registry = Arc<Mutex<HashMap<u64, Watched>>>;

/// The process's live subscriptions and the task that checks their tokens.
#[derive(Clone)]
pub struct LiveSessions {
    registry: Registry,
    next: Arc<AtomicU64>,
}

/// One subscription's watch: `ended` turns `Some(reason)` when its token stops being valid. Dropping
/// it (the subscription ended) stops the checks for it.
pub struct Watching {
    id: u64,
    registry: Registry,
    pub ended: watch::Receiver<Option<ApiError>>,
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Ok(mut registry) = self.registry.lock() {
            registry.remove(&self.id);
        }
    }
}

impl LiveSessions {
    /// Starts the checks, every `every`, for as long as the process runs.
    pub fn start(db: DatabaseConnection, every: Duration) -> Self {
        let sessions = Self { registry: Arc::default(), next: Arc::new(AtomicU64::new(1)) };
        let registry = Arc::downgrade(&sessions.registry);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(registry) = registry.upgrade() else { return };
                if let Err(error) = check_all(&db, &registry).await {
                    tracing::warn!(%error, "cannot check the tokens of live subscriptions; trying again");
                }
            }
        });
        sessions
    }

    /// Watches a bearer token that was just accepted (`connection_init`).
    pub fn watch(&self, keys: &JwtKeys, bearer: &str) -> ApiResult<Watching> {
        let holder = if bearer.starts_with(api_token::PREFIX) {
            Holder::ApiToken { hash: api_token::hash(bearer) }
        } else {
            let claims = keys.verify(bearer)?;
            Holder::Login { user: claims.sub, expires: claims.exp }
        };
        let (ended, receiver) = watch::channel(None);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.registry.lock().expect("not poisoned").insert(id, Watched { holder, ended });
        Ok(Watching { id, registry: self.registry.clone(), ended: receiver })
    }
}

/// Checks every watched token at once: one read of the API tokens, one of the users.
async fn check_all(db: &DatabaseConnection, registry: &Registry) -> Result<(), DbErr> {
    let holders: Vec<(u64, Holder)> = {
        let registry = registry.lock().expect("not poisoned");
        registry.iter().map(|(id, w)| (*id, w.holder.clone())).collect()
    };
    if holders.is_empty() {
        return Ok(());
    }
    let hashes: Vec<String> = holders
        .iter()
        .filter_map(|(_, h)| match h {
            Holder::ApiToken { hash } => Some(hash.clone()),
            Holder::Login { .. } => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    // API token hash → (revoked, user).
    let mut tokens: HashMap<String, (bool, Uuid)> = HashMap::new();
    for chunk in hashes.chunks(500) {
        let rows: Vec<(String, Option<chrono::DateTime<Utc>>, Uuid)> = token_entity::Entity::find()
            .select_only()
            .columns([token_entity::Column::TokenHash, token_entity::Column::RevokedAt, token_entity::Column::UserId])
            .filter(token_entity::Column::TokenHash.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(db)
            .await?;
        tokens.extend(rows.into_iter().map(|(hash, revoked, user)| (hash, (revoked.is_some(), user))));
    }
    let users: HashSet<Uuid> = holders
        .iter()
        .filter_map(|(_, h)| match h {
            Holder::Login { user, .. } => Some(*user),
            Holder::ApiToken { hash } => tokens.get(hash).map(|(_, user)| *user),
        })
        .collect();
    let users: Vec<Uuid> = users.into_iter().collect();
    let mut active: HashSet<Uuid> = HashSet::new();
    for chunk in users.chunks(500) {
        let rows: Vec<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::Id.is_in(chunk.iter().copied()))
            .filter(user::Column::Active.eq(true))
            .into_tuple()
            .all(db)
            .await?;
        active.extend(rows);
    }
    let now = Utc::now().timestamp();
    let registry = registry.lock().expect("not poisoned");
    for (id, holder) in holders {
        let ended = match &holder {
            Holder::Login { expires, .. } if *expires <= now => {
                Some(ApiError::Unauthenticated("the token has expired".into()))
            }
            Holder::Login { user, .. } if !active.contains(user) => {
                Some(ApiError::Unauthenticated("the user of this token no longer exists or is disabled".into()))
            }
            Holder::Login { .. } => None,
            Holder::ApiToken { hash } => match tokens.get(hash) {
                None => Some(ApiError::Unauthenticated("unknown API token".into())),
                Some((true, _)) => Some(ApiError::TokenRevoked),
                Some((false, user)) if !active.contains(user) => {
                    Some(ApiError::Unauthenticated("unknown API token".into()))
                }
                Some(_) => None,
            },
        };
        if let (Some(reason), Some(watched)) = (ended, registry.get(&id)) {
            watched.ended.send_replace(Some(reason));
        }
    }
    Ok(())
}
