//! People: console users and their roles, set-password links, sign-in (password and
//! single sign-on) with rate limits, and the settings they share.
//!
//! Roles carry permissions; a user holds its role's. Whoever creates or changes a role,
//! or gives one to a user, must hold every permission it carries (as with tokens:
//! nobody hands out more than they hold).
use super::{audit, Services};
use crate::auth::oidc::{Oidc, OidcError};
use crate::auth::sessions::{digest, random_secret, role_permissions, NewSession};
use crate::auth::{grant, password, Permission, Principal};
use crate::domain::actor::ActorRef;
use crate::domain::time::now_ms;
use crate::domain::AuditAction;
use crate::error::{AppError, AppResult};
use crate::store::{
    self,
    sessions::{OidcLoginRow, PasswordLinkRow},
    users::{RoleRow, UserRow},
};
use governor::{clock::Clock, DefaultKeyedRateLimiter, Quota};
use sea_orm::{DatabaseConnection, TransactionTrait};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

/// `status` of a user who has not set a password yet (Panther's Cognito wording).
pub const STATUS_INVITED: &str = "FORCE_CHANGE_PASSWORD";
/// `status` of a user who has set a password or signed in through SSO.
pub const STATUS_CONFIRMED: &str = "CONFIRMED";
/// How long an SSO sign-in may take between the redirect and the callback.
const OIDC_LOGIN_TTL_MS: i64 = 10 * 60_000;
const MAX_NAME_CHARS: usize = 200;
/// Keys a sign-in limiter holds before the recovered ones are dropped.
const LIMITER_KEYS: usize = 10_000;

/// Where set-password links point and how long they live.
#[derive(Debug, Clone)]
pub struct LinkSettings {
    /// Herald's public base URL (`HERALD_PUBLIC_URL`).
    pub public_url: String,
    pub ttl_ms: i64,
}

/// Settings and state of sign-in, shared by every request.
#[derive(Clone)]
pub struct People {
    pub links: LinkSettings,
    /// Cookies are `Secure` when the public URL is https.
    pub secure_cookies: bool,
    pub oidc: Option<Oidc>,
    per_account: Arc<DefaultKeyedRateLimiter<String>>,
    per_address: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl People {
    pub fn new(
        links: LinkSettings,
        attempts_per_minute: u32,
        oidc: Option<Oidc>,
    ) -> anyhow::Result<Self> {
        let n = NonZeroU32::new(attempts_per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        let n4 = NonZeroU32::new(attempts_per_minute.max(1).saturating_mul(4))
            .unwrap_or(NonZeroU32::MIN);
        Ok(People {
            secure_cookies: links.public_url.starts_with("https://"),
            links,
            oidc,
            per_account: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(n).allow_burst(n),
            )),
            per_address: Arc::new(DefaultKeyedRateLimiter::keyed(
                Quota::per_minute(n4).allow_burst(n4),
            )),
        })
    }
}

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown e-mail or wrong password: one answer for both.
    #[error("the e-mail or password is not correct")]
    Invalid,
    #[error("this user is disabled")]
    Disabled,
    /// Too many attempts for this account or from this address.
    #[error("too many sign-in attempts; retry in {0} s")]
    RateLimited(u64),
    #[error("{0}")]
    App(#[from] AppError),
    #[error("{0}")]
    Sso(String),
}

// -------------------------------------------------------------------------- checking

/// An e-mail address as stored: trimmed, and valid (RFC 5322 addr-spec, with a domain).
pub fn checked_email(email: &str) -> AppResult<String> {
    let email = email.trim();
    let ok = email_address::EmailAddress::parse_with_options(
        email,
        email_address::Options::default()
            .without_display_text()
            .without_domain_literal(),
    )
    .is_ok_and(|_| email.len() <= 254);
    if !ok {
        return Err(AppError::BadInput(format!(
            "{email:?} is not a valid e-mail address"
        )));
    }
    Ok(email.to_string())
}

fn checked_name(field: &str, v: Option<String>) -> AppResult<Option<String>> {
    let v = v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if v.as_ref()
        .is_some_and(|s| s.chars().count() > MAX_NAME_CHARS || s.chars().any(char::is_control))
    {
        return Err(AppError::BadInput(format!(
            "{field} must be at most {MAX_NAME_CHARS} characters, without control characters"
        )));
    }
    Ok(v)
}

/// How a role is named in input: by id or by name (case-insensitive).
#[derive(Debug, Clone)]
pub enum RoleRef {
    Id(String),
    Name(String),
}

pub async fn find_role(db: &DatabaseConnection, r: &RoleRef) -> AppResult<RoleRow> {
    match r {
        RoleRef::Id(id) => store::users::role(db, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no role with id {id}"))),
        RoleRef::Name(name) => store::users::role_by_name(db, name)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no role named {name:?}"))),
    }
}

/// A role by id, or else by name: what the command line and SSO settings accept.
pub async fn role_by_id_or_name(db: &DatabaseConnection, r: &str) -> AppResult<RoleRow> {
    match store::users::role(db, r).await? {
        Some(role) => Ok(role),
        None => find_role(db, &RoleRef::Name(r.to_string())).await,
    }
}

// ----------------------------------------------------------------------------- users

/// A new user.
pub struct NewUser {
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub role: RoleRef,
}

/// Create a user (not yet able to sign in with a password) and a one-time link to set
/// it. `caller` is none for the command line, which may give any role.
pub async fn create_user(
    db: &DatabaseConnection,
    links: &LinkSettings,
    caller: Option<&Principal>,
    u: NewUser,
) -> AppResult<(UserRow, String)> {
    let email = checked_email(&u.email)?;
    let given_name = checked_name("givenName", u.given_name)?;
    let family_name = checked_name("familyName", u.family_name)?;
    let role = find_role(db, &u.role).await?;
    if let Some(caller) = caller {
        grant::check_grantable(caller, &role_permissions(&role), "give a role holding")?;
    }
    if store::users::find_by_email(db, &email).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "a user with e-mail {email} exists"
        )));
    }
    let now = now_ms();
    let row = UserRow {
        id: uuid::Uuid::new_v4().to_string(),
        email_key: email.to_lowercase(),
        email,
        given_name,
        family_name,
        role_id: role.id,
        enabled: true,
        status: STATUS_INVITED.into(),
        password_hash: None,
        created_at: now,
        updated_at: now,
        last_logged_in_at: None,
    };
    store::users::insert(db, row.clone()).await.map_err(|e| {
        // Two invitations of one address at once: the unique index decides.
        if e.to_string().to_lowercase().contains("unique") {
            AppError::Conflict(format!("a user with e-mail {} exists", row.email))
        } else {
            e.into()
        }
    })?;
    let link = new_link(db, links, &row.id).await?;
    tracing::info!(user = %row.id, email = %row.email, "user created");
    if let Some(caller) = caller {
        let after = Some(audit::user(&row));
        audit::record_committed(db, caller, AuditAction::CreateUser, &row.id, None, after).await;
    }
    Ok((row, link))
}

/// A fresh one-time set-password link for a user (earlier unused links stop working).
pub async fn new_link(
    db: &DatabaseConnection,
    links: &LinkSettings,
    user_id: &str,
) -> AppResult<String> {
    let token = random_secret();
    let now = now_ms();
    store::sessions::void_links(db, user_id, now).await?;
    store::sessions::insert_link(
        db,
        PasswordLinkRow {
            token_hash: digest(&token),
            user_id: user_id.to_string(),
            created_at: now,
            expires_at: now + links.ttl_ms,
            used_at: None,
        },
    )
    .await?;
    Ok(format!(
        "{}/auth/set-password?token={token}",
        links.public_url.trim_end_matches('/')
    ))
}

/// Invite a user: created with a role and a one-time set-password link.
pub async fn invite(s: &Services, caller: &Principal, u: NewUser) -> AppResult<(UserRow, String)> {
    create_user(&s.db, &s.people.links, Some(caller), u).await
}

pub async fn user(s: &Services, id: &str) -> AppResult<UserRow> {
    store::users::get(&s.db, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user with id {id}")))
}

pub async fn user_by_email(s: &Services, email: &str) -> AppResult<UserRow> {
    store::users::find_by_email(&s.db, email)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no user with e-mail {}", email.trim())))
}

/// What `updateUser` changes (absent fields stay).
#[derive(Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub role: Option<RoleRef>,
    pub enabled: Option<bool>,
}

/// Change a user. Disabling one ends their sessions at once.
pub async fn update_user(
    s: &Services,
    caller: &Principal,
    id: &str,
    c: UserChanges,
) -> AppResult<UserRow> {
    let mut row = user(s, id).await?;
    let before = audit::user(&row);
    if let Some(email) = c.email {
        let email = checked_email(&email)?;
        if let Some(other) = store::users::find_by_email(&s.db, &email).await? {
            if other.id != row.id {
                return Err(AppError::Conflict(format!(
                    "a user with e-mail {email} exists"
                )));
            }
        }
        row.email_key = email.to_lowercase();
        row.email = email;
    }
    if c.given_name.is_some() {
        row.given_name = checked_name("givenName", c.given_name)?;
    }
    if c.family_name.is_some() {
        row.family_name = checked_name("familyName", c.family_name)?;
    }
    if let Some(r) = &c.role {
        let role = find_role(&s.db, r).await?;
        grant::check_grantable(caller, &role_permissions(&role), "give a role holding")?;
        row.role_id = role.id;
    }
    let disabling = c.enabled == Some(false) && row.enabled;
    if let Some(enabled) = c.enabled {
        if !enabled && caller.user_id() == Some(row.id.as_str()) {
            return Err(AppError::BadInput("you cannot disable yourself".into()));
        }
        row.enabled = enabled;
    }
    row.updated_at = now_ms();
    store::users::update(&s.db, row.clone()).await?;
    if disabling {
        let ended = s.sessions.end_all(&row.id).await?;
        tracing::info!(user = %row.id, sessions = ended, "user disabled; sessions ended");
    }
    let after = Some(audit::user(&row));
    audit::record_committed(
        &s.db,
        caller,
        AuditAction::UpdateUser,
        &row.id,
        Some(before),
        after,
    )
    .await;
    Ok(row)
}

/// Delete a user: their sessions and unused links end with them.
pub async fn delete_user(s: &Services, caller: &Principal, id: &str) -> AppResult<()> {
    if caller.user_id() == Some(id) {
        return Err(AppError::BadInput("you cannot delete yourself".into()));
    }
    let before = audit::user(&user(s, id).await?);
    let now = now_ms();
    let txn = s.db.begin().await?;
    if !store::users::delete(&txn, id).await? {
        return Err(AppError::NotFound(format!("no user with id {id}")));
    }
    store::sessions::revoke_user(&txn, id, now).await?;
    store::sessions::void_links(&txn, id, now).await?;
    audit::record(
        &txn,
        caller,
        AuditAction::DeleteUser,
        id,
        Some(before),
        None,
    )
    .await?;
    txn.commit().await?;
    tracing::info!(user = %id, by = %caller.name, "user deleted");
    Ok(())
}

/// A new one-time set-password link for an existing user (a forgotten password).
/// Issuing it hands out the user's access, so the caller must hold what their role
/// holds. Earlier links stop working; the current password works until the link is used.
pub async fn reset_password(
    s: &Services,
    caller: &Principal,
    id: &str,
) -> AppResult<(UserRow, String)> {
    let row = user(s, id).await?;
    let role = find_role(&s.db, &RoleRef::Id(row.role_id.clone())).await?;
    grant::check_grantable(
        caller,
        &role_permissions(&role),
        "reset the password of a user holding",
    )?;
    let link = new_link(&s.db, &s.people.links, &row.id).await?;
    let mut after = audit::user(&row);
    after["passwordLinkIssued"] = serde_json::Value::Bool(true);
    let before = Some(audit::user(&row));
    audit::record_committed(
        &s.db,
        caller,
        AuditAction::UpdateUser,
        &row.id,
        before,
        Some(after),
    )
    .await;
    Ok((row, link))
}

/// Set a password with a one-time link's token. Every session of the user ends.
pub async fn set_password(s: &Services, token: &str, new_password: &str) -> AppResult<UserRow> {
    password::check_new(new_password)?;
    let invalid = || {
        AppError::BadInput(
            "this link is not valid: it expired, was used already, or was replaced by a newer one"
                .into(),
        )
    };
    let hash = digest(token.trim());
    let link = store::sessions::link(&s.db, &hash)
        .await?
        .ok_or_else(invalid)?;
    let now = now_ms();
    if link.used_at.is_some() || link.expires_at <= now {
        return Err(invalid());
    }
    let phc = password::hash(new_password).await?;
    let txn = s.db.begin().await?;
    if !store::sessions::use_link(&txn, &hash, now).await? {
        return Err(invalid());
    }
    let mut row = store::users::get(&txn, &link.user_id)
        .await?
        .ok_or_else(invalid)?;
    row.password_hash = Some(phc);
    row.status = STATUS_CONFIRMED.into();
    row.updated_at = now;
    store::users::update(&txn, row.clone()).await?;
    store::sessions::revoke_user(&txn, &row.id, now).await?;
    txn.commit().await?;
    tracing::info!(user = %row.id, "password set; the user's sessions ended");
    Ok(row)
}

// ----------------------------------------------------------------------------- roles

fn role_permissions_json(p: &[Permission]) -> String {
    let mut names: Vec<String> = Vec::new();
    for n in p.iter().map(|p| p.name()) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    store::to_json(&names)
}

fn checked_role_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::BadInput("a role's name must not be empty".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(AppError::BadInput(format!(
            "a role's name must be at most {MAX_NAME_CHARS} characters, without control characters"
        )));
    }
    Ok(name.to_string())
}

async fn name_free(s: &Services, name: &str, except: Option<&str>) -> AppResult<()> {
    if let Some(other) = store::users::role_by_name(&s.db, name).await? {
        if Some(other.id.as_str()) != except {
            return Err(AppError::Conflict(format!(
                "a role named {:?} exists (names are compared case-insensitively)",
                other.name
            )));
        }
    }
    Ok(())
}

pub async fn role(s: &Services, id: &str) -> AppResult<RoleRow> {
    find_role(&s.db, &RoleRef::Id(id.to_string())).await
}

pub async fn role_by_name(s: &Services, name: &str) -> AppResult<RoleRow> {
    find_role(&s.db, &RoleRef::Name(name.to_string())).await
}

pub async fn create_role(
    s: &Services,
    caller: &Principal,
    name: &str,
    permissions: &[Permission],
) -> AppResult<RoleRow> {
    let name = checked_role_name(name)?;
    grant::check_grantable(caller, permissions, "create a role holding")?;
    name_free(s, &name, None).await?;
    let now = now_ms();
    let row = RoleRow {
        id: uuid::Uuid::new_v4().to_string(),
        name_key: name.to_lowercase(),
        name,
        permissions: role_permissions_json(permissions),
        created_at: now,
        updated_at: now,
        updated_by_actor: Some(caller.actor().encode()),
    };
    store::users::insert_role(&s.db, row.clone()).await?;
    let after = Some(audit::role(&row));
    audit::record_committed(&s.db, caller, AuditAction::CreateRole, &row.id, None, after).await;
    Ok(row)
}

pub async fn update_role(
    s: &Services,
    caller: &Principal,
    id: &str,
    name: Option<&str>,
    permissions: Option<&[Permission]>,
) -> AppResult<RoleRow> {
    let mut row = role(s, id).await?;
    let before = audit::role(&row);
    // Changing a role changes what its users hold: the caller must hold what it had
    // and what it will have.
    grant::check_grantable(caller, &role_permissions(&row), "change a role holding")?;
    if let Some(name) = name {
        let name = checked_role_name(name)?;
        name_free(s, &name, Some(&row.id)).await?;
        row.name_key = name.to_lowercase();
        row.name = name;
    }
    if let Some(p) = permissions {
        grant::check_grantable(caller, p, "give a role")?;
        row.permissions = role_permissions_json(p);
    }
    row.updated_at = now_ms();
    row.updated_by_actor = Some(caller.actor().encode());
    store::users::update_role(&s.db, row.clone()).await?;
    let after = Some(audit::role(&row));
    audit::record_committed(
        &s.db,
        caller,
        AuditAction::UpdateRole,
        &row.id,
        Some(before),
        after,
    )
    .await;
    Ok(row)
}

/// Delete a role no user has.
pub async fn delete_role(s: &Services, caller: &Principal, id: &str) -> AppResult<()> {
    let row = role(s, id).await?;
    grant::check_grantable(caller, &role_permissions(&row), "delete a role holding")?;
    let txn = s.db.begin().await?;
    store::lock(&txn, store::LOCK_CONFIG).await?;
    let users = store::users::count_with_role(&txn, id).await?;
    if users > 0 {
        return Err(AppError::Conflict(format!(
            "the role {:?} is the role of {users} user{}: give them another role first",
            row.name,
            if users == 1 { "" } else { "s" }
        )));
    }
    store::users::delete_role(&txn, id).await?;
    let before = Some(audit::role(&row));
    audit::record(&txn, caller, AuditAction::DeleteRole, id, before, None).await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------------------- sign-in

/// A signed-in user: the session to set as a cookie, the user and their role.
pub struct SignedIn {
    pub session: NewSession,
    pub user: UserRow,
    pub role: RoleRow,
}

/// Count one attempt against a key: `Some(seconds to wait)` when over the limit.
fn over<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
) -> Option<u64> {
    match limiter.check_key(key) {
        Ok(()) => None,
        Err(not_until) => {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            Some(wait.as_secs_f64().ceil().max(1.0) as u64)
        }
    }
}

async fn start_session(s: &Services, user: UserRow) -> Result<SignedIn, LoginError> {
    let role = store::users::role(&s.db, &user.role_id)
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("user {} has no role", user.id)))?;
    let session = s.sessions.start(&user.id).await?;
    let now = now_ms();
    store::users::touch_login(&s.db, &user.id, now)
        .await
        .map_err(AppError::from)?;
    let mut user = user;
    user.last_logged_in_at = Some(now);
    Ok(SignedIn {
        session,
        user,
        role,
    })
}

/// Sign in with e-mail and password. Attempts are limited per account and per client
/// address; an unknown e-mail costs as long as a wrong password and is answered alike.
pub async fn login(
    s: &Services,
    email: &str,
    pw: &str,
    remote: IpAddr,
) -> Result<SignedIn, LoginError> {
    let account = email.trim().to_lowercase();
    // Many different e-mails (a spray) must not grow the limiters without bound: keys
    // whose limit has fully recovered are dropped.
    if s.people.per_account.len() > LIMITER_KEYS || s.people.per_address.len() > LIMITER_KEYS {
        s.people.per_account.retain_recent();
        s.people.per_address.retain_recent();
    }
    let waits = [
        over(&s.people.per_address, &remote.to_canonical()),
        over(&s.people.per_account, &account),
    ];
    if let Some(wait) = waits.into_iter().flatten().max() {
        tracing::warn!(%remote, account = %account, "sign-in rate limited");
        return Err(LoginError::RateLimited(wait));
    }
    let user = store::users::find_by_email(&s.db, &account)
        .await
        .map_err(AppError::from)?;
    let hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
    if !password::verify(pw, hash).await {
        tracing::info!(%remote, account = %account, "sign-in refused: unknown e-mail or wrong password");
        return Err(LoginError::Invalid);
    }
    let user = user.ok_or(LoginError::Invalid)?;
    if !user.enabled {
        return Err(LoginError::Disabled);
    }
    tracing::info!(user = %user.id, %remote, "user signed in");
    start_session(s, user).await
}

/// Start an SSO sign-in: the issuer URL to redirect to.
pub async fn oidc_begin(s: &Services) -> Result<String, LoginError> {
    let oidc = s
        .people
        .oidc
        .as_ref()
        .ok_or_else(|| LoginError::Sso("single sign-on is not configured".into()))?;
    let started = oidc
        .begin()
        .await
        .map_err(|e| LoginError::Sso(e.to_string()))?;
    let now = now_ms();
    store::sessions::insert_oidc(
        &s.db,
        OidcLoginRow {
            state_hash: digest(&started.state),
            nonce: started.nonce,
            pkce_verifier: started.pkce_verifier,
            created_at: now,
            expires_at: now + OIDC_LOGIN_TTL_MS,
        },
    )
    .await
    .map_err(AppError::from)?;
    Ok(started.url)
}

/// Finish an SSO sign-in: check the state, exchange the code, verify the ID token, and
/// find the user by verified e-mail (created with the default role when configured).
pub async fn oidc_callback(s: &Services, code: &str, state: &str) -> Result<SignedIn, LoginError> {
    let oidc = s
        .people
        .oidc
        .as_ref()
        .ok_or_else(|| LoginError::Sso("single sign-on is not configured".into()))?;
    let pending = store::sessions::take_oidc(&s.db, &digest(state), now_ms())
        .await
        .map_err(AppError::from)?
        .ok_or_else(|| {
            LoginError::Sso(
                "this sign-in is unknown, expired or was used already: start again".into(),
            )
        })?;
    let who = oidc
        .finish(code, &pending.nonce, &pending.pkce_verifier)
        .await
        .map_err(|e: OidcError| {
            tracing::warn!(error = %e, "SSO sign-in refused");
            LoginError::Sso(e.to_string())
        })?;
    let user = match store::users::find_by_email(&s.db, &who.email)
        .await
        .map_err(AppError::from)?
    {
        Some(u) => u,
        None => {
            let Some(default_role) = oidc.settings.default_role.as_deref() else {
                return Err(LoginError::Sso(format!(
                    "{} has no Herald user, and no default role is configured for new SSO users (HERALD_OIDC_DEFAULT_ROLE)",
                    who.email
                )));
            };
            let role = role_by_id_or_name(&s.db, default_role).await?;
            let (mut row, _) = create_user(
                &s.db,
                &s.people.links,
                None,
                NewUser {
                    email: who.email.clone(),
                    given_name: who.given_name.clone(),
                    family_name: who.family_name.clone(),
                    role: RoleRef::Id(role.id),
                },
            )
            .await?;
            // No password link is needed: the user signs in through the issuer.
            store::sessions::void_links(&s.db, &row.id, now_ms())
                .await
                .map_err(AppError::from)?;
            row.status = STATUS_CONFIRMED.into();
            store::users::update(&s.db, row.clone())
                .await
                .map_err(AppError::from)?;
            tracing::info!(user = %row.id, email = %row.email, subject = %who.subject, "user created by SSO sign-in");
            let after = Some(audit::user(&row));
            if let Err(e) = audit::record_as(
                &s.db,
                &row.id,
                &row.email,
                AuditAction::CreateUser,
                &row.id,
                None,
                after,
            )
            .await
            {
                tracing::error!(error = %e, "could not record an audit log entry");
            }
            row
        }
    };
    if !user.enabled {
        return Err(LoginError::Disabled);
    }
    tracing::info!(user = %user.id, subject = %who.subject, "user signed in through SSO");
    start_session(s, user).await
}

/// The actor a stored reference names, resolved (none once deleted).
#[derive(Clone)]
pub enum Actor {
    User(UserRow),
    Token(store::tokens::TokenRow),
}

/// Resolve stored actor references in two queries (users, tokens). Deleted users and
/// revoked tokens are absent.
pub async fn actors(
    db: &DatabaseConnection,
    refs: &[ActorRef],
) -> AppResult<Vec<(ActorRef, Actor)>> {
    use crate::domain::actor::ActorKind;
    let ids = |k: ActorKind| -> Vec<String> {
        refs.iter()
            .filter(|r| r.kind == k)
            .map(|r| r.id.clone())
            .collect()
    };
    let mut out = Vec::new();
    for u in store::users::get_many(db, &ids(ActorKind::User)).await? {
        out.push((ActorRef::user(u.id.clone()), Actor::User(u)));
    }
    for t in store::tokens::get_many(db, &ids(ActorKind::Token)).await? {
        if t.revoked_at.is_none() {
            out.push((ActorRef::token(t.id.clone()), Actor::Token(t)));
        }
    }
    Ok(out)
}
