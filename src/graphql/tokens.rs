//! API tokens: queries and mutations (named as in Panther's API). The use cases and
//! the granting policy (a token only hands out what it holds; `FORBIDDEN` otherwise)
//! live in `service::tokens` and `auth::grant`.
use super::actors::ApiToken;
use super::error::GqlResultExt;
use super::guard::{need, principal};
use super::scalars::AWSDateTime;
use crate::auth::Permission;
use crate::service::{tokens, Services};

use async_graphql::{Context, Guard, InputObject, Object, SimpleObject, ID};

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
        Ok(tokens::list(s)
            .await
            .gql()?
            .into_iter()
            .map(|r| ApiToken::stored(s, r))
            .collect())
    }

    #[graphql(guard = "need(Permission::OrganizationApiTokenRead)")]
    async fn api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<ApiToken> {
        let s = ctx.data::<Services>()?;
        let row = tokens::get(s, &id).await.gql()?;
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
        let new = tokens::NewToken {
            name: &input.name,
            permissions: &input.permissions,
            expires_at: input.expires_at.map(|t| t.ms()),
            allowed_cidr_blocks: input.allowed_cidr_blocks.as_deref().unwrap_or_default(),
        };
        let issued = tokens::create(s, principal(ctx)?, new).await.gql()?;
        Ok(CreateApiTokenOutput {
            token: ApiToken::issued(issued),
        })
    }

    /// A new value for a token; the old value is refused at once by this Herald process
    /// and within a second by the others sharing the database. Without `id` (Panther's
    /// form) the calling token rotates itself, which needs no permission; with `id`,
    /// rotating another token needs `OrganizationAPITokenModify`.
    #[graphql(name = "rotateAPIToken")]
    async fn rotate_api_token(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
    ) -> async_graphql::Result<RotateApiTokenOutput> {
        let s = ctx.data::<Services>()?;
        let caller = principal(ctx)?;
        let issued = match id {
            None => tokens::rotate_own(s, caller).await.gql()?,
            Some(id) => {
                need(Permission::OrganizationApiTokenModify)
                    .check(ctx)
                    .await?;
                tokens::rotate(s, caller, &id).await.gql()?
            }
        };
        Ok(RotateApiTokenOutput {
            token: ApiToken::issued(issued),
        })
    }

    /// Revoke a token, and every token it minted (recursively): refused at once by this
    /// Herald process and within a second by the others sharing the database.
    #[graphql(
        name = "deleteAPIToken",
        guard = "need(Permission::OrganizationApiTokenModify)"
    )]
    async fn delete_api_token(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let s = ctx.data::<Services>()?;
        tokens::revoke(s, principal(ctx)?, &id).await.gql()?;
        Ok(true)
    }
}
