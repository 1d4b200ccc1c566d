//! `herald token …`: bootstrapping tokens from the command line.
use crate::auth::{parse_duration_ms, Permission, Tokens};
use crate::config::{DbArgs, TokenCommand};
use crate::domain::time::{now_ms, to_rfc3339};
use anyhow::{bail, Context};

async fn tokens(db: &DbArgs) -> anyhow::Result<Tokens> {
    let (conn, cipher) = crate::store::open(db).await?;
    Tokens::new(conn, &cipher, db.jwt_secret.as_deref()).await
}

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
            let issued = tokens(&db)
                .await?
                .create(&name, &perms, expires_at, &cidrs, "herald-cli")
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
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
            if !tokens(&db)
                .await?
                .revoke(&id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                bail!("no active token with id {id}");
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}
