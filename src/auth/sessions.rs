//! Console sessions: a random cookie value whose SHA-256 is a row in `sessions`. A
//! session ends when it has been idle too long, at its absolute expiry, at logout,
//! and whenever its user is disabled, deleted or changes password; every request reads
//! the session, the user and the role again, so any of these holds at once.
use super::{AuthError, Permission, Principal, PrincipalKind};
use crate::domain::time::now_ms;
use crate::error::AppResult;
use crate::store::{self, sessions::SessionRow, users::UserRow};
use sea_orm::DatabaseConnection;

/// The cookie that carries a console session.
pub const COOKIE: &str = "herald_session";

/// A session is touched (its idle timer restarted) at most this often.
const TOUCH_EVERY_MS: i64 = 30_000;

/// A new random secret: 32 bytes, base64url without padding.
pub fn random_secret() -> String {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a secret: its SHA-256, hex.
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The permissions a role row holds (unknown names are dropped, never widened).
pub fn role_permissions(row: &store::users::RoleRow) -> Vec<Permission> {
    let names: Vec<String> = store::from_json(&row.permissions);
    names.iter().filter_map(|n| Permission::parse(n)).collect()
}

/// A session just started: the cookie value (shown once) and when it ends at the latest.
pub struct NewSession {
    pub value: String,
    pub expires_at: i64,
}

#[derive(Clone)]
pub struct Sessions {
    db: DatabaseConnection,
    idle_ms: i64,
    max_ms: i64,
}

impl Sessions {
    pub fn new(db: DatabaseConnection, idle_ms: i64, max_ms: i64) -> Self {
        Sessions {
            db,
            idle_ms,
            max_ms,
        }
    }

    /// How long a session lasts at most (the cookie's Max-Age).
    pub fn max_ms(&self) -> i64 {
        self.max_ms
    }

    /// Start a session for a user.
    pub async fn start(&self, user_id: &str) -> AppResult<NewSession> {
        let value = random_secret();
        let now = now_ms();
        let expires_at = now + self.max_ms;
        store::sessions::insert(
            &self.db,
            SessionRow {
                id_hash: digest(&value),
                user_id: user_id.to_string(),
                created_at: now,
                last_seen_at: now,
                expires_at,
                revoked_at: None,
            },
        )
        .await?;
        // Sessions that ended a day ago or more are of no use to anyone.
        if let Err(e) = store::sessions::purge(&self.db, now - 86_400_000).await {
            tracing::warn!(error = %e, "could not forget ended sessions");
        }
        Ok(NewSession { value, expires_at })
    }

    /// End the session a cookie carries (logout). False when it was not live.
    pub async fn end(&self, value: &str) -> AppResult<bool> {
        Ok(store::sessions::revoke(&self.db, &digest(value), now_ms()).await?)
    }

    /// End every session of a user (disabled, deleted, password changed).
    pub async fn end_all(&self, user_id: &str) -> AppResult<u64> {
        Ok(store::sessions::revoke_user(&self.db, user_id, now_ms()).await?)
    }

    /// The user behind a session cookie, with their role's permissions. The refusal's
    /// text is for logs only.
    pub async fn authenticate(&self, value: &str) -> Result<Principal, AuthError> {
        let (principal, _) = self.user_of(value).await?;
        Ok(principal)
    }

    /// [`Sessions::authenticate`], with the user row.
    pub async fn user_of(&self, value: &str) -> Result<(Principal, UserRow), AuthError> {
        let refused = AuthError::Refused;
        let unavailable = |e: sea_orm::DbErr| AuthError::Unavailable(e.to_string());
        let hash = digest(value);
        let session = store::sessions::get(&self.db, &hash)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| refused("unknown session".into()))?;
        let now = now_ms();
        if session.revoked_at.is_some() {
            return Err(refused("the session was ended".into()));
        }
        if session.expires_at <= now {
            return Err(refused("the session expired".into()));
        }
        if session.last_seen_at + self.idle_ms <= now {
            return Err(refused("the session was idle too long".into()));
        }
        let user = store::users::get(&self.db, &session.user_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| refused("the session's user was deleted".into()))?;
        if !user.enabled {
            return Err(refused(format!("user {} is disabled", user.id)));
        }
        let role = store::users::role(&self.db, &user.role_id)
            .await
            .map_err(unavailable)?
            .ok_or_else(|| refused(format!("user {} has no role", user.id)))?;
        if now - session.last_seen_at >= TOUCH_EVERY_MS {
            if let Err(e) = store::sessions::touch(&self.db, &hash, now).await {
                tracing::warn!(error = %e, "could not record session use");
            }
        }
        let principal = Principal {
            kind: PrincipalKind::User {
                id: user.id.clone(),
                email: user.email.clone(),
            },
            name: user.email.clone(),
            permissions: role_permissions(&role),
            expires_at: None,
            allowed_cidrs: Vec::new(),
        };
        Ok((principal, user))
    }
}
