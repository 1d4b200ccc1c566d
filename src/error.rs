//! One error type for services; mapped to GraphQL `extensions.code` once, in `graphql::error`.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthenticated(String),
    /// The database cannot serve this now (disk full, connection lost, busy): nothing
    /// was stored by the request, and retrying later is the right move.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        if is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            unavailable()
        } else if is_unstorable_text(&e) {
            bad_input("text must not contain the NUL character (U+0000)")
        } else {
            AppError::Internal(e.into())
        }
    }
}

/// The retryable error of a request the database could not serve.
pub fn unavailable() -> AppError {
    AppError::Unavailable(
        "the database is unavailable right now (full, unreachable or busy); nothing was stored by this request: retry later"
            .into(),
    )
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(e: sea_orm::TransactionError<AppError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}

impl AppError {
    /// For the command line: the error with its causes. An internal error becomes its
    /// own cause chain (what the database said), not the bare "internal error" that
    /// API clients see.
    pub fn into_anyhow(self) -> anyhow::Error {
        match self {
            AppError::Internal(e) => e,
            other => anyhow::Error::new(other),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadInput(_) => "BAD_USER_INPUT",
            AppError::NotFound(_) => "NOT_FOUND",
            AppError::Conflict(_) => "CONFLICT",
            AppError::Forbidden(_) => "FORBIDDEN",
            AppError::Unauthenticated(_) => "UNAUTHENTICATED",
            AppError::Unavailable(_) => "UNAVAILABLE",
            AppError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;

pub fn bad_input(msg: impl Into<String>) -> AppError {
    AppError::BadInput(msg.into())
}

/// Whether PostgreSQL refused a value because its text cannot hold it: the NUL
/// character (`22021`, "invalid byte sequence for encoding"), or a character it cannot
/// translate (`22P05`). The caller's input, not the database's state: the request is
/// refused as bad input and nothing was stored.
pub fn is_unstorable_text(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(sea_orm::sqlx::Error::Database(d)))
        | DbErr::Query(RuntimeErr::SqlxError(sea_orm::sqlx::Error::Database(d))) => {
            matches!(d.code().as_deref(), Some("22021" | "22P05"))
        }
        _ => false,
    }
}

/// Whether an SQLite result code means the database cannot take the write now: busy,
/// locked, read-only, I/O error, full, cannot open, locking protocol (the primary code;
/// extended codes keep it in the low byte).
pub fn sqlite_unavailable(code: i64) -> bool {
    matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14 | 15)
}

/// Whether a database error means "the database cannot do this now" (disk full, a
/// dropped or refused connection, a busy or read-only file, an exhausted pool, a
/// serialization conflict): the caller may retry, and nothing was stored.
pub fn is_unavailable(e: &sea_orm::DbErr) -> bool {
    use sea_orm::sqlx::Error as X;
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx_err = match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => x,
        _ => return false,
    };
    match sqlx_err {
        X::Io(_) | X::PoolTimedOut | X::PoolClosed | X::WorkerCrashed | X::Protocol(_) => true,
        X::Database(d) => {
            let code = d.code().map(|c| c.into_owned()).unwrap_or_default();
            if d.try_downcast_ref::<sea_orm::sqlx::sqlite::SqliteError>()
                .is_some()
            {
                return code.parse::<i64>().is_ok_and(sqlite_unavailable);
            }
            // PostgreSQL (whose SQLSTATEs are often digits too: `22021` is no SQLite
            // code): connection exceptions, insufficient resources, operator
            // intervention (terminated backends), serialization failures.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "40001"
                || code == "40P01"
        }
        _ => false,
    }
}
