//! `herald token …`: bootstrapping tokens from the command line.
use crate::auth::{parse_duration_ms, Permission, Tokens};
use crate::config::{DbArgs, TokenCommand};
use crate::domain::time::{now_ms, to_rfc3339};
use crate::domain::AuditAction::{CreateApiToken, DeleteApiToken};
use crate::service::audit;
use anyhow::{bail, Context};

async fn tokens(db: &DbArgs) -> anyhow::Result<Tokens> {
    Ok(tokens_and_db(db).await?.0)
}

async fn tokens_and_db(db: &DbArgs) -> anyhow::Result<(Tokens, sea_orm::DatabaseConnection)> {
    let conn = crate::store::connect(&db.database_url).await?;
    Ok((
        Tokens::new(conn.clone(), db.jwt_secret.as_deref()).await?,
        conn,
    ))
}

/// Token changes made here are audited as the command line's, not a token's.
const CLI_ACTOR: &str = "herald-cli";

pub async fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            db,
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
                    .iter()
                    .map(|p| {
                        Permission::parse(p).with_context(|| {
                            format!(
                                "unknown permission {p:?}; known: {}",
                                Permission::ALL.map(|p| p.name()).join(", ")
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
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
            let (tokens, conn) = tokens_and_db(&db).await?;
            let issued = tokens
                .create(&name, &perms, expires_at, &cidrs, CLI_ACTOR)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
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
        TokenCommand::List { db } => {
            for t in tokens(&db)
                .await?
                .list()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
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
        TokenCommand::Revoke { db, id } => {
            let (tokens, conn) = tokens_and_db(&db).await?;
            let before = tokens.get(&id).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            if !tokens
                .revoke(&id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
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
