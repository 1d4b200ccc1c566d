//! Retry policy, in one place for every destination type: which outcomes retry, and
//! how long to wait (exponential backoff with full jitter, or the server's Retry-After).
use rand::Rng;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Success,
    /// 408, 429, 5xx, timeouts, connection errors.
    Retryable,
    /// Other 4xx, bad configuration, a template that cannot render.
    Permanent,
}

/// Classify an HTTP status; `None` is a network error or timeout.
pub fn classify(status: Option<u16>) -> Class {
    match status {
        None => Class::Retryable,
        Some(s) if (200..300).contains(&s) => Class::Success,
        Some(408 | 429) => Class::Retryable,
        Some(s) if s >= 500 => Class::Retryable,
        Some(_) => Class::Permanent,
    }
}

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

/// Parse a Retry-After value: delta-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_statuses() {
        assert_eq!(classify(Some(200)), Class::Success);
        assert_eq!(classify(Some(204)), Class::Success);
        assert_eq!(classify(Some(408)), Class::Retryable);
        assert_eq!(classify(Some(429)), Class::Retryable);
        assert_eq!(classify(Some(500)), Class::Retryable);
        assert_eq!(classify(Some(503)), Class::Retryable);
        assert_eq!(classify(None), Class::Retryable);
        assert_eq!(classify(Some(400)), Class::Permanent);
        assert_eq!(classify(Some(404)), Class::Permanent);
        assert_eq!(classify(Some(301)), Class::Permanent);
    }

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

    #[test]
    fn parses_retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
