//! How long a failed job waits: exponential in the attempts, with jitter, and never less than the remote
//! asked for.

use rand::Rng;
use std::time::Duration;

/// The first retry waits about this long; each next one twice as long.
const BASE: Duration = Duration::from_secs(10);
/// No retry waits longer than this (unless the remote's `Retry-After` says so).
const CAP: Duration = Duration::from_secs(60 * 60);

/// The wait before the next attempt after `attempts` failed ones: `BASE · 2^(attempts-1)`, capped, with
/// "equal jitter" (half fixed, half random, so that retries of many jobs spread out but never come
/// back at once), and at least `retry_after`.
pub fn retry_delay(attempts: u32, retry_after: Option<Duration>) -> Duration {
    retry_delay_from(BASE, attempts, retry_after)
}

/// [`retry_delay`] with another first wait (the outbox's is an operator setting).
pub fn retry_delay_from(base: Duration, attempts: u32, retry_after: Option<Duration>) -> Duration {
    let exponent = attempts.saturating_sub(1).min(20);
    let full = base.saturating_mul(1u32 << exponent).min(CAP);
    let half = full / 2;
    let jittered = half + half.mul_f64(rand::rng().random::<f64>());
    jittered.max(retry_after.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_within_jitter_and_caps() {
        for _ in 0..100 {
            let first = retry_delay(1, None);
            assert!((Duration::from_secs(5)..=Duration::from_secs(10)).contains(&first), "{first:?}");
            let third = retry_delay(3, None);
            assert!((Duration::from_secs(20)..=Duration::from_secs(40)).contains(&third), "{third:?}");
            let late = retry_delay(30, None);
            assert!((CAP / 2..=CAP).contains(&late), "{late:?}");
        }
    }

    #[test]
    fn honours_retry_after() {
        assert_eq!(retry_delay(1, Some(Duration::from_secs(120))), Duration::from_secs(120));
        assert!(
            retry_delay(10, Some(Duration::from_secs(1))) >= CAP / 2,
            "a short Retry-After does not shorten the backoff"
        );
    }
}
