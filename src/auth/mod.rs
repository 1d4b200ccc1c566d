//! API tokens: HS256 JWTs whose `jti` is stored so they can be revoked and rotated,
//! with permissions and optional CIDR allow-lists. `Principal` is who is calling.
pub mod cache;
pub mod grant;
pub mod oidc;
pub mod password;
pub mod sessions;

use crate::domain::actor::ActorRef;
use crate::domain::time::now_ms;
use crate::error::{AppError, AppResult};
use crate::store::{self, tokens::TokenRow};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::DatabaseConnection;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

pub use crate::domain::permission::Permission;

/// Who is calling: an API token, or a console user signed in with a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    Token { id: String },
    User { id: String, email: String },
}

/// The authenticated caller of a request. Tokens and console sessions both become one
/// of these, and every guard and grant check reads only this: a user is held to its
/// role's permissions exactly as a token is held to its own.
#[derive(Debug, Clone)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// The token's name, or the user's e-mail: recorded in createdBy / lastModifiedBy.
    pub name: String,
    pub permissions: Vec<Permission>,
    /// When the calling token expires (tokens it creates may not outlive it). Never set
    /// for a user: the tokens a user creates are not bound to the session's lifetime.
    pub expires_at: Option<i64>,
    /// Where the calling token may be used from (empty = anywhere); tokens it creates
    /// must stay inside these blocks. Empty for a user.
    pub allowed_cidrs: Vec<ipnet::IpNet>,
}

impl Principal {
    pub fn has(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// The token's or the user's id.
    pub fn id(&self) -> &str {
        match &self.kind {
            PrincipalKind::Token { id } | PrincipalKind::User { id, .. } => id,
        }
    }

    /// The calling token's id (none for a user).
    pub fn token_id(&self) -> Option<&str> {
        match &self.kind {
            PrincipalKind::Token { id } => Some(id),
            PrincipalKind::User { .. } => None,
        }
    }

    /// The user's id (none for a token).
    pub fn user_id(&self) -> Option<&str> {
        match &self.kind {
            PrincipalKind::User { id, .. } => Some(id),
            PrincipalKind::Token { .. } => None,
        }
    }

    /// The reference stored beside what this caller changes.
    pub fn actor(&self) -> ActorRef {
        match &self.kind {
            PrincipalKind::Token { id } => ActorRef::token(id.clone()),
            PrincipalKind::User { id, .. } => ActorRef::user(id.clone()),
        }
    }

    /// "this API token" / "this user's role": how refusals name the caller.
    pub fn described(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Token { .. } => "this API token",
            PrincipalKind::User { .. } => "this user's role",
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Token id.
    sub: String,
    /// Current value id; changes on rotation.
    jti: String,
    iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    /// Never issued by Herald; read so that a cached verification judges it as
    /// the first did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
}

/// Why a presented token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is not valid (the text is for logs only): answered 401.
    #[error("{0}")]
    Refused(String),
    /// The token could not be checked because the store failed: answered 503, retryable.
    #[error("token lookup failed: {0}")]
    Unavailable(String),
}

/// What a newly created or rotated token looks like.
pub struct IssuedToken {
    pub row: TokenRow,
    pub value: String,
}

#[derive(Clone)]
pub struct Tokens {
    db: DatabaseConnection,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// `lastUsedAt` updates, coalesced and flushed by [`Tokens::flush_last_used`].
    last_used: Arc<Mutex<HashMap<String, i64>>>,
    /// Token rows recently read by [`Tokens::authenticate`] (see [`cache`]).
    cache: cache::TokenCache,
    /// Token values whose signature was verified (see [`cache::VerifiedValues`]).
    verified: Arc<cache::VerifiedValues>,
}

const SECRET_SETTING: &str = store::settings::JWT_SECRET;
const MAX_NAME_CHARS: usize = 200;

/// A CIDR block (`10.0.0.0/8`, `2001:db8::/32`) or a single address (`203.0.113.7`).
pub fn parse_cidr(s: &str) -> AppResult<ipnet::IpNet> {
    let s = s.trim();
    if let Ok(net) = s.parse::<ipnet::IpNet>() {
        return Ok(net.trunc());
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ipnet::IpNet::from(ip));
    }
    Err(AppError::BadInput(format!(
        "{s:?} is not a CIDR block (such as 10.0.0.0/8) or an IP address"
    )))
}

/// The permissions a stored token holds (unknown names are dropped, never widened).
pub fn permissions_of(row: &TokenRow) -> Vec<Permission> {
    let names: Vec<String> = store::from_json(&row.permissions);
    names.iter().filter_map(|n| Permission::parse(n)).collect()
}

impl Tokens {
    /// Use the configured secret, or the one generated once and stored in the database.
    pub async fn new(
        db: DatabaseConnection,
        cipher: &crate::crypto::Cipher,
        configured: Option<&str>,
    ) -> anyhow::Result<Self> {
        let secret = match configured.filter(|s| !s.is_empty()) {
            Some(s) => s.to_string(),
            None => {
                use rand::RngCore;
                let mut bytes = [0u8; 32];
                rand::thread_rng().fill_bytes(&mut bytes);
                let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                store::settings::get_or_insert_secret(&db, cipher, SECRET_SETTING, &fresh).await?
            }
        };
        Ok(Tokens {
            db,
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            last_used: Arc::default(),
            cache: cache::TokenCache::default(),
            verified: Arc::default(),
        })
    }

    fn sign(&self, row: &TokenRow) -> AppResult<String> {
        let claims = Claims {
            sub: row.id.clone(),
            jti: row.current_jti.clone(),
            iat: row.rotated_at.unwrap_or(row.created_at) / 1000,
            exp: row.expires_at.map(|e| e / 1000),
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AppError::Internal(e.into()))
    }

    pub async fn create(
        &self,
        name: &str,
        permissions: &[Permission],
        expires_at: Option<i64>,
        allowed_cidrs: &[ipnet::IpNet],
        created_by: &str,
    ) -> AppResult<IssuedToken> {
        self.create_child(
            name,
            permissions,
            expires_at,
            allowed_cidrs,
            created_by,
            None,
            None,
        )
        .await
    }

    /// Create a token minted by another token (`parent`): revoking the parent revokes it.
    /// `actor` is who created it (a token or a user), when it was not the command line.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_child(
        &self,
        name: &str,
        permissions: &[Permission],
        expires_at: Option<i64>,
        allowed_cidrs: &[ipnet::IpNet],
        created_by: &str,
        parent: Option<&str>,
        actor: Option<&ActorRef>,
    ) -> AppResult<IssuedToken> {
        if name.trim().is_empty() {
            return Err(AppError::BadInput("token name must not be empty".into()));
        }
        if name.trim().chars().count() > MAX_NAME_CHARS {
            return Err(AppError::BadInput(format!(
                "token name is longer than {MAX_NAME_CHARS} characters"
            )));
        }
        let now = now_ms();
        if expires_at.is_some_and(|e| e <= now) {
            return Err(AppError::BadInput("expiresAt must be in the future".into()));
        }
        let mut granted: Vec<Permission> = Vec::new();
        for p in permissions {
            if !granted.contains(p) {
                granted.push(*p);
            }
        }
        let permissions = &granted[..];
        let mut cidrs: Vec<ipnet::IpNet> = Vec::new();
        for c in allowed_cidrs.iter().map(|c| c.trunc()) {
            if !cidrs.contains(&c) {
                cidrs.push(c);
            }
        }
        let allowed_cidrs = &cidrs[..];
        let row = TokenRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.trim().to_string(),
            current_jti: uuid::Uuid::new_v4().to_string(),
            permissions: store::to_json(&permissions.iter().map(|p| p.name()).collect::<Vec<_>>()),
            allowed_cidrs: store::to_json(
                &allowed_cidrs
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>(),
            ),
            created_at: now,
            created_by: created_by.to_string(),
            expires_at,
            last_used_at: None,
            rotated_at: None,
            revoked_at: None,
            parent_id: parent.map(str::to_owned),
            created_by_actor: actor.map(ActorRef::encode),
            rotated_by_actor: None,
        };
        store::tokens::insert(&self.db, row.clone()).await?;
        let value = self.sign(&row)?;
        Ok(IssuedToken { row, value })
    }

    /// New value for a token; the old value is refused from now on.
    pub async fn rotate(&self, id: &str) -> AppResult<IssuedToken> {
        self.rotate_by(id, None).await
    }

    /// [`Tokens::rotate`], recording who rotated it.
    pub async fn rotate_by(&self, id: &str, actor: Option<&ActorRef>) -> AppResult<IssuedToken> {
        let jti = uuid::Uuid::new_v4().to_string();
        let by = actor.map(ActorRef::encode);
        let rotated = store::tokens::rotate(&self.db, id, &jti, now_ms(), by).await;
        self.cache.invalidate();
        if !rotated? {
            return Err(AppError::NotFound(format!("no API token with id {id}")));
        }
        let row = store::tokens::get(&self.db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no API token with id {id}")))?;
        let value = self.sign(&row)?;
        Ok(IssuedToken { row, value })
    }

    /// Revoke a token and every token it minted, recursively, in one transaction.
    /// False when `id` is unknown or already revoked.
    pub async fn revoke(&self, id: &str) -> AppResult<bool> {
        use sea_orm::TransactionTrait;
        let id = id.to_string();
        let now = now_ms();
        let revoked = self
            .db
            .transaction::<_, bool, sea_orm::DbErr>(|txn| {
                Box::pin(async move { store::tokens::revoke_with_descendants(txn, &id, now).await })
            })
            .await;
        // Whether or not it committed (an error may hide a commit), nothing read before
        // is trusted any more.
        self.cache.invalidate();
        let revoked = revoked.map_err(|e| match e {
            sea_orm::TransactionError::Connection(e)
            | sea_orm::TransactionError::Transaction(e) => AppError::from(e),
        })?;
        Ok(revoked)
    }

    pub async fn list(&self) -> AppResult<Vec<TokenRow>> {
        Ok(store::tokens::list(&self.db).await?)
    }

    pub async fn get(&self, id: &str) -> AppResult<Option<TokenRow>> {
        Ok(store::tokens::get(&self.db, id)
            .await?
            .filter(|r| r.revoked_at.is_none()))
    }

    /// Check a token value's signature, algorithm and time claims (see
    /// [`cache::VerifiedValues`] for the values already checked).
    fn verify(&self, value: &str) -> Result<cache::Verified, AuthError> {
        let refused = AuthError::Refused;
        let header = jsonwebtoken::decode_header(value)
            .map_err(|e| refused(format!("malformed token: {e}")))?;
        if header.alg != Algorithm::HS256 {
            return Err(refused(format!(
                "token uses algorithm {:?}; only HS256 is accepted",
                header.alg
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.required_spec_claims.clear();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<Claims>(value, &self.decoding, &validation)
            .map_err(|e| refused(format!("invalid token: {e}")))?
            .claims;
        Ok(cache::Verified {
            sub: claims.sub,
            jti: claims.jti,
            exp: claims.exp,
            nbf: claims.nbf,
        })
    }

    /// Check a presented token. A refusal's text is for logs only; callers answer a
    /// generic `UNAUTHENTICATED`. A store failure is [`AuthError::Unavailable`]: the
    /// token may well be valid, so callers answer 503 and the client retries.
    ///
    /// Refused: anything but an HS256 JWT signed with this server's key (so `alg: none`,
    /// other algorithms, other keys and edited tokens), an unknown or revoked token, an
    /// old value of a rotated token, an expired token (the JWT `exp` and the stored
    /// expiry, checked on every request), and a caller outside the token's CIDR blocks
    /// (likewise). The stored row is cached for at most [`cache::TTL`]: a revocation or
    /// rotation made by this process holds at once, one made by another process sharing
    /// the database within that time.
    pub async fn authenticate(
        &self,
        value: &str,
        remote: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        let refused = AuthError::Refused;
        let claims = match self.verified.get(value) {
            Some(v) if v.in_time(now_ms() / 1000) => v,
            Some(_) => return Err(refused("invalid token: expired, or not yet valid".into())),
            None => {
                let v = Arc::new(self.verify(value)?);
                self.verified.insert(value, v.clone());
                v
            }
        };
        let row = match self.cache.get(&claims.sub, &claims.jti) {
            Some(row) => row,
            None => {
                let start = self.cache.read_start();
                let stored = store::tokens::get(&self.db, &claims.sub)
                    .await
                    .map_err(|e| AuthError::Unavailable(e.to_string()))?
                    .ok_or_else(|| refused("unknown token".into()))?;
                let row = Arc::new(cache::CachedToken::from_row(&stored));
                self.cache.insert(start, row.clone());
                row
            }
        };
        if row.revoked {
            return Err(refused(format!("token {} is revoked", row.id)));
        }
        if row.current_jti != claims.jti {
            return Err(refused(format!(
                "token {} was rotated; old value used",
                row.id
            )));
        }
        let now = now_ms();
        if row.expires_at.is_some_and(|e| e <= now) {
            return Err(refused(format!("token {} expired", row.id)));
        }
        let cidrs = &row.allowed_cidrs;
        if !cidrs.is_empty() {
            // An IPv4 client of a dual-stack listener shows up as ::ffff:a.b.c.d.
            let remote = remote.map(|ip| ip.to_canonical());
            let allowed = remote.is_some_and(|ip| cidrs.iter().any(|net| net.contains(&ip)));
            if !allowed {
                return Err(refused(format!(
                    "token {} used from {remote:?}, outside its CIDR blocks",
                    row.id
                )));
            }
        }
        self.last_used
            .lock()
            .expect("lock")
            .insert(row.id.clone(), now);
        Ok(Principal {
            kind: PrincipalKind::Token { id: row.id.clone() },
            name: row.name.clone(),
            permissions: row.permissions.clone(),
            expires_at: row.expires_at,
            allowed_cidrs: row.allowed_cidrs.clone(),
        })
    }

    /// `lastUsedAt` of a token, including a use not yet flushed to the database.
    pub fn last_used_at(&self, row: &TokenRow) -> Option<i64> {
        let pending = self.last_used.lock().expect("lock").get(&row.id).copied();
        row.last_used_at.max(pending)
    }

    /// Write the coalesced `lastUsedAt` values (called periodically and at shutdown).
    pub async fn flush_last_used(&self) {
        let pending: Vec<(String, i64)> = self.last_used.lock().expect("lock").drain().collect();
        for (id, at) in pending {
            if let Err(e) = store::tokens::touch(&self.db, &id, at).await {
                tracing::warn!(error = %e, "could not record token use");
            }
        }
    }
}

/// Parse `30d`, `12h`, `90m`, `45s` into milliseconds.
pub fn parse_duration_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = num.parse().ok()?;
    let factor = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    n.checked_mul(factor)
}
