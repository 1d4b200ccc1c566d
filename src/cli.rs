//! `herald token …`: bootstrapping tokens from the command line; `herald secrets …`:
//! the encryption key of secrets at rest.
use crate::auth::{parse_duration_ms, Permission, Tokens};
use crate::config::{DbArgs, SecretsCommand, TokenCommand, UserCommand};
use crate::domain::time::{now_ms, to_rfc3339};
use crate::domain::AuditAction::{CreateApiToken, DeleteApiToken};
use crate::error::AppError;
use crate::service::audit;
use anyhow::{bail, Context};

async fn tokens(db: &DbArgs) -> anyhow::Result<Tokens> {
    Ok(tokens_and_db(db).await?.0)
}

async fn tokens_and_db(db: &DbArgs) -> anyhow::Result<(Tokens, sea_orm::DatabaseConnection)> {
    let (conn, cipher) = crate::store::open(db, crate::store::Create::Never).await?;
    Ok((
        Tokens::new(conn.clone(), &cipher, db.jwt_secret.as_deref()).await?,
        conn,
    ))
}

/// Token changes made here are audited as the command line's, not a token's.
const CLI_ACTOR: &str = "herald-cli";

pub async fn token(cmd: TokenCommand, db: &DbArgs) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            name,
            permissions,
            expires_in,
            allowed_cidrs,
        } => {
            let cidrs = allowed_cidrs
                .iter()
                .map(|c| {
                    crate::auth::parse_cidr(c).map_err(|e| anyhow::anyhow!("--allowed-cidr: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let perms = if permissions.is_empty() {
                Permission::ALL.to_vec()
            } else {
                permissions
            };
            let expires_at = match expires_in {
                Some(d) => Some(
                    now_ms()
                        + parse_duration_ms(&d).with_context(|| {
                            format!("--expires-in {d:?}: use e.g. 30d, 12h, 90m")
                        })?,
                ),
                None => None,
            };
            let (tokens, conn) = tokens_and_db(db).await?;
            let issued = tokens
                .create(&name, &perms, expires_at, &cidrs, CLI_ACTOR)
                .await
                .map_err(AppError::into_anyhow)
                .context("could not create the token")?;
            let after = Some(audit::api_token(&issued.row));
            audit::record_as(
                &conn,
                CLI_ACTOR,
                CLI_ACTOR,
                CreateApiToken,
                &issued.row.id,
                None,
                after,
            )
            .await?;
            println!("{}", issued.value);
        }
        TokenCommand::List { json } => {
            let list = tokens(db)
                .await?
                .list()
                .await
                .map_err(AppError::into_anyhow)
                .context("could not list the tokens")?;
            if json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|t| {
                        let perms: Vec<String> = crate::store::from_json(&t.permissions);
                        serde_json::json!({
                            "id": t.id,
                            "name": t.name,
                            "permissions": perms,
                            "expiresAt": t.expires_at.map(to_rfc3339),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            // Tab-separated, so `cut -f1` still picks the ids (after the header).
            println!("ID\tNAME\tPERMISSIONS\tEXPIRES");
            for t in list {
                let perms: Vec<String> = crate::store::from_json(&t.permissions);
                println!(
                    "{}\t{}\t{}\t{}",
                    t.id,
                    t.name,
                    perms.join(","),
                    t.expires_at
                        .map(to_rfc3339)
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let (tokens, conn) = tokens_and_db(db).await?;
            let before = tokens
                .get(&id)
                .await
                .map_err(AppError::into_anyhow)
                .with_context(|| format!("could not read the token {id}"))?;
            if !tokens
                .revoke(&id)
                .await
                .map_err(AppError::into_anyhow)
                .with_context(|| format!("could not revoke the token {id}"))?
            {
                bail!("no active token with id {id}");
            }
            let before = before.as_ref().map(audit::api_token);
            audit::record_as(
                &conn,
                CLI_ACTOR,
                CLI_ACTOR,
                DeleteApiToken,
                &id,
                before,
                None,
            )
            .await?;
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}

pub async fn secrets(cmd: SecretsCommand, db: &DbArgs) -> anyhow::Result<()> {
    use crate::crypto::{self, Key, KeySource};
    use crate::store::secrets::{reseal, Pass};
    use crate::store::Create;
    let SecretsCommand::RotateKey { new_key } = cmd;
    crate::store::check_exists(&db.database_url, Create::Never)?;
    let (old, source) = crypto::resolve_key(db)?;
    match &source {
        KeySource::NewFile(p) => bail!(
            "no encryption key to rotate from: HERALD_ENCRYPTION_KEY is unset and the key file {} \
             does not exist (start Herald once to generate it, or set HERALD_ENCRYPTION_KEY)",
            p.display()
        ),
        KeySource::Ephemeral => bail!("an in-memory database has no key to rotate"),
        KeySource::Configured | KeySource::File(_) => {}
    }
    let new = match new_key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(k) => Key::parse(k).map_err(|e| anyhow::anyhow!("--new-key: {e}"))?,
        None => Key::generate(),
    };
    let conn = crate::store::connect_with(&db.database_url, Create::Never).await?;
    // With a key file, the new key is on disk before the commit, so no crash can leave
    // secrets sealed under a key that exists nowhere.
    let pending = match &source {
        KeySource::File(path) => {
            let pending = crypto::pending_key_file(path);
            if pending.exists() {
                bail!(
                    "{} exists: an earlier rotation was interrupted. If the secrets open with \
                     the key in it (try `HERALD_ENCRYPTION_KEY=$(cat {}) herald token list`), \
                     move it over {}; otherwise delete it. Then rotate again",
                    pending.display(),
                    pending.display(),
                    path.display()
                );
            }
            crypto::create_key_file(&pending, &new)
                .with_context(|| format!("writing the new key to {}", pending.display()))?;
            Some((pending, path.clone()))
        }
        _ => None,
    };
    let done = reseal(&conn, &old.cipher(), &new.cipher(), Pass::Rotate)
        .await
        .context("re-encrypting the secrets (nothing was changed)");
    let n = match done {
        Ok(n) => n,
        Err(e) => {
            if let Some((pending, _)) = &pending {
                let _ = std::fs::remove_file(pending);
            }
            return Err(e);
        }
    };
    eprintln!(
        "re-encrypted {} destination secret(s) and {} setting(s) under the new key",
        n.destination_secrets, n.settings
    );
    match pending {
        Some((pending, path)) => {
            crypto::replace_key_file(&pending, &path).with_context(|| {
                format!(
                    "the secrets are now encrypted under the key in {}, but it could not \
                     replace {}: move it there by hand",
                    pending.display(),
                    path.display()
                )
            })?;
            eprintln!("the new key replaced {}", path.display());
        }
        None => {
            println!("{}", new.to_base64());
            eprintln!(
                "set HERALD_ENCRYPTION_KEY to the new key printed above for every Herald \
                 process and command; the old key no longer opens the secrets"
            );
        }
    }
    Ok(())
}

/// `herald user create`: a user with a role, and the one-time link where they set a
/// password (printed alone on stdout). The first administrator is made this way.
pub async fn user(cmd: UserCommand, db: &DbArgs) -> anyhow::Result<()> {
    use crate::service::people::{self, LinkSettings, NewUser};
    let (email, role, given_name, family_name, public_url, invite_ttl_hours) = match cmd {
        UserCommand::Create {
            email,
            role,
            given_name,
            family_name,
            public_url,
            invite_ttl_hours,
        } => (
            email,
            role,
            given_name,
            family_name,
            public_url,
            invite_ttl_hours,
        ),
        UserCommand::ResetPassword {
            email,
            public_url,
            invite_ttl_hours,
        } => return reset_password(db, &email, public_url, invite_ttl_hours).await,
    };
    check_ttl(invite_ttl_hours)?;
    let (conn, _) = crate::store::open(db, crate::store::Create::Never).await?;
    let role = people::role_by_id_or_name(&conn, &role)
        .await
        .map_err(AppError::into_anyhow)
        .with_context(|| format!("--role {role:?}"))?;
    let links = LinkSettings {
        public_url,
        ttl_ms: invite_ttl_hours as i64 * 3_600_000,
    };
    let (user, link) = people::create_user(
        &conn,
        &links,
        None,
        NewUser {
            email,
            given_name,
            family_name,
            role: people::RoleRef::Id(role.id.clone()),
        },
    )
    .await
    .map_err(AppError::into_anyhow)
    .context("could not create the user")?;
    let after = Some(audit::user(&user));
    audit::record_as(
        &conn,
        CLI_ACTOR,
        CLI_ACTOR,
        crate::domain::AuditAction::CreateUser,
        &user.id,
        None,
        after,
    )
    .await?;
    eprintln!(
        "created {} with role {}; the link below sets the password once, within {invite_ttl_hours} h",
        user.email, role.name
    );
    println!("{link}");
    Ok(())
}

fn check_ttl(hours: u64) -> anyhow::Result<()> {
    if hours == 0 || hours > i32::MAX as u64 {
        bail!(
            "--invite-ttl-hours (HERALD_INVITE_TTL_HOURS) must be between 1 and {}",
            i32::MAX
        );
    }
    Ok(())
}

/// `herald user reset-password`: a new one-time link for an existing user.
async fn reset_password(
    db: &DbArgs,
    email: &str,
    public_url: String,
    invite_ttl_hours: u64,
) -> anyhow::Result<()> {
    use crate::service::people::{self, LinkSettings};
    check_ttl(invite_ttl_hours)?;
    let (conn, _) = crate::store::open(db, crate::store::Create::Never).await?;
    let user = crate::store::users::find_by_email(&conn, email)
        .await?
        .with_context(|| format!("no user with e-mail {}", email.trim()))?;
    let links = LinkSettings {
        public_url,
        ttl_ms: invite_ttl_hours as i64 * 3_600_000,
    };
    let link = people::new_link(&conn, &links, &user.id)
        .await
        .map_err(AppError::into_anyhow)
        .context("could not make the link")?;
    let mut after = audit::user(&user);
    after["passwordLinkIssued"] = serde_json::Value::Bool(true);
    audit::record_as(
        &conn,
        CLI_ACTOR,
        CLI_ACTOR,
        crate::domain::AuditAction::UpdateUser,
        &user.id,
        Some(audit::user(&user)),
        Some(after),
    )
    .await?;
    eprintln!(
        "the link below sets the password of {} once, within {invite_ttl_hours} h; earlier links no longer work",
        user.email
    );
    println!("{link}");
    Ok(())
}
