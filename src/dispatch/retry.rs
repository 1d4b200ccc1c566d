//! Retry policy, in one place for every destination type: which outcomes retry, and
//! how long to wait (exponential backoff with full jitter, or the server's Retry-After).
//! How a single reply classifies is the transport's ([`Class`], [`classify`]).
pub use crate::destinations::transport::{classify, Class};
use rand::Rng;
use std::time::Duration;

/// Longest Retry-After honoured, so a hostile server cannot park a delivery forever.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The upper bound of the wait after attempt `attempt` (1-based): base·2^(n−1), capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The wait before the next attempt: the server's Retry-After when given, else a
    /// uniformly random delay in [0, ceiling] (full jitter).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(MAX_RETRY_AFTER);
        }
        let ceiling = self.ceiling(attempt).as_millis() as u64;
        Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling))
    }

    /// Whether another attempt is allowed after `attempt` attempts.
    pub fn may_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_exponential_capped_and_jittered() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(4), Duration::from_millis(800));
        assert_eq!(p.ceiling(5), Duration::from_millis(1000));
        assert_eq!(p.ceiling(64), Duration::from_millis(1000));
        for n in 1..20 {
            assert!(p.delay(n, None) <= p.ceiling(n));
        }
        assert!(p.may_retry(9));
        assert!(!p.may_retry(10));
    }

    #[test]
    fn retry_after_wins_and_is_bounded() {
        let p = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
        };
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(99999))),
            MAX_RETRY_AFTER
        );
    }
}
