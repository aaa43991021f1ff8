//! Rate limits at the edge: requests per client address and per bearer token, and login attempts per
//! account and username and per client address.
//!
//! Each limit is a keyed GCRA limiter from `governor`: `n` per minute allows a burst of `n`, then one more
//! every `60 / n` seconds. A refusal says when the next attempt can pass, which the HTTP layer sends as
//! `Retry-After`. Keys are forgotten once they are back to a full burst (`retain_recent`, run every
//! [`CLEAN_UP_EVERY`] checks), so a scan from many addresses cannot grow the maps without bound.
//!
//! This module is a leaf: it knows addresses, strings and durations, not requests, users or errors.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::hash::{BuildHasher, Hash, RandomState};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How many checks pass between two clean-ups of the keyed stores.
const CLEAN_UP_EVERY: u64 = 4096;

/// The address a request came from, as the server saw it (put into the GraphQL request's data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// The limits, each in events per minute.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub requests_per_address: NonZeroU32,
    pub requests_per_token: NonZeroU32,
    pub logins_per_user: NonZeroU32,
    pub logins_per_address: NonZeroU32,
}

/// A refused attempt: the caller may try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

impl Refused {
    /// `Retry-After` in whole seconds, rounded up and at least 1 (`0` would invite an immediate retry).
    pub fn retry_after_seconds(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

/// The limiters of one server.
pub struct RateLimits {
    per_address: Limiter<IpAddr>,
    per_token: Limiter<u64>,
    logins_per_user: Limiter<(String, String)>,
    logins_per_address: Limiter<IpAddr>,
    /// Tokens are keyed by a keyed hash, so that secrets do not sit in the limiter's map.
    token_hasher: RandomState,
    checks: AtomicU64,
}

struct Limiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn per_minute(n: NonZeroU32) -> Self {
        Self { limiter: DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)), clock: DefaultClock::default() }
    }

    fn check(&self, key: &K) -> Result<(), Refused> {
        self.limiter
            .check_key(key)
            .map_err(|not_until| Refused { retry_after: not_until.wait_time_from(self.clock.now()) })
    }

    fn clean_up(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

impl RateLimits {
    pub fn new(settings: Settings) -> Self {
        Self {
            per_address: Limiter::per_minute(settings.requests_per_address),
            per_token: Limiter::per_minute(settings.requests_per_token),
            logins_per_user: Limiter::per_minute(settings.logins_per_user),
            logins_per_address: Limiter::per_minute(settings.logins_per_address),
            token_hasher: RandomState::new(),
            checks: AtomicU64::new(0),
        }
    }

    /// One request from `address`.
    pub fn check_address(&self, address: IpAddr) -> Result<(), Refused> {
        self.counted();
        self.per_address.check(&address_key(address))
    }

    /// One request with the bearer token `token` (checked before the token is verified, so that a
    /// flood costs no database lookups).
    pub fn check_token(&self, token: &str) -> Result<(), Refused> {
        self.counted();
        self.per_token.check(&self.token_hasher.hash_one(token))
    }

    /// One login attempt for `account`/`username` from `address`, before any password is hashed.
    /// Names are compared as login compares them (account case-insensitive, both trimmed), so that
    /// spelling variants share one budget; unknown names are limited like known ones.
    pub fn check_login(&self, account: &str, username: &str, address: Option<IpAddr>) -> Result<(), Refused> {
        self.counted();
        if let Some(address) = address {
            self.logins_per_address.check(&address_key(address))?;
        }
        let key = (account.trim().to_ascii_lowercase(), username.trim().to_owned());
        self.logins_per_user.check(&key)
    }

    fn counted(&self) {
        if self.checks.fetch_add(1, Ordering::Relaxed) % CLEAN_UP_EVERY == CLEAN_UP_EVERY - 1 {
            self.per_address.clean_up();
            self.per_token.clean_up();
            self.logins_per_user.clean_up();
            self.logins_per_address.clean_up();
        }
    }

    /// How many keys the limiters remember (for tests of the clean-up).
    pub fn remembered_keys(&self) -> usize {
        self.per_address.limiter.len()
            + self.per_token.limiter.len()
            + self.logins_per_user.limiter.len()
            + self.logins_per_address.limiter.len()
    }
}

/// IPv6 clients usually hold a whole /64, so they share one budget; IPv4-mapped addresses count as IPv4.
fn address_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(value: u32) -> NonZeroU32 {
        NonZeroU32::new(value).unwrap()
    }

    fn limits(per_address: u32, per_token: u32, logins: u32, logins_per_address: u32) -> RateLimits {
        RateLimits::new(Settings {
            requests_per_address: n(per_address),
            requests_per_token: n(per_token),
            logins_per_user: n(logins),
            logins_per_address: n(logins_per_address),
        })
    }

    #[test]
    fn the_request_after_the_burst_is_refused_with_a_wait() {
        let limits = limits(3, 100, 100, 100);
        let one: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..3 {
            limits.check_address(one).unwrap();
        }
        let refused = limits.check_address(one).unwrap_err();
        // 3 per minute: the next one is due in about 20 seconds.
        assert!((19..=20).contains(&refused.retry_after_seconds()), "{refused:?}");
        // Another address has its own budget.
        limits.check_address("192.0.2.2".parse().unwrap()).unwrap();
    }

    #[test]
    fn tokens_have_their_own_budgets() {
        let limits = limits(100, 2, 100, 100);
        limits.check_token("kpl_a").unwrap();
        limits.check_token("kpl_a").unwrap();
        assert!(limits.check_token("kpl_a").is_err());
        limits.check_token("kpl_b").unwrap();
    }

    #[test]
    fn logins_count_per_account_and_username_as_login_spells_them() {
        let limits = limits(100, 100, 2, 100);
        limits.check_login("Acme", "admin", None).unwrap();
        limits.check_login(" acme ", "admin ", None).unwrap();
        assert!(limits.check_login("ACME", "admin", None).is_err());
        limits.check_login("acme", "agent", None).unwrap();
        limits.check_login("other", "admin", None).unwrap();
    }

    #[test]
    fn logins_count_per_address_too() {
        let limits = limits(100, 100, 100, 2);
        let address: IpAddr = "2001:db8::1".parse().unwrap();
        limits.check_login("a", "x", Some(address)).unwrap();
        limits.check_login("b", "y", Some(address)).unwrap();
        // Same /64, another user: still the same address budget.
        let neighbour: IpAddr = "2001:db8::2".parse().unwrap();
        assert!(limits.check_login("c", "z", Some(neighbour)).is_err());
        limits.check_login("c", "z", Some("2001:db8:1::1".parse().unwrap())).unwrap();
    }

    #[test]
    fn retry_after_is_whole_seconds_and_never_zero() {
        assert_eq!(Refused { retry_after: Duration::from_millis(1) }.retry_after_seconds(), 1);
        assert_eq!(Refused { retry_after: Duration::from_millis(1500) }.retry_after_seconds(), 2);
        assert_eq!(Refused { retry_after: Duration::from_secs(3) }.retry_after_seconds(), 3);
    }

    #[test]
    fn keys_back_at_a_full_burst_are_forgotten() {
        // 1_000_000 per minute refills a cell in 60 µs, so every key is fresh again almost at once.
        let limits = limits(1_000_000, 1_000_000, 1_000_000, 1_000_000);
        for i in 0..(CLEAN_UP_EVERY as u32 - 1) {
            limits.check_address(IpAddr::from(i.to_be_bytes())).unwrap();
        }
        assert_eq!(limits.remembered_keys(), CLEAN_UP_EVERY as usize - 1);
        std::thread::sleep(Duration::from_millis(5));
        limits.check_address("192.0.2.1".parse().unwrap()).unwrap();
        assert!(limits.remembered_keys() <= 1, "{} keys remembered", limits.remembered_keys());
    }
}
