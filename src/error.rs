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
        if crate::store::is_unavailable(&e) {
            tracing::warn!(error = %e, "database unavailable");
            unavailable()
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
