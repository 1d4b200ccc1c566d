//! Permission guards: every field that reads or changes something names the
//! permission it needs (`#[graphql(guard = "need(Permission::X)")]`).
use crate::auth::{Permission, Principal};
use crate::error::AppError;
use async_graphql::{Context, Guard, Result};

pub struct PermissionGuard(pub Permission);

pub fn need(p: Permission) -> PermissionGuard {
    PermissionGuard(p)
}

impl Guard for PermissionGuard {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        match ctx.data_opt::<Principal>() {
            Some(p) if p.has(self.0) => Ok(()),
            Some(p) => Err(super::error::to_gql(AppError::Forbidden(format!(
                "{} lacks the {} permission",
                p.described(),
                self.0.name()
            )))),
            None => Err(super::error::to_gql(AppError::Unauthenticated(
                "an API token is required".into(),
            ))),
        }
    }
}

/// The caller's principal (present on every authenticated request).
pub fn principal<'a>(ctx: &'a Context<'_>) -> Result<&'a Principal> {
    ctx.data_opt::<Principal>().ok_or_else(|| {
        super::error::to_gql(AppError::Unauthenticated("an API token is required".into()))
    })
}

/// Name recorded in createdBy / lastModifiedBy.
pub fn actor(ctx: &Context<'_>) -> Result<String> {
    Ok(principal(ctx)?.name.clone())
}
