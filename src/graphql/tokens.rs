//! API tokens: queries and mutations (named as in Panther's API). The use cases and
//! the granting policy (a token only hands out what it holds; `FORBIDDEN` otherwise)
//! live in `service::tokens` and `auth::grant`.
use super::error::GqlResultExt;
use super::guard::{need, principal};
use super::scalars::AWSDateTime;
use crate::auth::{self, IssuedToken, Permission};
use crate::service::{tokens, Services};
use crate::store::{self, tokens::TokenRow};
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

/// An API token. `value` is only present in the result of `createAPIToken` and
/// `rotateAPIToken`; it is never shown again.
pub struct ApiToken {
    row: TokenRow,
    last_used_at: Option<i64>,
    value: Option<String>,
}

impl ApiToken {
    pub(super) fn stored(s: &Services, row: TokenRow) -> Self {
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
    /// The user or token that created it (null for the command line, or once deleted).
    /// Panther's `createdBy`; Herald's `createdBy` is the creator's name.
    async fn created_by_actor(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::people::Actor>> {
        super::people::actor(ctx, self.row.created_by_actor.as_deref()).await
    }
    /// The user or token that last rotated it (null if never rotated, or once deleted).
    async fn rotated_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::people::Actor>> {
        super::people::actor(ctx, self.row.rotated_by_actor.as_deref()).await
    }
    /// When it last changed: its rotation (tokens change no other way).
    async fn updated_at(&self) -> Option<AWSDateTime> {
        self.row.rotated_at.map(AWSDateTime::from_ms)
    }
    /// Who last changed it: whoever rotated it.
    async fn updated_by(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<super::people::Actor>> {
        super::people::actor(ctx, self.row.rotated_by_actor.as_deref()).await
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
