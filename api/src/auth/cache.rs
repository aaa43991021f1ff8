//! Who a bearer token belongs to, remembered between requests so that checking it costs no statement,
//! and forgotten whenever that could have changed.
//!
//! - A change to users or API tokens made through this process forgets everything
//!   ([`AuthCache::forget_all`], called once the change is committed and before its response is sent),
//!   so the caller's next request sees it: a revoked token or a disabled user is refused at once.
//! - On PostgreSQL, triggers on `users` and `api_tokens` notify `koppel_auth` at the commit of every
//!   change, whoever made it (another API process, a script, `psql`), and every process's listener forgets
//!   everything. Until the listener is connected nothing is remembered, and from the moment it loses its
//!   connection until it listens again neither.
//! - Whatever happens, an entry is read again after [`MAX_AGE`]: that bounds what a change that reached
//!   the database without a notification (SQLite written by another process) leaves in memory.
//! - Only valid callers are remembered: unknown, revoked and disabled ones are read every time (the
//!   per-token rate limit runs before that).
//!
//! Entries carry the generation they were read in; [`AuthCache::forget_all`] moves the generation, so a
//! read that raced a change is never stored.

use super::Principal;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How long a caller is remembered at most.
pub const MAX_AGE: Duration = Duration::from_secs(30);

/// The most callers remembered; past it, the cache starts over.
const CAPACITY: usize = 10_000;

/// The channel the triggers notify on (migration `m20261202_000013_auth_notify`).
pub const AUTH_CHANNEL: &str = "koppel_auth";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CacheKey {
    /// A login JWT's user.
    Login { account: Uuid, user: Uuid },
    /// An API token, by the hash of its secret.
    ApiToken(String),
}

struct Entry {
    principal: Principal,
    read_at: Instant,
    generation: u64,
}

/// The process's remembered callers.
pub struct AuthCache {
    entries: Mutex<HashMap<CacheKey, Entry>>,
    generation: AtomicU64,
    armed: AtomicBool,
}

impl AuthCache {
    /// A cache that remembers nothing until [`AuthCache::arm`] (PostgreSQL: once its listener listens).
    pub fn disarmed() -> Self {
        Self { entries: Mutex::new(HashMap::new()), generation: AtomicU64::new(0), armed: AtomicBool::new(false) }
    }

    /// Starts remembering callers.
    pub fn arm(&self) {
        self.forget_all();
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Stops remembering callers (PostgreSQL: the listener lost its connection).
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
        self.forget_all();
    }

    /// The generation to pass to [`AuthCache::remember`], taken before the read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The remembered caller, if it was read in the current generation less than [`MAX_AGE`] ago.
    pub fn get(&self, key: &CacheKey) -> Option<Principal> {
        if !self.armed.load(Ordering::SeqCst) {
            return None;
        }
        let generation = self.generation();
        let entries = self.entries.lock().expect("auth cache lock");
        entries
            .get(key)
            .filter(|entry| entry.generation == generation && entry.read_at.elapsed() < MAX_AGE)
            .map(|entry| entry.principal.clone())
    }

    /// Remembers a caller read in `generation`, unless something changed since.
    pub fn remember(&self, key: CacheKey, principal: &Principal, generation: u64) {
        if !self.armed.load(Ordering::SeqCst) {
            return;
        }
        let mut entries = self.entries.lock().expect("auth cache lock");
        if generation != self.generation() {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(key, Entry { principal: principal.clone(), read_at: Instant::now(), generation });
    }

    /// Forgets every caller: users or tokens changed.
    pub fn forget_all(&self) {
        let mut entries = self.entries.lock().expect("auth cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}

/// Keeps the cache in step with the database: on PostgreSQL, listens on [`AUTH_CHANNEL`] and forgets
/// everything at each notification; on SQLite, where only this process writes, it is armed at once.
pub fn follow(cache: std::sync::Arc<AuthCache>, db: &sea_orm::DatabaseConnection) {
    use koppel_daemon::feed::{Heard, listen};
    use sea_orm::DbBackend;
    if db.get_database_backend() != DbBackend::Postgres {
        cache.arm();
        return;
    }
    let (heard, mut hearing) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(listen(db.get_postgres_connection_pool().clone(), AUTH_CHANNEL, |_| Some(()), heard));
    tokio::spawn(async move {
        while let Some(message) = hearing.recv().await {
            match message {
                // Arming forgets everything: what changed while nobody listened is not remembered.
                Heard::Listening | Heard::Reconnected => cache.arm(),
                Heard::Notified(()) => cache.forget_all(),
                Heard::Lost => cache.disarm(),
            }
        }
        // The listener ended (the pool closed): remember nothing more.
        cache.disarm();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Credential;
    use koppel_entity::enums::Role;

    fn principal() -> Principal {
        let now = chrono::Utc::now();
        let user = koppel_entity::user::Model {
            id: Uuid::now_v7(),
            account_id: Uuid::now_v7(),
            organisation_id: None,
            username: "anna".into(),
            display_name: None,
            email: None,
            role: Role::Admin,
            password_hash: None,
            active: true,
            created_at: now,
            updated_at: now,
        };
        Principal::new(&user, Credential::Login)
    }

    #[test]
    fn remembers_only_while_armed_and_in_the_generation_it_was_read() {
        let cache = AuthCache::disarmed();
        let p = principal();
        let key = CacheKey::Login { account: p.account_id, user: p.user_id };
        cache.remember(key.clone(), &p, cache.generation());
        assert!(cache.get(&key).is_none(), "a disarmed cache remembers nothing");

        cache.arm();
        cache.remember(key.clone(), &p, cache.generation());
        assert_eq!(cache.get(&key).map(|found| found.user_id), Some(p.user_id));

        cache.forget_all();
        assert!(cache.get(&key).is_none(), "a change forgets everything");

        // A read that started before a change is not stored after it.
        let before = cache.generation();
        cache.forget_all();
        cache.remember(key.clone(), &p, before);
        assert!(cache.get(&key).is_none());

        cache.remember(key.clone(), &p, cache.generation());
        cache.disarm();
        assert!(cache.get(&key).is_none(), "a lost listener forgets everything");
    }
}
