//! Persistence: connection, migrations, and the queries of each area. The only place
//! that builds SQL (through sea-orm / sea-query).
pub mod alerts;
pub mod audit;
pub mod deliveries;
pub mod destinations;
pub mod entities;
pub mod overrides;
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
