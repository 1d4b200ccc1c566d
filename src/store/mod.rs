//! Persistence: connection, migrations, and the queries of each area. The only place
//! that builds SQL (through sea-orm / sea-query).
pub mod alert_events;
pub mod alerts;
pub mod audit;
pub mod deleted_detections;
pub mod deliveries;
pub mod destinations;
pub mod entities;
pub mod ingest;
pub mod metrics;
pub mod overrides;
pub mod rows;
pub mod secrets;
pub mod sessions;
pub mod settings;
pub mod tokens;
pub mod users;

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr, EntityTrait, Statement,
};
use std::time::Duration;

/// Whether opening a database may create it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// `herald serve`: as the URL says (`sqlite://FILE?mode=rwc` creates the file).
    AsUrlSays,
    /// Command-line tools: only an existing database, so a command run from another
    /// directory can never start a second, empty one.
    Never,
}

/// The database could not be reached (refused, timed out, unknown host, starting up):
/// the server retries; the message names the host and the reason.
#[derive(Debug)]
pub struct Unreachable(pub String);

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unreachable {}

/// Whether `e` (anywhere in its chain) is [`Unreachable`].
pub fn is_unreachable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<Unreachable>())
}

/// How long connecting to PostgreSQL may take before it counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The database a URL names, for logs and messages: the absolute SQLite file, or
/// PostgreSQL's `user@host:port/db` (never the password).
pub fn describe(url: &str) -> String {
    use sea_orm::sqlx::postgres::PgConnectOptions;
    use std::str::FromStr;
    if url.starts_with("sqlite") {
        return match crate::crypto::sqlite_file(url) {
            Some(file) => absolute(&file).display().to_string(),
            None => "an in-memory SQLite database".into(),
        };
    }
    match PgConnectOptions::from_str(url) {
        Ok(o) => format!(
            "postgres://{}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or(o.get_username())
        ),
        Err(_) => "an unparsable database URL".into(),
    }
}

fn absolute(file: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(file);
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// SQLite: the database file must already exist unless `create` and the URL allow
/// creating it; the message says which file was tried and how to point at the right one.
pub fn check_exists(url: &str, create: Create) -> anyhow::Result<()> {
    if !url.starts_with("sqlite") {
        return Ok(());
    }
    let Some(file) = crate::crypto::sqlite_file(url) else {
        return Ok(());
    };
    let path = absolute(&file);
    if path.exists() {
        return Ok(());
    }
    let rwc = url
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|kv| kv == "mode=rwc"));
    match create {
        Create::AsUrlSays if rwc => Ok(()),
        Create::AsUrlSays => anyhow::bail!(
            "no SQLite database at {} (from {url}): add ?mode=rwc to the URL to create it",
            path.display()
        ),
        Create::Never => anyhow::bail!(
            "no Herald database at {} (from {url}); commands never create one. Point them \
             at the server's database with HERALD_DATABASE_URL or --database-url (`herald \
             serve` logs its database at start-up)",
            path.display()
        ),
    }
}

/// Connect and bring the schema up to date (as `herald serve` does: see [`Create`]).
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    connect_with(url, Create::AsUrlSays).await
}

/// Connect and bring the schema up to date.
///
/// The pools are built with sqlx directly so that every connection returned to the
/// pool is checked ([`connection_is_clean`]): a connection left inside a transaction
/// (a failed COMMIT or ROLLBACK on a full disk, a statement error that made SQLite roll
/// back on its own) is closed instead of reused. Reusing it would turn every later
/// `BEGIN` into a savepoint of the dead transaction: writes acknowledged, never stored,
/// and the write lock held for the life of the process.
pub async fn connect_with(url: &str, create: Create) -> anyhow::Result<DatabaseConnection> {
    use sea_orm::sqlx;
    use sea_orm::{SqlxPostgresConnector, SqlxSqliteConnector};
    use std::str::FromStr;
    check_exists(url, create)?;
    if !["sqlite:", "postgres:", "postgresql:"]
        .iter()
        .any(|scheme| url.starts_with(scheme))
    {
        anyhow::bail!(
            "unsupported database URL (scheme {:?}): use sqlite://FILE?mode=rwc or \
             postgres://user:pass@host/db",
            url.split_once(':').map_or("", |(scheme, _)| scheme)
        );
    }
    let db = if url.starts_with("sqlite") {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
        use sqlx::ConnectOptions;
        // On every pooled connection: WAL lets readers run beside the single writer;
        // the busy timeout makes writers queue instead of failing; NORMAL sync in WAL
        // mode survives a process crash (only an OS crash can lose the last commits).
        let mut opts = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .statement_cache_capacity(SQLITE_STATEMENT_CACHE)
            // The rows a statement returns wait here for the task reading them: with
            // SQLite's default of 50, a batch statement returning hundreds of rows (a
            // claim, recorded moves, inserted alerts) stopped the connection's thread
            // every 50 rows until that task was scheduled again, holding the write lock.
            .row_buffer_size(SQLITE_ROW_BUFFER)
            .disable_statement_logging()
            .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT);
        if create == Create::Never {
            // Even with `mode=rwc` in the URL: the file was checked above, and a file
            // removed since then is not silently recreated.
            opts = opts.create_if_missing(false);
        }
        // Readers (and the rare writers that take no turns at the write gate); each
        // connection holds its own page cache, so a few are enough on 2 cores.
        let pool = sqlite_pool_options()
            .max_connections(4)
            .min_connections(1)
            .connect_with(opts)
            .await
            .map_err(|e| {
                anyhow::anyhow!("could not open the SQLite database {}: {e}", describe(url))
            })?;
        SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
    } else {
        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        use sqlx::ConnectOptions;
        let opts = PgConnectOptions::from_str(url)?
            .disable_statement_logging()
            .log_slow_statements(log::LevelFilter::Warn, SLOW_STATEMENT);
        // One direct connection first, time-boxed: the pool would retry a refused
        // connection until its acquire timeout and then only say "pool timed out".
        let at = format!("{}:{}", opts.get_host(), opts.get_port());
        match tokio::time::timeout(CONNECT_TIMEOUT, opts.connect()).await {
            Ok(Ok(conn)) => {
                let _ = sqlx::Connection::close(conn).await;
            }
            Ok(Err(e)) => return Err(pg_connect_error(&at, &e)),
            Err(_) => {
                return Err(Unreachable(format!(
                    "could not connect to PostgreSQL at {at}: no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))
                .into())
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            // Every statement planned for its parameters, never from a plan cached on
            // the connection: the batch statements read their rows from array
            // parameters (`store::rows::insert_arrays`), a table of unknown size to the
            // planner, and a generic plan made while `deliveries` was still small (a
            // new database's first burst) joined the recorded moves to it by scanning
            // the whole table, batch after batch, until the next ANALYZE. Set once the
            // connection is open, not as a startup option, which poolers such as
            // PgBouncer refuse by default.
            .after_connect(|conn, _meta| Box::pin(plan_for_parameters(conn)))
            .after_release(|conn, _meta| {
                Box::pin(async move { Ok(connection_is_clean(conn).await) })
            })
            .connect_with(opts)
            .await
            .map_err(|e| pg_connect_error(&at, &e))?;
        SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
    };
    Migrator::up(&db, None).await?;
    for name in [LOCK_ALERTS, LOCK_CONFIG, LOCK_HEALTH] {
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

/// What every SQLite pool's connections get: the busy handler, and the check on
/// release ([`sqlite_connection_is_clean`]).
fn sqlite_pool_options() -> sea_orm::sqlx::sqlite::SqlitePoolOptions {
    sea_orm::sqlx::sqlite::SqlitePoolOptions::new()
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                let mut handle = conn.lock_handle().await?;
                // SAFETY: the handle is locked (no other thread uses it); the handler
                // is a plain function with no state.
                unsafe {
                    libsqlite3_sys::sqlite3_busy_handler(
                        handle.as_raw_handle().as_ptr(),
                        Some(sqlite_busy),
                        std::ptr::null_mut(),
                    );
                }
                Ok(())
            })
        })
        .after_release(|conn, _meta| {
            Box::pin(async move { Ok(sqlite_connection_is_clean(conn).await) })
        })
}

/// "could not connect to PostgreSQL at HOST:PORT: REASON"; [`Unreachable`] when trying
/// again later may help (refused, reset, unknown host, starting up, too many clients).
fn pg_connect_error(at: &str, e: &sea_orm::sqlx::Error) -> anyhow::Error {
    use sea_orm::sqlx::Error as X;
    let (reason, retry) = match e {
        X::Io(io) => {
            let text = io.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut chars = text.chars();
            let text = match chars.next() {
                Some(c) => c.to_lowercase().chain(chars).collect(),
                None => String::new(),
            };
            (text, true)
        }
        X::PoolTimedOut => ("no answer in time".to_string(), true),
        X::Tls(t) => (format!("TLS: {t}"), false),
        X::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            let retry = code.starts_with("08") || code == "57P03" || code == "53300";
            (d.message().to_string(), retry)
        }
        other => (other.to_string(), false),
    };
    let msg = format!("could not connect to PostgreSQL at {at}: {reason}");
    if retry {
        Unreachable(msg).into()
    } else {
        anyhow::anyhow!(msg)
    }
}

/// `plan_cache_mode = force_custom_plan` on a new PostgreSQL connection (see the pool's
/// `after_connect`): the ingestion's dedup lookup ([`lock_dedup_keys`]) and the batch
/// statements rely on it.
async fn plan_for_parameters(
    conn: &mut sea_orm::sqlx::PgConnection,
) -> Result<(), sea_orm::sqlx::Error> {
    use sea_orm::sqlx::Executor;
    conn.execute("SET plan_cache_mode = force_custom_plan")
        .await
        .map(|_| ())
}

/// Whether a connection coming back to the pool may be reused: it answers, and it is
/// outside any transaction by sqlx's count. The ping runs first so that a rollback
/// queued by a dropped transaction has been carried out.
async fn connection_is_clean<C: sea_orm::sqlx::Connection>(conn: &mut C) -> bool {
    if let Err(e) = conn.ping().await {
        tracing::warn!(error = %e, "closing a database connection that does not answer");
        return false;
    }
    if conn.is_in_transaction() {
        tracing::warn!("closing a database connection left inside a transaction");
        return false;
    }
    true
}

/// [`connection_is_clean`], and SQLite itself agrees that no transaction is open (it
/// may have rolled back on its own, or kept one open after a failed COMMIT/ROLLBACK).
/// SQLite's busy handler on every pooled connection, in place of `busy_timeout`'s: that
/// one sleeps 1, 2, 5 … up to 100 ms between looks, so under load a writer waiting for
/// another's commit (a few ms) slept up to 100 ms each time, and the ingestion writer,
/// the claim and the attempt recorder spent most of their time asleep (slow-statement
/// log: `UPDATE locks` waiting up to 2.5 s). This one looks again every 50 µs for the
/// first 10 ms, then every 1 ms, and gives up (`SQLITE_BUSY`) after about 10 s.
extern "C" fn sqlite_busy(_: *mut std::ffi::c_void, tries: std::ffi::c_int) -> std::ffi::c_int {
    const FAST: std::ffi::c_int = 200;
    const SLOW: std::ffi::c_int = 10_000;
    if tries >= FAST + SLOW {
        return 0;
    }
    std::thread::sleep(if tries < FAST {
        Duration::from_micros(50)
    } else {
        Duration::from_millis(1)
    });
    1
}

async fn sqlite_connection_is_clean(conn: &mut sea_orm::sqlx::SqliteConnection) -> bool {
    use sea_orm::sqlx::Connection;
    // No ping, unlike PostgreSQL: a rollback queued by a dropped transaction goes to
    // the connection's thread ahead of the lock taken here, so it has been carried out
    // by the time SQLite is asked (one round trip to that thread, not two, on every
    // release of the writer's connection).
    let autocommit = {
        let Ok(mut handle) = conn.lock_handle().await else {
            return false;
        };
        // SAFETY: the handle is locked for the duration of the call (no other thread
        // uses it), and sqlite3_get_autocommit only reads the connection's state.
        unsafe { libsqlite3_sys::sqlite3_get_autocommit(handle.as_raw_handle().as_ptr()) }
    };
    if conn.is_in_transaction() {
        tracing::warn!("closing a database connection left inside a transaction");
        return false;
    }
    if autocommit == 0 {
        tracing::warn!("closing an SQLite connection that SQLite still sees inside a transaction");
        return false;
    }
    true
}

/// The batch writers' connection's page cache (SQLite's default is 2 MB): most writes
/// of the process go through it, and it keeps its pages across its own commits.
const WRITER_CACHE_KIB: u32 = 16 * 1024;

/// Lines up this process's busy writers (the ingestion writer, the attempt recorder,
/// the claim loop) on SQLite, first come first served, and gives them connections of
/// their own to write with. SQLite has one write lock per file: writers that meet
/// it taken wait in the busy handler, which polls, so under load one could lose the
/// race again and again (a batch of alerts waited over a second) while the lock stood
/// idle between polls. And a pooled connection's page cache is dropped whenever
/// another connection has committed since it last read, so writers taking turns on
/// different connections each read their pages again from the file; the batch writers'
/// connection keeps its cache. PostgreSQL locks rows, so there the gate is open and
/// writers use the pool.
pub struct WriteGate {
    writer: Option<Writer>,
}

/// The gate's connections (see [`WriteGate`]).
struct Writer {
    queue: tokio::sync::Mutex<()>,
    /// For sea-orm's statements in a turn (the claim, the ingestion's reads): one
    /// pooled connection.
    db: DatabaseConnection,
    /// The batch writers' own connection ([`Turn::on_handle`]), opened when first
    /// used. Not sqlx's: through sqlx each use of a connection's handle is a round trip
    /// to the connection's thread, and the pool's check when it is given back another,
    /// run by a task that waits for a free worker under load; the benchmark's turns
    /// spent a fifth of their time on those.
    handle: std::sync::Mutex<Option<rusqlite::Connection>>,
    file: std::path::PathBuf,
    /// A batch of attempts the recorder offers while it waits for its turn, for the
    /// ingestion writer's transaction to carry if it commits first ([`WriteGate::offer_attempts`]).
    ride: std::sync::Mutex<Option<deliveries::AttemptRide>>,
}

/// A writer's turn (see [`WriteGate::enter`]): the connections to write with.
pub struct Turn<'a> {
    _queue: tokio::sync::MutexGuard<'a, ()>,
    writer: &'a Writer,
}

impl std::ops::Deref for Turn<'_> {
    type Target = DatabaseConnection;
    fn deref(&self) -> &DatabaseConnection {
        &self.writer.db
    }
}

impl Turn<'_> {
    /// Run `f` on the batch writers' own SQLite connection, on this thread (in
    /// `block_in_place` on a multi-threaded runtime, so the runtime's other tasks move
    /// on): a whole transaction of many small statements with no hop to another thread.
    /// The lock on the file is the turn's, so nothing here waits for this process's
    /// other writers. The connection keeps its prepared statements and its page cache
    /// from turn to turn.
    pub fn on_handle<R>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
    ) -> Result<R, DbErr> {
        let run = || {
            // Taken out while in use: if `f` panics, the connection is dropped (closed,
            // with any transaction rolled back) and the next turn opens another.
            let mut slot = self
                .writer
                .handle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let c = match slot.take() {
                Some(c) => c,
                None => open_handle(&self.writer.file)?,
            };
            let out = f(&c);
            *slot = Some(c);
            out
        };
        blocking_here(run).map_err(from_rusqlite)
    }

    /// The attempts offered to ride in this turn's transaction, if their owner has not
    /// taken them back ([`WriteGate::offer_attempts`]).
    pub fn take_ride(&self) -> Option<deliveries::AttemptRide> {
        self.writer
            .ride
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

/// Run blocking `run` on this thread: in `block_in_place` on a multi-threaded runtime,
/// so the runtime's other tasks move on to another worker; as is on a current-thread
/// runtime (tests), which has no other worker to hand them to.
fn blocking_here<R>(run: impl FnOnce() -> R) -> R {
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    if flavor == tokio::runtime::RuntimeFlavor::MultiThread {
        tokio::task::block_in_place(run)
    } else {
        run()
    }
}

/// Statements kept prepared on the batch writers' connection.
const HANDLE_STATEMENT_CACHE: usize = 64;

/// The batch writers' own connection to `file`, set as sqlx sets the pool's (WAL is
/// the file's own setting, made when the pool opened it).
fn open_handle(file: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let c = rusqlite::Connection::open_with_flags(
        file,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_handler(Some(|tries| sqlite_busy(std::ptr::null_mut(), tries) != 0))?;
    c.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -{WRITER_CACHE_KIB}"
    ))?;
    c.set_prepared_statement_cache_capacity(HANDLE_STATEMENT_CACHE);
    Ok(c)
}

impl WriteGate {
    /// A gate that never queues (writers that take no turns).
    pub const OPEN: WriteGate = WriteGate { writer: None };

    /// The gate of `db`'s busy writers: on SQLite, with connections of its own to the
    /// same file (opened when first used); open for an in-memory database.
    pub fn for_db(db: &DatabaseConnection) -> Self {
        if db.get_database_backend() != DatabaseBackend::Sqlite {
            return WriteGate::OPEN;
        }
        let opts = (*db.get_sqlite_connection_pool().connect_options()).clone();
        let file = opts.get_filename().to_path_buf();
        let name = file.to_string_lossy();
        if name.contains(":memory:") || name.starts_with("file:sqlx-in-memory") {
            // A second connection would open another database.
            return WriteGate::OPEN;
        }
        let pool = sqlite_pool_options()
            .max_connections(1)
            .connect_lazy_with(opts);
        WriteGate {
            writer: Some(Writer {
                queue: tokio::sync::Mutex::new(()),
                db: sea_orm::SqlxSqliteConnector::from_sqlx_sqlite_pool(pool),
                handle: std::sync::Mutex::new(None),
                file,
                ride: std::sync::Mutex::new(None),
            }),
        }
    }

    /// Writers take turns here (SQLite), rather than pass straight through.
    pub fn queues(&self) -> bool {
        self.writer.is_some()
    }

    /// Offer a batch of attempts to the next ingestion transaction, before waiting for
    /// a turn to record them: SQLite commits one transaction at a time, and one commit
    /// writes the pages both change (the deliveries just inserted and now moved on)
    /// once. The ingestion writer takes them just before its commit and answers on the
    /// returned channel after it; whoever gets a turn first records them (the owner,
    /// finding them still there, takes them back with [`Turn::take_ride`]). `None` when
    /// the gate is open, or another batch is already waiting.
    pub fn offer_attempts(
        &self,
        records: Vec<deliveries::AttemptRecord>,
    ) -> Option<tokio::sync::oneshot::Receiver<Result<Vec<deliveries::Recorded>, DbErr>>> {
        let writer = self.writer.as_ref()?;
        let mut ride = writer
            .ride
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if ride.is_some() {
            return None;
        }
        let (done, answer) = tokio::sync::oneshot::channel();
        *ride = Some(deliveries::AttemptRide::new(records, done));
        Some(answer)
    }

    /// Wait for this writer's turn; `None` when the gate is open (write with the pool).
    pub async fn enter(&self) -> Option<Turn<'_>> {
        let writer = self.writer.as_ref()?;
        Some(Turn {
            _queue: writer.queue.lock().await,
            writer,
        })
    }
}

/// What this process last saw of database writes: `/healthz` reports the database as
/// failing while writes fail, and probes it until one succeeds again.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failed_at: std::sync::atomic::AtomicI64,
    ok_at: std::sync::atomic::AtomicI64,
}

impl WriteHealth {
    pub fn failed(&self) {
        self.failed_at.store(
            crate::domain::time::now_ms(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    pub fn ok(&self) {
        self.ok_at.store(
            crate::domain::time::now_ms(),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
    /// The last write this process tried failed.
    pub fn failing(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        self.failed_at.load(Relaxed) >= self.ok_at.load(Relaxed) && self.failed_at.load(Relaxed) > 0
    }
}

/// Writes are probed through this row by `/healthz` (see [`probe_write`]).
pub const LOCK_HEALTH: &str = "health";

/// A tiny write transaction: does the database accept writes right now?
pub async fn probe_write(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await?;
    lock(&txn, LOCK_HEALTH).await?;
    txn.commit().await
}

/// Connect as [`connect`] does, with the encryption key of `args` (see
/// [`crate::crypto::resolve_key`]): checks it opens the secrets already stored and seals
/// those still in clear. A key file is only written for a new key, once the database is
/// known not to hold secrets sealed under another one.
pub async fn open(
    args: &crate::config::DbArgs,
    create: Create,
) -> anyhow::Result<(DatabaseConnection, crate::crypto::Cipher)> {
    use crate::crypto::{self, KeySource};
    use anyhow::Context;
    check_exists(&args.database_url, create)?;
    let (key, source) = crypto::resolve_key(args)?;
    let db = connect_with(&args.database_url, create).await?;
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
        .map_err(|e| match e {
            // Our own message: without sea-orm's "Custom Error: " in front of it.
            DbErr::Custom(m) => anyhow::anyhow!(m),
            e => e.into(),
        })
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

/// `lower(col) LIKE '%needle%'`, the needle's own `%`, `_` and `\` escaped: a
/// case-insensitive substring match, the same on SQLite and PostgreSQL.
pub(crate) fn contains_ci(
    col: impl sea_orm::sea_query::IntoColumnRef,
    needle: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, Func, LikeExpr};
    let pattern = format!(
        "%{}%",
        needle
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    Expr::expr(Func::lower(Expr::col(col))).like(LikeExpr::new(pattern).escape('\\'))
}

/// A statement that takes longer is logged (target `sqlx::query`, level WARN), with its
/// text and time: a slow query shows in the logs before it shows as a slow service.
const SLOW_STATEMENT: Duration = Duration::from_millis(5);

/// Prepared statements each SQLite connection keeps (sqlx's default is 100). The
/// multi-row statements of batches differ by their row count, and one prepared for
/// hundreds of rows holds tens of kilobytes: a hundred of them on every connection
/// cost tens of megabytes for little gain.
const SQLITE_STATEMENT_CACHE: usize = 24;

/// Rows a statement may have ready before the task reading them takes them (see
/// `row_buffer_size` in [`connect_with`]): enough for every batch statement.
const SQLITE_ROW_BUFFER: usize = 1024;

/// SQLite: makes an ingestion transaction the writer before its reads (see
/// [`lock_dedup_keys`]).
pub const LOCK_ALERTS: &str = "alerts";
/// Start an ingestion transaction that creates or joins alerts with these dedup keys
/// (detection id, dedup string), so that no two transactions can both miss an open
/// alert with the same key. SQLite: the transaction becomes the writer at once (there
/// is one writer anyway). PostgreSQL: one transaction-scoped advisory lock per key,
/// taken in one statement in key order (no deadlock between batches): batches with
/// other keys, in this process or another, go on in parallel, and commit side by side
/// (their alerts' `seq` is made for that: see `alerts::insert_many`).
///
/// On PostgreSQL the same statement reads the configuration version
/// (`destinations::config_version`), one round trip fewer per batch: `Some(version)`.
pub async fn lock_dedup_keys<C: ConnectionTrait>(
    c: &C,
    keys: impl Iterator<Item = (String, String)>,
) -> Result<Option<i64>, DbErr> {
    if c.get_database_backend() != DatabaseBackend::Postgres {
        lock(c, LOCK_ALERTS).await?;
        return Ok(None);
    }
    use sha2::{Digest, Sha256};
    let mut ids: Vec<i64> = keys
        .map(|(detection, dedup)| {
            let mut h = Sha256::new();
            h.update(detection.as_bytes());
            h.update([0]);
            h.update(dedup.as_bytes());
            let d = h.finalize();
            i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
        })
        .collect();
    ids.sort_unstable();
    ids.dedup();
    // One typed array parameter, so the statement's text is the same for every batch
    // (sqlx prepares it once per connection) and PostgreSQL reads one value, decoded
    // once, not an expression per key (see `rows::ColumnArrays`).
    let mut keys = rows::ColumnArrays::new(&[rows::ArrayColumn::of("int8[]")]);
    for k in ids {
        keys.row([Some(k.into())])?;
    }
    let mut values = keys.finish();
    values.push(destinations::CONFIG_VERSION.into());
    // The transaction's statements are planned for their parameters by every
    // connection's own setting (`plan_for_parameters`): a plan cached while the tables
    // were small (a new database's first burst) had the dedup lookup read the whole
    // `alerts_dedup` index for every batch.
    let row = c
        .query_one(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT (SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT k FROM \
             unnest($1::bigint[]) AS t(k) ORDER BY k) AS s), \
             (SELECT n FROM locks WHERE name = $2)",
            values,
        ))
        .await?
        .ok_or(DbErr::RecordNotFound("the dedup keys' lock".into()))?;
    let version: Option<i64> = row.try_get_by_index(1)?;
    Ok(Some(version.unwrap_or(0)))
}

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
///
/// Only for API token rows, which [`tokens`] checks when it reads them (a damaged one
/// is an error there); every other table decodes with [`json_column`].
pub fn from_json<T: serde::de::DeserializeOwned + Default>(s: &str) -> T {
    serde_json::from_str(s).unwrap_or_default()
}

/// The error for a stored row that cannot be read back: it names the table, the row,
/// the column and what was wrong. It reaches clients as an internal error (the log
/// names the row); nothing is ever read as a default in its place.
pub fn damaged(
    table: &str,
    id: impl std::fmt::Display,
    column: &str,
    problem: impl std::fmt::Display,
) -> DbErr {
    DbErr::Custom(format!(
        "damaged row in {table} (id {id}): column {column}: {problem}"
    ))
}

/// Decode the JSON text of one column of one row; a damaged value is [`damaged`].
pub fn json_column<T: serde::de::DeserializeOwned>(
    table: &str,
    id: impl std::fmt::Display,
    column: &str,
    text: &str,
) -> Result<T, DbErr> {
    serde_json::from_str(text)
        .map_err(|e| damaged(table, id, column, format!("unreadable JSON ({e})")))
}

/// An enum column as [`locate_damaged`] checks it: its name and every stored spelling
/// (the enum's `SPELLINGS`).
pub(crate) type EnumColumn = (&'static str, &'static [&'static str]);

/// A query over `table` failed because a stored enum value matches no variant
/// (sea-orm's `DbErr::Type`, which names neither the row nor the column): find such
/// a row and name it. Other results pass through unchanged.
pub(crate) async fn locate_damaged<C: ConnectionTrait, T>(
    db: &C,
    result: Result<T, DbErr>,
    table: &str,
    key: &str,
    columns: &[EnumColumn],
) -> Result<T, DbErr> {
    let err = match result {
        Err(e @ DbErr::Type(_)) => e,
        other => return other,
    };
    let backend = db.get_database_backend();
    for (column, allowed) in columns {
        // The spellings are the enum's own constants, never input: safe to inline.
        let list = allowed
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT CAST({key} AS TEXT) AS k, CAST({column} AS TEXT) AS v FROM {table} \
             WHERE {column} IS NOT NULL AND {column} NOT IN ({list}) LIMIT 1"
        );
        match db.query_one(Statement::from_string(backend, sql)).await {
            Ok(Some(row)) => {
                let text = |col: &str| -> String {
                    row.try_get("", col).unwrap_or_else(|_| "?".to_string())
                };
                let (id, value) = (text("k"), text("v"));
                return Err(damaged(
                    table,
                    id,
                    column,
                    format!("{value:?} is none of {}", allowed.join(", ")),
                ));
            }
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(error = %e, table, "could not look for the damaged row");
                break;
            }
        }
    }
    Err(DbErr::Custom(format!("damaged row in {table}: {err}")))
}

/// Run `f` on the SQLite handle of one of `db`'s connections, on this thread: a whole
/// transaction of many small statements with no hop to the connection's own thread and
/// back between them (through sqlx each statement is one such round trip, and under
/// load each hop waited for a core). `None` when `db` is not SQLite.
///
/// For the batch writers when the [`WriteGate`] is open (an in-memory database, which
/// a connection of their own could not share; in a turn they use
/// [`Turn::on_handle`]), and for reads decoded by position on a pooled connection
/// (a page of alerts). On a multi-threaded runtime the work runs in `block_in_place`,
/// so the runtime's other tasks move on.
pub async fn on_sqlite_handle<R>(
    db: &DatabaseConnection,
    f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
) -> Result<Option<R>, DbErr> {
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return Ok(None);
    }
    let unavailable = |e: sea_orm::sqlx::Error| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e));
    let mut conn = db
        .get_sqlite_connection_pool()
        .acquire()
        .await
        .map_err(unavailable)?;
    let mut handle = conn.lock_handle().await.map_err(unavailable)?;
    let raw = handle.as_raw_handle().as_ptr();
    let run = move || {
        // SAFETY: the handle is locked (sqlx's thread for it waits until `handle` is
        // dropped, after this returns), and a connection made `from_handle` borrows it:
        // it is not closed when dropped, and its prepared statements are finalized
        // before it is.
        let c = unsafe { rusqlite::Connection::from_handle(raw) }?;
        f(&c)
    };
    let out = blocking_here(run);
    drop(handle);
    out.map(Some).map_err(from_rusqlite)
}

/// Run `f` in one `BEGIN IMMEDIATE` transaction on a raw SQLite handle
/// ([`on_sqlite_handle`]) and commit what it did; when it fails (or panics), roll back,
/// so the connection is never left inside a transaction for its next user.
pub fn immediate<R>(
    c: &rusqlite::Connection,
    f: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<R>,
) -> rusqlite::Result<R> {
    struct Open<'a>(&'a rusqlite::Connection);
    impl Drop for Open<'_> {
        fn drop(&mut self) {
            if !self.0.is_autocommit() {
                let _ = self.0.execute_batch("ROLLBACK");
            }
        }
    }
    c.execute_batch("BEGIN IMMEDIATE")?;
    let open = Open(c);
    let out = f(c)?;
    c.execute_batch("COMMIT")?;
    drop(open);
    Ok(out)
}

/// An SQLite error met on a raw handle ([`on_sqlite_handle`]) as sea-orm's: those that
/// mean the database cannot take the write now (busy, locked, full, I/O, read-only…)
/// as a connection error, which [`crate::error::is_unavailable`] counts as retryable.
pub fn from_rusqlite(e: rusqlite::Error) -> DbErr {
    use sea_orm::RuntimeErr;
    let unavailable = e
        .sqlite_error()
        .is_some_and(|f| crate::error::sqlite_unavailable(f.extended_code.into()));
    let message = format!("error returned from database: {e}");
    if unavailable {
        DbErr::Conn(RuntimeErr::Internal(message))
    } else {
        DbErr::Exec(RuntimeErr::Internal(message))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A migrated SQLite file in a folder of its own (dropped with the folder).
    pub(crate) async fn temp_sqlite() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("h.db").display());
        let db = connect(&url).await.unwrap();
        (dir, db)
    }

    /// SQLite's plan for a statement: one line per step.
    pub(crate) async fn plan(db: &DatabaseConnection, st: Statement) -> String {
        let explain = Statement {
            sql: format!("EXPLAIN QUERY PLAN {}", st.sql),
            ..st
        };
        db.query_all(explain)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String>("", "detail").unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn describe_names_the_file_or_host_never_the_password() {
        let d = describe("postgres://herald:s3cret@db.internal:6543/alerts?sslmode=require");
        assert_eq!(d, "postgres://herald@db.internal:6543/alerts");
        let d = describe("sqlite://herald.db?mode=rwc");
        assert!(d.starts_with('/') && d.ends_with("/herald.db"), "{d}");
        assert_eq!(describe("sqlite::memory:"), "an in-memory SQLite database");
    }

    #[test]
    fn only_serve_with_mode_rwc_may_create_an_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("h.db");
        let rwc = format!("sqlite://{}?mode=rwc", file.display());
        let plain = format!("sqlite://{}", file.display());
        assert!(check_exists(&rwc, Create::AsUrlSays).is_ok());
        let e = check_exists(&plain, Create::AsUrlSays)
            .unwrap_err()
            .to_string();
        assert!(e.contains("add ?mode=rwc"), "{e}");
        let e = check_exists(&rwc, Create::Never).unwrap_err().to_string();
        assert!(
            e.contains(&file.display().to_string()) && e.contains("HERALD_DATABASE_URL"),
            "{e}"
        );
        std::fs::write(&file, b"").unwrap();
        assert!(check_exists(&plain, Create::Never).is_ok());
        assert!(check_exists("postgres://h/db", Create::Never).is_ok());
        assert!(check_exists("sqlite::memory:", Create::Never).is_ok());
    }

    #[tokio::test]
    async fn a_refused_postgres_connection_names_the_host_and_is_retryable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let started = std::time::Instant::now();
        let e = connect(&format!("postgres://u:pw@127.0.0.1:{port}/x"))
            .await
            .unwrap_err();
        assert!(started.elapsed() < CONNECT_TIMEOUT * 2);
        assert_eq!(
            e.to_string(),
            format!("could not connect to PostgreSQL at 127.0.0.1:{port}: connection refused")
        );
        assert!(is_unreachable(&e));
    }
}
