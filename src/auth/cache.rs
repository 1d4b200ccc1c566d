//! The per-process cache of token rows read by [`super::Tokens::authenticate`], so a
//! request with a known token reads nothing from the database.
//!
//! - An entry is used for at most [`TTL`] after the read that produced it *started*, so
//!   a revocation or rotation committed by another process holds here within that time.
//! - A write in this process (rotate, revoke) calls [`TokenCache::invalidate`] after its
//!   commit: every entry is dropped and the generation moves on, so a read that started
//!   before the write and finishes after it cannot put the old row back.
//! - The row's checks (revoked, current value, expiry, CIDR blocks) run on every request
//!   against the cached row, so expiry is exact and CIDR blocks always apply.
use super::Permission;
use crate::store::tokens::TokenRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a row read from the database is trusted in this process.
pub const TTL: Duration = Duration::from_secs(1);

/// Entries beyond this are pruned (stale ones first) before another is added.
const MAX_ENTRIES: usize = 10_000;

/// A token row as the checks need it, its JSON columns parsed once.
#[derive(Debug)]
pub struct CachedToken {
    pub id: String,
    pub name: String,
    pub current_jti: String,
    pub revoked: bool,
    pub expires_at: Option<i64>,
    pub permissions: Vec<Permission>,
    pub allowed_cidrs: Vec<ipnet::IpNet>,
}

impl CachedToken {
    pub fn from_row(row: &TokenRow) -> Self {
        let cidrs: Vec<String> = crate::store::from_json(&row.allowed_cidrs);
        CachedToken {
            id: row.id.clone(),
            name: row.name.clone(),
            current_jti: row.current_jti.clone(),
            revoked: row.revoked_at.is_some(),
            expires_at: row.expires_at,
            permissions: super::permissions_of(row),
            allowed_cidrs: cidrs.iter().filter_map(|c| c.parse().ok()).collect(),
        }
    }
}

struct Entry {
    token: Arc<CachedToken>,
    /// When the read that produced this entry started.
    read_at: Instant,
}

#[derive(Default)]
struct Inner {
    /// By token id; one entry holds the value id (`jti`) current when it was read.
    entries: HashMap<String, Entry>,
    /// Moves on at every invalidation.
    generation: u64,
}

/// Token id and value id → the row as read, shared by every clone of `Tokens`.
#[derive(Clone, Default)]
pub struct TokenCache {
    inner: Arc<Mutex<Inner>>,
}

/// Where a read began: pass it back to [`TokenCache::insert`].
pub struct ReadStart {
    generation: u64,
    at: Instant,
}

impl TokenCache {
    /// The fresh row of token `id` whose current value is `jti`, or (revocation being
    /// final) its fresh revoked row whatever `jti` is. A row holding another value is
    /// a miss: the token may have been rotated since, so it is read again.
    pub fn get(&self, id: &str, jti: &str) -> Option<Arc<CachedToken>> {
        let inner = self.inner.lock().expect("token cache lock");
        let entry = inner.entries.get(id)?;
        let usable = entry.read_at.elapsed() < TTL
            && (entry.token.revoked || entry.token.current_jti == jti);
        usable.then(|| entry.token.clone())
    }

    /// Call before reading a row from the database.
    pub fn read_start(&self) -> ReadStart {
        let generation = self.inner.lock().expect("token cache lock").generation;
        ReadStart {
            generation,
            at: Instant::now(),
        }
    }

    /// Keep a row read since `start`, unless an invalidation came in between.
    pub fn insert(&self, start: ReadStart, token: Arc<CachedToken>) {
        let mut inner = self.inner.lock().expect("token cache lock");
        if inner.generation != start.generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES && !inner.entries.contains_key(&token.id) {
            inner.entries.retain(|_, e| e.read_at.elapsed() < TTL);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(
            token.id.clone(),
            Entry {
                token,
                read_at: start.at,
            },
        );
    }

    /// Forget every row (after a token write in this process has committed).
    pub fn invalidate(&self) {
        let mut inner = self.inner.lock().expect("token cache lock");
        inner.generation += 1;
        inner.entries.clear();
    }
}

/// Token values whose signature this process has verified, with the claims the
/// per-request checks need: a known value skips the HMAC and JSON decoding (5% of a
/// `createAlert` request's CPU, measured). The signing key is fixed for the life of
/// [`super::Tokens`], so a value verified once verifies again; its time claims are
/// checked at every use ([`Verified::in_time`]), and revocation, rotation and expiry
/// of the row are checked as for any request. Bounded: the least recently used value
/// goes first. Only values that passed verification are kept.
pub struct VerifiedValues {
    values: Mutex<lru::LruCache<Box<str>, Arc<Verified>>>,
}

/// What a verified value claims.
#[derive(Debug)]
pub struct Verified {
    pub sub: String,
    pub jti: String,
    /// Seconds since the epoch, as in the token.
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
}

impl Verified {
    /// Whether the value may be used at `now` (seconds), as the verification judged
    /// with no leeway: not after `exp`, not before `nbf`.
    pub fn in_time(&self, now: i64) -> bool {
        self.exp.is_none_or(|exp| exp >= now) && self.nbf.is_none_or(|nbf| nbf <= now)
    }
}

/// Verified values kept per process.
const MAX_VERIFIED: usize = 4096;

impl Default for VerifiedValues {
    fn default() -> Self {
        VerifiedValues {
            values: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(MAX_VERIFIED).expect("non-zero"),
            )),
        }
    }
}

impl VerifiedValues {
    pub fn get(&self, value: &str) -> Option<Arc<Verified>> {
        self.values
            .lock()
            .expect("verified tokens lock")
            .get(value)
            .cloned()
    }

    pub fn insert(&self, value: &str, verified: Arc<Verified>) {
        self.values
            .lock()
            .expect("verified tokens lock")
            .put(value.into(), verified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(id: &str, jti: &str, revoked: bool) -> Arc<CachedToken> {
        Arc::new(CachedToken {
            id: id.into(),
            name: id.into(),
            current_jti: jti.into(),
            revoked,
            expires_at: None,
            permissions: vec![],
            allowed_cidrs: vec![],
        })
    }

    #[test]
    fn hit_only_for_the_current_value_or_a_revoked_row() {
        let c = TokenCache::default();
        c.insert(c.read_start(), token("t", "j1", false));
        assert!(c.get("t", "j1").is_some());
        assert!(c.get("t", "j2").is_none(), "another value is read again");
        assert!(c.get("u", "j1").is_none());
        c.insert(c.read_start(), token("r", "j1", true));
        assert!(c.get("r", "j9").is_some_and(|t| t.revoked));
    }

    #[test]
    fn a_read_overtaken_by_an_invalidation_is_not_kept() {
        let c = TokenCache::default();
        c.insert(c.read_start(), token("t", "j1", false));
        let start = c.read_start();
        c.invalidate();
        assert!(c.get("t", "j1").is_none(), "invalidation drops entries");
        c.insert(start, token("t", "j1", false));
        assert!(c.get("t", "j1").is_none(), "the stale read is not kept");
        c.insert(c.read_start(), token("t", "j1", false));
        assert!(c.get("t", "j1").is_some());
    }

    #[test]
    fn entries_expire_after_the_ttl_from_the_start_of_their_read() {
        let c = TokenCache::default();
        let mut start = c.read_start();
        start.at = Instant::now()
            .checked_sub(TTL)
            .expect("uptime over a second");
        c.insert(start, token("t", "j1", false));
        assert!(c.get("t", "j1").is_none());
    }

    #[test]
    fn a_verified_value_is_in_time_only_between_its_nbf_and_exp() {
        let v = |exp, nbf| Verified {
            sub: "t".into(),
            jti: "j".into(),
            exp,
            nbf,
        };
        assert!(v(None, None).in_time(100));
        assert!(v(Some(100), None).in_time(100), "exp itself is still valid");
        assert!(!v(Some(99), None).in_time(100));
        assert!(v(None, Some(100)).in_time(100));
        assert!(!v(None, Some(101)).in_time(100));
    }

    #[test]
    fn verified_values_stay_bounded() {
        let c = VerifiedValues::default();
        for i in 0..MAX_VERIFIED + 5 {
            let v = Verified {
                sub: i.to_string(),
                jti: "j".into(),
                exp: None,
                nbf: None,
            };
            c.insert(&i.to_string(), Arc::new(v));
        }
        assert_eq!(c.values.lock().unwrap().len(), MAX_VERIFIED);
        assert!(c.get("0").is_none(), "the least recently used went first");
        assert!(c.get(&(MAX_VERIFIED + 4).to_string()).is_some());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let c = TokenCache::default();
        for i in 0..MAX_ENTRIES + 5 {
            c.insert(c.read_start(), token(&i.to_string(), "j", false));
        }
        assert!(c.inner.lock().unwrap().entries.len() <= MAX_ENTRIES);
        assert!(c.get(&(MAX_ENTRIES + 4).to_string(), "j").is_some());
    }
}
