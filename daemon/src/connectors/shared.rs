//! What the connectors of one integration share in a process: a pass, a connection test and a sale push
//! each build their own connector, but they spend one remote budget (rate limits) and rotate one
//! single-use refresh token. [`SharedByIntegration`] lives in the engine's [`crate::Context`] and hands
//! each connector the [`IntegrationShared`] of its integration.

use reqwest::header::HeaderMap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// The shared state of every integration this process has connected to, by integration id.
#[derive(Clone, Default)]
pub struct SharedByIntegration(Arc<Mutex<HashMap<Uuid, Arc<IntegrationShared>>>>);

impl SharedByIntegration {
    pub fn of(&self, integration_id: Uuid) -> Arc<IntegrationShared> {
        self.0.lock().expect("the shared integration state").entry(integration_id).or_default().clone()
    }
}

/// One integration's shared state.
#[derive(Default)]
pub struct IntegrationShared {
    /// Held while the OAuth tokens are read and, when due, refreshed: one refresh at a time in this
    /// process (other processes are kept out by the compare-and-swap of the token store).
    pub token_lock: tokio::sync::Mutex<()>,
    /// What the remote said of its rate limits.
    pub limits: Mutex<RateBudget>,
}

/// A remote's rate-limit windows as its headers tell them: calls left and when the window starts again.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct RateBudget {
    pub minutely: Option<Window>,
    pub daily: Option<Window>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub remaining: u64,
    /// When the window starts again, in epoch milliseconds.
    pub reset_ms: i64,
}

impl RateBudget {
    /// Takes one call from the budget, or says how long to wait until a window with nothing left starts
    /// again. A window whose reset has passed is forgotten (unknown again until the next answer).
    pub fn take(&mut self, now_ms: i64) -> Option<Duration> {
        let mut wait = 0;
        for window in [&mut self.minutely, &mut self.daily] {
            match window {
                Some(w) if now_ms >= w.reset_ms => *window = None,
                Some(w) if w.remaining == 0 => wait = wait.max(w.reset_ms - now_ms),
                _ => {}
            }
        }
        if wait > 0 {
            return Some(Duration::from_millis(wait as u64));
        }
        for w in [&mut self.minutely, &mut self.daily].into_iter().flatten() {
            w.remaining = w.remaining.saturating_sub(1);
        }
        None
    }

    /// Reads Exact Online's headers: `X-RateLimit-{Remaining,Reset}` (daily) and
    /// `X-RateLimit-Minutely-{Remaining,Reset}`, resets in epoch milliseconds. A header missing leaves
    /// that window as it was (a 429 carries only the headers of the limit it hit).
    pub fn observe(&mut self, headers: &HeaderMap) {
        let number = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        let window = |remaining: &str, reset: &str| {
            Some(Window { remaining: number(remaining)?.max(0) as u64, reset_ms: number(reset)? })
        };
        if let Some(w) = window("x-ratelimit-minutely-remaining", "x-ratelimit-minutely-reset") {
            self.minutely = Some(keep_lowest(self.minutely, w));
        }
        if let Some(w) = window("x-ratelimit-remaining", "x-ratelimit-reset") {
            self.daily = Some(keep_lowest(self.daily, w));
        }
    }
}

/// Answers to calls made in parallel arrive in any order: within one window the lowest count is the
/// latest; a later reset is a new window.
fn keep_lowest(old: Option<Window>, new: Window) -> Window {
    match old {
        Some(old) if old.reset_ms == new.reset_ms => Window { remaining: old.remaining.min(new.remaining), ..new },
        _ => new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_with_nothing_left_is_waited_for_until_its_reset() {
        let mut budget = RateBudget::default();
        assert_eq!(budget.take(1_000), None, "nothing known: go");
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-minutely-remaining", "1".parse().unwrap());
        headers.insert("x-ratelimit-minutely-reset", "60000".parse().unwrap());
        headers.insert("x-ratelimit-remaining", "100".parse().unwrap());
        headers.insert("x-ratelimit-reset", "86400000".parse().unwrap());
        budget.observe(&headers);
        assert_eq!(budget.take(1_000), None, "one call left");
        assert_eq!(budget.take(1_000), Some(Duration::from_millis(59_000)), "none left until the minute ends");
        assert_eq!(budget.daily.unwrap().remaining, 99);
        assert_eq!(budget.take(60_000), None, "a new minute");
        // A late answer of the same window does not raise the count again.
        headers.insert("x-ratelimit-remaining", "150".parse().unwrap());
        budget.observe(&headers);
        assert_eq!(budget.daily.unwrap().remaining, 98);
    }
}
