//! Service errors to GraphQL errors with `extensions.code`, in one place.
use crate::error::AppError;
use async_graphql::ErrorExtensions;

pub fn to_gql(e: AppError) -> async_graphql::Error {
    if let AppError::Internal(inner) = &e {
        tracing::error!(error = ?inner, "internal error");
    }
    let code = e.code();
    async_graphql::Error::new(e.to_string()).extend_with(|_, ext| ext.set("code", code))
}

/// `.gql()?` in resolvers.
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T, E: Into<AppError>> GqlResultExt<T> for Result<T, E> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| to_gql(e.into()))
    }
}
