//! Per-destination send limits: requests per second (governor's GCRA), concurrent
//! requests, and a block after a 429 for the whole destination. A delivery that must
//! wait is deferred (back to PENDING, no attempt counted), never failed.
use crate::domain::DestinationId;
use governor::{clock::Clock, DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long to wait before looking again when the destination is at its concurrency.
const CONCURRENCY_RECHECK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub per_second: Option<f64>,
    pub concurrency: Option<usize>,
}

pub struct DestinationLimiter {
    limits: Limits,
    rate: Option<DefaultDirectRateLimiter>,
    in_flight: AtomicUsize,
    /// Wakes a worker waiting for a concurrency slot when one comes free.
    freed: tokio::sync::Notify,
    /// When a slot was last given back: a destination at its concurrency that still
    /// gives slots back is busy, not stuck.
    last_freed: Mutex<Option<Instant>>,
    blocked_until: Mutex<Option<Instant>>,
}

/// Held while a request is in flight; frees the concurrency slot when dropped.
pub struct InFlight(Arc<DestinationLimiter>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        *self.0.last_freed.lock().expect("lock") = Some(Instant::now());
        self.0.freed.notify_one();
    }
}

fn quota(per_second: f64) -> Option<Quota> {
    if per_second >= 1.0 {
        let n = NonZeroU32::new(per_second.floor() as u32)?;
        Some(Quota::per_second(n))
    } else if per_second > 0.0 {
        Quota::with_period(Duration::from_secs_f64(1.0 / per_second))
    } else {
        None
    }
}

impl DestinationLimiter {
    fn new(limits: Limits) -> Self {
        DestinationLimiter {
            limits,
            rate: limits.per_second.and_then(quota).map(RateLimiter::direct),
            in_flight: AtomicUsize::new(0),
            freed: tokio::sync::Notify::new(),
            last_freed: Mutex::new(None),
            blocked_until: Mutex::new(None),
        }
    }

    /// A slot to send now, or how long to wait.
    pub fn try_acquire(self: &Arc<Self>) -> Result<InFlight, Duration> {
        let now = Instant::now();
        if let Some(until) = *self.blocked_until.lock().expect("lock") {
            if until > now {
                return Err(until - now);
            }
        }
        if let Some(max) = self.limits.concurrency {
            if self.in_flight.load(Ordering::SeqCst) >= max {
                return Err(CONCURRENCY_RECHECK);
            }
        }
        if let Some(rate) = &self.rate {
            if let Err(not_until) = rate.check() {
                return Err(
                    not_until.wait_time_from(governor::clock::DefaultClock::default().now())
                );
            }
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Ok(InFlight(self.clone()))
    }

    /// A slot to send, waiting until `deadline` at most: for a concurrency slot, until
    /// one is given back (woken at once, not polled); for the rate or a 429 pause, when
    /// the wait ends before the deadline. Else how long the destination still needs.
    pub async fn acquire_until(
        self: &Arc<Self>,
        deadline: tokio::time::Instant,
    ) -> Result<InFlight, Duration> {
        loop {
            // Registered before looking, so a slot given back in between is not missed.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            match self.try_acquire() {
                Ok(slot) => return Ok(slot),
                Err(wait)
                    if tokio::time::Instant::now() + wait > deadline && !self.at_concurrency() =>
                {
                    return Err(wait)
                }
                Err(wait) if self.at_concurrency() => {
                    if tokio::time::timeout_at(deadline, freed).await.is_err() {
                        return Err(wait);
                    }
                }
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    fn at_concurrency(&self) -> bool {
        self.limits
            .concurrency
            .is_some_and(|max| self.in_flight.load(Ordering::SeqCst) >= max)
    }

    /// Whether a send now would have to wait for a concurrency slot or a 429 pause.
    fn saturated(&self) -> bool {
        self.blocked() || self.at_concurrency()
    }

    /// Paused by a 429 now.
    fn blocked(&self) -> bool {
        self.blocked_until
            .lock()
            .expect("lock")
            .is_some_and(|until| until > Instant::now())
    }

    /// Saturated, and no slot given back for `patience`: paused by a 429, or every
    /// request in flight hanging. (A fast destination at its concurrency gives a slot
    /// back every few milliseconds.)
    fn stalled(&self, patience: Duration) -> bool {
        self.blocked()
            || (self.at_concurrency()
                && self
                    .last_freed
                    .lock()
                    .expect("lock")
                    .is_none_or(|at| at.elapsed() > patience))
    }

    /// The destination said 429: nothing more is sent to it for `wait`.
    pub fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut b = self.blocked_until.lock().expect("lock");
        if b.is_none_or(|cur| cur < until) {
            *b = Some(until);
        }
    }
}

#[derive(Default)]
pub struct Limiters {
    by_destination: Mutex<HashMap<DestinationId, Arc<DestinationLimiter>>>,
}

impl Limiters {
    /// Destinations that cannot take another request now (at their concurrency, or
    /// paused by a 429): the claim leaves their deliveries for later.
    pub fn saturated(&self) -> Vec<DestinationId> {
        self.matching(DestinationLimiter::saturated)
    }

    fn matching(&self, f: impl Fn(&DestinationLimiter) -> bool) -> Vec<DestinationId> {
        self.by_destination
            .lock()
            .expect("lock")
            .iter()
            .filter(|(_, l)| f(l))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Destinations [`saturated`](Self::saturated) that have not given a slot back for
    /// `patience` (paused, or hanging): their queued deliveries go back to the table
    /// rather than hold the queue's room.
    pub fn stalled(&self, patience: Duration) -> Vec<DestinationId> {
        self.matching(|l| l.stalled(patience))
    }

    /// The limiter of a destination, rebuilt when its limits changed.
    pub fn get(&self, output_id: &DestinationId, limits: Limits) -> Arc<DestinationLimiter> {
        let mut map = self.by_destination.lock().expect("lock");
        match map.get(output_id) {
            Some(l) if l.limits == limits => l.clone(),
            _ => {
                let l = Arc::new(DestinationLimiter::new(limits));
                map.insert(output_id.clone(), l.clone());
                l
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_defers_the_second_request() {
        let l = Arc::new(DestinationLimiter::new(Limits {
            per_second: Some(1.0),
            concurrency: None,
        }));
        let first = l.try_acquire();
        assert!(first.is_ok());
        let wait = l
            .try_acquire()
            .err()
            .expect("second request within the second must wait");
        assert!(
            wait > Duration::from_millis(500) && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
    }

    #[test]
    fn concurrency_frees_on_drop() {
        let l = Arc::new(DestinationLimiter::new(Limits {
            per_second: None,
            concurrency: Some(1),
        }));
        let a = l.try_acquire().ok().unwrap();
        assert!(l.try_acquire().is_err());
        drop(a);
        assert!(l.try_acquire().is_ok());
    }

    #[test]
    fn a_block_applies_to_every_delivery() {
        let l = Arc::new(DestinationLimiter::new(Limits {
            per_second: None,
            concurrency: None,
        }));
        l.block_for(Duration::from_secs(2));
        let wait = l.try_acquire().err().unwrap();
        assert!(wait > Duration::from_millis(1900));
    }

    #[test]
    fn fractional_rates_are_periods() {
        let l = Arc::new(DestinationLimiter::new(Limits {
            per_second: Some(0.5),
            concurrency: None,
        }));
        assert!(l.try_acquire().is_ok());
        let wait = l.try_acquire().err().unwrap();
        assert!(wait > Duration::from_millis(1500));
    }
}
