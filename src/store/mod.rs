//! Persistence: connection, migrations, and the queries of each area. The only place
//! that builds SQL (through sea-orm / sea-query).
pub mod alerts;
pub mod deliveries;
pub mod destinations;
pub mod entities;
pub mod overrides;
pub mod secrets;
pub mod settings;
pub mod tokens;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DbErr,
    EntityTrait, Statement,
};
use std::time::Duration;

/// Connect and bring the schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite") {
        opts.max_connections(8).min_connections(1);
        // On every pooled connection: WAL lets readers run beside the single writer;
        // the busy timeout makes writers queue instead of failing; NORMAL sync in WAL
        // mode survives a process crash (only an OS crash can lose the last commits).
        opts.map_sqlx_sqlite_opts(|o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
        });
    } else {
        opts.max_connections(16);
    }
    let db = Database::connect(opts).await?;
    Migrator::up(&db, None).await?;
    for name in [LOCK_ALERTS, LOCK_CONFIG] {
        let exists = entities::lock::Entity::find_by_id(name).one(&db).await?;
        if exists.is_none() {
            let _ = entities::lock::Entity::insert(entities::lock::ActiveModel {
                name: sea_orm::Set(name.to_string()),
                n: sea_orm::Set(0),
            })
            .exec(&db)
            .await;
        }
    }
    Ok(db)
}

/// Connect as [`connect`] does, with the encryption key of `args` (see
/// [`crate::crypto::resolve_key`]): checks it opens the secrets already stored and seals
/// those still in clear. A key file is only written for a new key, once the database is
/// known not to hold secrets sealed under another one.
pub async fn open(
    args: &crate::config::DbArgs,
) -> anyhow::Result<(DatabaseConnection, crate::crypto::Cipher)> {
    use crate::crypto::{self, KeySource};
    use anyhow::Context;
    let (key, source) = crypto::resolve_key(args)?;
    let db = connect(&args.database_url).await?;
    let hint = match &source {
        KeySource::Configured => "the key in HERALD_ENCRYPTION_KEY".to_string(),
        KeySource::File(p) => {
            let pending = crypto::pending_key_file(p);
            let mut h = format!("the key in {}", p.display());
            if pending.exists() {
                h.push_str(&format!(
                    "; an interrupted `herald secrets rotate-key` left the new key in {}",
                    pending.display()
                ));
            }
            h
        }
        KeySource::NewFile(p) => format!(
            "a new key: the key file {} does not exist (restore it, or set HERALD_ENCRYPTION_KEY)",
            p.display()
        ),
        KeySource::Ephemeral => "a key for this process only".to_string(),
    };
    let mut cipher = key.cipher();
    secrets::reseal(&db, &cipher, &cipher, secrets::Pass::Check)
        .await
        .with_context(|| format!("the stored secrets do not open with {hint}"))?;
    if let KeySource::NewFile(path) = &source {
        let written = crypto::write_key_file(path, &key)?;
        if written != key {
            cipher = written.cipher();
        } else {
            tracing::warn!(
                key_file = %path.display(),
                "generated the encryption key of destination secrets and the JWT secret into the key file: \
                 back it up apart from the database (losing it loses the secrets), or set HERALD_ENCRYPTION_KEY"
            );
        }
    }
    let sealed = secrets::reseal(&db, &cipher, &cipher, secrets::Pass::SealPlaintext).await?;
    if sealed != secrets::Resealed::default() {
        tracing::info!(
            destination_secrets = sealed.destination_secrets,
            settings = sealed.settings,
            "encrypted secrets that were stored in clear"
        );
    }
    Ok((db, cipher))
}

/// Serializes alert creation (dedup check and commit-ordered `seq`).
pub const LOCK_ALERTS: &str = "alerts";
/// Serializes configuration writes (unique names, override references).
pub const LOCK_CONFIG: &str = "config";

/// Take a named write lock for the rest of the transaction. On PostgreSQL this is a
/// row lock held until commit; on SQLite it makes the transaction a writer up front
/// (like `BEGIN IMMEDIATE`), so later reads cannot go stale before its writes.
pub async fn lock<C: ConnectionTrait>(c: &C, name: &str) -> Result<(), DbErr> {
    let backend = c.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Postgres => "UPDATE locks SET n = n + 1 WHERE name = $1",
        _ => "UPDATE locks SET n = n + 1 WHERE name = ?",
    };
    c.execute(Statement::from_sql_and_values(backend, sql, [name.into()]))
        .await?;
    Ok(())
}

/// Encode a list as stored JSON text.
pub fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

/// Decode stored JSON text, falling back to the default on a damaged value.
pub fn from_json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}
