//! API tokens: queries and mutations (named as in Panther's API). A token can only
//! hand out what it holds itself: creating or rotating a token with a permission the
//! caller lacks is `FORBIDDEN`.
use super::error::GqlResultExt;
use super::guard::{actor, need, principal};
use super::scalars::AWSDateTime;
use crate::auth::{self, IssuedToken, Permission, Principal};
use crate::domain::AuditAction::{CreateApiToken, DeleteApiToken, RotateApiToken};
use crate::error::AppError;
use crate::service::{audit, Services};
use crate::store::{self, tokens::TokenRow};
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

#[derive(InputObject)]
#[graphql(name = "CreateAPITokenInput")]
pub struct CreateApiTokenInput {
    pub name: String,
    /// What the token may do; each must be held by the calling token.
    pub permissions: Vec<Permission>,
    /// Omitted: the token never expires.
    pub expires_at: Option<AWSDateTime>,
    /// Empty or omitted: usable from any address. Entries are CIDR blocks or single addresses.
    #[graphql(name = "allowedCIDRBlocks")]
    pub allowed_cidr_blocks: Option<Vec<String>>,
}

/// An API token. `value` is only present in the result of `createAPIToken` and
/// `rotateAPIToken`; it is never shown again.
pub struct ApiToken {
    row: TokenRow,
    last_used_at: Option<i64>,
    value: Option<String>,
}

impl ApiToken {
    fn stored(s: &Services, row: TokenRow) -> Self {
        let last_used_at = s.tokens.last_used_at(&row);
        ApiToken {
            row,
            last_used_at,
            value: None,
        }
    }
    fn issued(issued: IssuedToken) -> Self {
        ApiToken {
            last_used_at: issued.row.last_used_at,
            row: issued.row,
            value: Some(issued.value),
        }
    }
}

#[Object(name = "APIToken")]
impl ApiToken {
    async fn id(&self) -> ID {
        ID(self.row.id.clone())
    }
    async fn name(&self) -> &str {
        &self.row.name
    }
    async fn permissions(&self) -> Vec<Permission> {
        auth::permissions_of(&self.row)
    }
    async fn created_at(&self) -> AWSDateTime {
        AWSDateTime::from_ms(self.row.created_at)
    }
    /// Name of the token (or `herald-cli`) that created it.
    async fn created_by(&self) -> &str {
        &self.row.created_by
    }
    async fn expires_at(&self) -> Option<AWSDateTime> {
        self.row.expires_at.map(AWSDateTime::from_ms)
    }
    async fn last_used_at(&self) -> Option<AWSDateTime> {
        self.last_used_at.map(AWSDateTime::from_ms)
    }
    async fn rotated_at(&self) -> Option<AWSDateTime> {
        self.row.rotated_at.map(AWSDateTime::from_ms)
    }
    #[graphql(name = "allowedCIDRBlocks")]
    async fn allowed_cidr_blocks(&self) -> Vec<String> {
        store::from_json(&self.row.allowed_cidrs)
    }
    /// The secret value: only in `createAPIToken` and `rotateAPIToken` results.
    async fn value(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

#[derive(SimpleObject)]
#[graphql(name = "CreateAPITokenOutput")]
pub struct CreateApiTokenOutput {
    token: ApiToken,
}

#[derive(SimpleObject)]
#[graphql(name = "RotateAPITokenOutput")]
pub struct RotateApiTokenOutput {
    token: ApiToken,
}

fn not_found(id: &str) -> AppError {
    AppError::NotFound(format!("no API token with id {id}"))
}

/// A token cannot grant more than it holds.
fn check_grantable(caller: &Principal, wanted: &[Permission], what: &str) -> Result<(), AppError> {
    let mut missing: Vec<String> = wanted
        .iter()
        .filter(|p| !caller.has(**p))
        .map(|p| p.name())
        .collect();
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "this API token cannot {what} permissions it lacks: {}",
            missing.join(", ")
        )))
    }
}

/// A token cannot mint one that outlives it or reaches further than it does: with an
/// expiry, the new token must expire no later; with CIDR blocks, the new token's
/// blocks must lie inside them.
fn check_bounds(
    caller: &Principal,
    expires_at: Option<i64>,
    cidrs: &[ipnet::IpNet],
) -> Result<(), AppError> {
    if let Some(limit) = caller.expires_at {
        if expires_at.is_none_or(|e| e > limit) {
            return Err(AppError::Forbidden(
                "this API token expires, so it can only create tokens that expire no later than it does".into(),
            ));
        }
    }
    if !caller.allowed_cidrs.is_empty() {
        let inside = !cidrs.is_empty()
            && cidrs
                .iter()
                .all(|c| caller.allowed_cidrs.iter().any(|own| own.contains(c)));
        if !inside {
            return Err(AppError::Forbidden(
                "this API token is limited to CIDR blocks, so the tokens it creates must be limited to blocks inside them".into(),
            ));
        }
    }
    Ok(())
}

/// The token `id`, if the caller holds every permission it holds (to rotate or revoke it).
async fn within_reach(
    ctx: &Context<'_>,
    s: &Services,
    id: &str,
    what: &str,
) -> async_graphql::Result<TokenRow> {
    let row = s
        .tokens
        .get(id)
        .await
        .gql()?
        .ok_or_else(|| not_found(id))
        .gql()?;
    check_grantable(principal(ctx)?, &auth::permissions_of(&row), what).gql()?;
    Ok(row)
}

#[derive(Default)]
pub struct TokenQuery;

#[Object]
impl TokenQuery {
    /// Tokens that are not revoked, oldest first (values are never shown).
    #[graphql(
        guard = "need(Permission::OrganizationApiTokenRead)",
        complexity = "super::limits::unpaged(child_complexity)"
    )]
    async fn api_tokens(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ApiToken>> {
        let s = ctx.data::<Services>()?;
        Ok(s.tokens
            .list()
            .await
            .gql()?
            .into_iter()
            .map(|r| ApiToken::stored(s, r))
            .collect())
    }

    #[graphql(guard = "need(Permission::OrganizationApiTokenRead)")]
    async fn api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiToken> {
        let s = ctx.data::<Services>()?;
        let row = s
            .tokens
            .get(&id)
            .await
            .gql()?
            .ok_or_else(|| not_found(&id))
            .gql()?;
        Ok(ApiToken::stored(s, row))
    }
}

#[derive(Default)]
pub struct TokenMutation;

#[Object]
impl TokenMutation {
    /// Create a token; its value is in the result, and only there.
    #[graphql(
        name = "createAPIToken",
        guard = "need(Permission::OrganizationApiTokenModify)"
    )]
    async fn create_api_token(
        &self,
        ctx: &Context<'_>,
        input: CreateApiTokenInput,
    ) -> async_graphql::Result<CreateApiTokenOutput> {
        let s = ctx.data::<Services>()?;
        check_grantable(principal(ctx)?, &input.permissions, "grant").gql()?;
        let cidrs = input
            .allowed_cidr_blocks
            .unwrap_or_default()
            .iter()
            .map(|c| auth::parse_cidr(c))
            .collect::<Result<Vec<_>, _>>()
            .gql()?;
        check_bounds(principal(ctx)?, input.expires_at.map(|t| t.ms()), &cidrs).gql()?;
        let issued = s
            .tokens
            .create_child(
                &input.name,
                &input.permissions,
                input.expires_at.map(|t| t.ms()),
                &cidrs,
                &actor(ctx)?,
                Some(&principal(ctx)?.token_id),
            )
            .await
            .gql()?;
        tracing::info!(token = %issued.row.id, name = %issued.row.name, by = %actor(ctx)?, "API token created");
        let after = Some(audit::api_token(&issued.row));
        audit::record_committed(
            &s.db,
            principal(ctx)?,
            CreateApiToken,
            &issued.row.id,
            None,
            after,
        )
        .await;
        Ok(CreateApiTokenOutput {
            token: ApiToken::issued(issued),
        })
    }

    /// A new value for a token; the old value is refused from now on, in every process.
    #[graphql(
        name = "rotateAPIToken",
        guard = "need(Permission::OrganizationApiTokenModify)"
    )]
    async fn rotate_api_token(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<RotateApiTokenOutput> {
        let s = ctx.data::<Services>()?;
        let before = within_reach(ctx, s, &id, "rotate a token holding").await?;
        let issued = s.tokens.rotate(&id).await.gql()?;
        tracing::info!(token = %issued.row.id, by = %actor(ctx)?, "API token rotated");
        let (before, after) = (audit::api_token(&before), audit::api_token(&issued.row));
        audit::record_committed(
            &s.db,
            principal(ctx)?,
            RotateApiToken,
            &id,
            Some(before),
            Some(after),
        )
        .await;
        Ok(RotateApiTokenOutput {
            token: ApiToken::issued(issued),
        })
    }

    /// Revoke a token, and every token it minted (recursively): refused from now on, in
    /// every process.
    #[graphql(
        name = "deleteAPIToken",
        guard = "need(Permission::OrganizationApiTokenModify)"
    )]
    async fn delete_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let s = ctx.data::<Services>()?;
        let before = within_reach(ctx, s, &id, "revoke a token holding").await?;
        if !s.tokens.revoke(&id).await.gql()? {
            return Err(not_found(&id)).gql();
        }
        tracing::info!(token = %id.as_str(), by = %actor(ctx)?, "API token revoked");
        let before = Some(audit::api_token(&before));
        audit::record_committed(&s.db, principal(ctx)?, DeleteApiToken, &id, before, None).await;
        Ok(true)
    }
}
